"""``svg convert-bair SRC DST``: BAIR TFRecords → memory-mappable uint8 arrays, once.

Per split, the arrays are filled under temporary names, flushed, fsynced and renamed, and
``manifest.json`` is written last; a split whose manifest exists and names the same source
records is skipped, anything else is converted again. An interrupted conversion therefore never
looks finished, and re-running completes it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import warnings
from typing import Dict, List

import numpy as np
from tqdm import tqdm

from core.errors import InputWarning, UserError

from core.atomic_files import atomic_path, remove_stale_temporaries, write_text
from core.owned_files import OVERWRITE_FOLDER_HELP, check_writable, refuse_foreign
from data_loaders.bair.dataset import CAMERAS, FRAMES, MANIFEST, SIZE, decode_example, list_records
from data_loaders.common.files import load_json
from data_loaders.bair.tfrecords import read_example, scan_records


def convert_split(src: str, dst: str, camera: str = "image_aux1", progress: bool = True) -> Dict:
    """Convert one split folder of TFRecords; returns its manifest."""
    records = list_records(src)
    sources = [{"file": os.path.basename(p), "bytes": os.path.getsize(p)} for p in records]
    manifest_path = os.path.join(dst, MANIFEST)
    if os.path.exists(manifest_path):
        try:
            done = load_json(manifest_path)
        except ValueError as e:    # our own output, damaged: converting again repairs it
            warnings.warn(f"{e}; converting {src} again", InputWarning)
            done = {}
        if isinstance(done, dict) and done.get("sources") == sources and done.get("camera") == camera:
            return done
        os.remove(manifest_path)   # stale: the source changed; convert again
    index = [(p, off, n) for p in records for off, n in scan_records(p)]
    os.makedirs(dst, exist_ok=True)
    shapes = {"videos": ((len(index), FRAMES, SIZE, SIZE, 3), np.uint8),
              "actions": ((len(index), FRAMES, 4), np.float32),
              "endeffector": ((len(index), FRAMES, 3), np.float32)}
    remove_stale_temporaries(dst)   # left by a conversion that was killed
    with contextlib.ExitStack() as stack:   # every array renamed into place only once all are full
        tmp = {k: stack.enter_context(atomic_path(os.path.join(dst, f"{k}.npy"))) for k in shapes}
        arrays = {k: np.lib.format.open_memmap(tmp[k], mode="w+", dtype=dt, shape=shape)
                  for k, (shape, dt) in shapes.items()}
        bar = tqdm(index, desc=f"convert {os.path.basename(os.path.normpath(src))}", unit="video",
                   disable=not progress, dynamic_ncols=True)
        for i, (path, off, n) in enumerate(bar):
            frames, actions, endeff = decode_example(read_example(path, off, n),
                                                     f"{path} (byte {off - 12})", camera)
            arrays["videos"][i], arrays["actions"][i], arrays["endeffector"][i] = frames, actions, endeff
        for arr in arrays.values():
            arr.flush()
        del arrays
    manifest = {"videos": len(index), "frames": FRAMES, "size": SIZE, "camera": camera,
                "sources": sources, "layout": "videos (N, 30, 64, 64, 3) uint8; actions (N, 30, 4); "
                                              "endeffector (N, 30, 3) float32"}
    write_text(manifest_path, json.dumps(manifest, indent=1))   # last: marks the split finished
    return manifest


def convert(src: str, dst: str, splits: List[str] = ("train", "test"), camera: str = "image_aux1",
            progress: bool = True, overwrite: bool = False) -> Dict[str, Dict]:
    """Convert ``src/<split>/*.tfrecords`` into ``dst/<split>/`` for each split. A ``dst``
    holding files outside converted split folders (those with a manifest) is refused unless
    ``overwrite``: they are not this command's to replace."""
    if camera not in CAMERAS:
        raise UserError(f"unknown camera {camera!r}; choose one of {CAMERAS}")
    check_writable(dst, "DST")
    refuse_foreign(dst, lambda rel: "/" in rel and os.path.exists(
        os.path.join(dst, rel.split("/")[0], MANIFEST)), "DST", "convert into a new or empty folder",
        overwrite)
    return {s: convert_split(os.path.join(src, s), os.path.join(dst, s), camera, progress) for s in splits}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="softmotion30_44k folder (holding train/ and test/ TFRecords)")
    p.add_argument("dst", help="output folder (then use it as data.root)")
    p.add_argument("--splits", nargs="+", default=["train", "test"])
    p.add_argument("--camera", default="image_aux1", choices=CAMERAS)
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_FOLDER_HELP)


def run(args: argparse.Namespace) -> int:
    done = convert(args.src, args.dst, args.splits, args.camera, overwrite=args.overwrite)
    for split, m in done.items():
        print(f"{split}: {m['videos']} videos from {len(m['sources'])} records → "
              f"{os.path.join(args.dst, split)}")
    return 0

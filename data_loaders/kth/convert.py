"""``svg convert-kth SRC DST``: decode the KTH videos once into memory-mappable uint8 arrays.

SRC holds the raw AVIs (or SVG's / SRVP's PNG folders). Each video becomes
``DST/{class}/person{PP}_{class}_d{S}.npy`` (frames, size, size) uint8, written under a temporary
name in the same folder, fsynced and renamed, so a file with the final name is always complete;
``DST/manifest.json`` (every video's name, class, person, scenario, frame count, file and source
size) is written the same way, last. An interrupted conversion therefore never looks finished,
and re-running it keeps the videos already written and converts the rest. Re-running a finished
conversion of unchanged sources does nothing; a source whose size changed is converted again.
A truncated source keeps the frames that decode completely; the manifest lists it under
``truncated`` with its ``declared_frames``, and the command prints it.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Callable, Dict

from tqdm import tqdm

from core.errors import UserError

from core.atomic_files import write_text
from data_loaders.common.conversion import convert_once, drop_changed, previous_conversion, start_conversion
from core.owned_files import OVERWRITE_FOLDER_HELP, check_writable, refuse_foreign
from data_loaders.kth.files import (CLASSES, MANIFEST, VIDEO_NAME, KTHVideo, list_videos, read_clip,
                                    read_manifest)
from data_loaders.common.video import RESIZE_FILTER


def _source_bytes(video: KTHVideo) -> int:
    if video.frame_files:   # a PNG folder: the sum of its frames
        return sum(os.path.getsize(p) for p in video.frame_files)
    return os.path.getsize(video.path)


def written_here(dst: str) -> Callable[[str], bool]:
    """Which files under ``dst`` an earlier (finished or interrupted) ``svg convert-kth`` wrote:
    its arrays ``{class}/person{PP}_{class}_d{S}.npy`` and, when it reads as one, its manifest."""
    try:
        manifest = bool(read_manifest(dst)) if os.path.exists(os.path.join(dst, MANIFEST)) else False
    except UserError:
        manifest = False

    def ours(rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        stem, ext = os.path.splitext(name)
        m = VIDEO_NAME.match(stem)
        return (rel == MANIFEST and manifest) or (
            ext == ".npy" and folder in CLASSES and m is not None and m.group(2) == folder)
    return ours


def convert(src: str, dst: str, image_size: int = 64, progress: bool = True,
            overwrite: bool = False) -> Dict:
    """Convert every KTH video under ``src`` into ``dst``; returns the manifest. A ``dst``
    holding files that no ``svg convert-kth`` wrote is refused unless ``overwrite``."""
    if image_size < 1:
        raise UserError(f"image size must be a positive number of pixels, got {image_size}")
    check_writable(dst, "DST")
    refuse_foreign(dst, written_here(dst), "DST", "convert into a new or empty folder", overwrite)
    fmt, videos = list_videos(src)
    if fmt == "converted":
        raise UserError(f"{src} is already a `svg convert-kth` output; use it as data.root directly")
    done, previous = previous_conversion(dst, read_manifest)
    sources = {os.path.join(v.action, f"{v.name}.npy"): _source_bytes(v) for v in videos}
    if done.get("size") == image_size and previous == sources:
        return done   # finished, and the sources are unchanged
    drop_changed(dst, previous, sources)
    start_conversion(dst, MANIFEST)
    entries = []
    bar = tqdm(videos, desc="convert KTH", unit="video", disable=not progress, dynamic_ncols=True)
    for video in bar:
        rel = os.path.join(video.action, f"{video.name}.npy")
        frames_written = convert_once(os.path.join(dst, rel), (image_size, image_size),
                                      lambda: read_clip(video, fmt, 0, video.frames, image_size))
        entries.append({"name": video.name, "action": video.action, "person": video.person,
                        "scenario": video.scenario, "frames": frames_written, "file": rel,
                        "source_bytes": sources[rel], "declared_frames": video.declared})
    manifest = {"dataset": "KTH", "source_format": fmt, "size": image_size,
                "resize": f"libswscale {RESIZE_FILTER.lower()} (PyAV), grey" if fmt == "raw"
                else "none (PNG frames copied)", "videos": entries,
                "truncated": [v.name for v in videos if v.truncated],
                "layout": "{action}/{name}.npy: (frames, size, size) uint8"}
    write_text(os.path.join(dst, MANIFEST), json.dumps(manifest, indent=1))
    return manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="KTH folder holding the six class folders of *_uncomp.avi files "
                               "(or of SVG's / SRVP's PNG frame folders)")
    p.add_argument("dst", help="output folder (then use it as data.root)")
    p.add_argument("--image-size", type=int, default=64, help="frame width and height (default 64)")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_FOLDER_HELP)


def run(args: argparse.Namespace) -> int:
    m = convert(args.src, args.dst, args.image_size, overwrite=args.overwrite)
    total = sum(v["frames"] for v in m["videos"])
    print(f"{len(m['videos'])} videos, {total} frames of {m['size']}×{m['size']} → {args.dst}")
    for v in m["videos"]:
        if v["name"] in m.get("truncated", []):
            print(f"truncated source: {v['name']}: {v['frames']} of the {v['declared_frames']} frames its "
                  f"header declares decode; those are kept")
    return 0

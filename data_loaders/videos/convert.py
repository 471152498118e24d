"""``svg convert-videos SRC DST``: decode and resize a folder of videos once into memory-mappable arrays.

SRC is what ``data.name: videos`` reads (:mod:`data_loaders.videos.sources`: video files, GIFs,
frame folders, ``.npy``/``.npz`` arrays, searched recursively). Each video becomes
``DST/<key>.npy`` — its key (path relative to SRC, ``#i`` for clip i of an array; ``#`` written
as ``.`` in file names) plus ``.npy`` — holding (frames, S, S, C) uint8 after ``--frame-step``,
channel conversion and resizing exactly as the dataset does them. ``DST/manifest.json`` comes
last: the settings, whether SRC had train/ val/ test/ folders, each video's key, file, frame count
and source size, and every source that could not be read, with the reason.

Atomic and resumable (:mod:`data_loaders.common.conversion`, shared with ``svg convert-kth``): arrays
are written under temporary names and renamed; ``DST/converting.json`` records the settings and
every source's size while the conversion runs (arrays of sources whose size changed since the last
finished or interrupted conversion are removed before it is written), and is removed once the
manifest is written. Re-running keeps the arrays already written and converts the rest; a finished
conversion of unchanged sources does nothing; a source whose size changed is converted again. A
DST made with other settings is refused (convert into a new folder).
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Dict, List

from tqdm import tqdm

from core.errors import MissingFile, UserError

from core.atomic_files import write_text
from core.owned_files import OVERWRITE_FOLDER_HELP, check_writable, refuse_foreign
from data_loaders.common.conversion import convert_once, drop_changed, previous_conversion, start_conversion
from data_loaders.common.files import load_json
from data_loaders.common.video import header_frame_count
from data_loaders.videos.files import RESIZE_MODES, fit_frames
from data_loaders.videos.sources import WHAT, SourceVideo, counted, find_videos, has_split_folders, read_frames, source_bytes
from data_loaders.videos.dataset import (CHANNELS, CONVERTING, FRAME_SETTINGS, IMAGE_SIZES, MANIFEST, VideosOptions,
                     check_options, frame_settings, read_manifest)


def output_file(key: str) -> str:
    """The array file of a video key, relative to DST: ``lab1/walk.mp4.npy``, ``clips.npy.3.npy``."""
    return key.replace("#", ".") + ".npy"


def _check_folders(src: str, dst: str) -> None:
    if not os.path.isdir(src):
        raise MissingFile(f"video folder {src} does not exist; expected a folder of {WHAT}")
    if os.path.exists(os.path.join(src, MANIFEST)):
        raise UserError(f"{src} is already a `svg convert-videos` output; use it as data.root directly")
    real_src, real_dst = os.path.realpath(src), os.path.realpath(dst)
    if real_dst == real_src or real_dst.startswith(real_src + os.sep):
        raise UserError(f"{dst} is inside {src}: its arrays would be read as videos of SRC; convert "
                        f"into a folder outside it")


def _check_settings(dst: str, made: Dict, settings: Dict, what: str) -> None:
    """Refuse a DST whose (finished or interrupted) conversion used other settings."""
    made = {k: made.get(k) for k in FRAME_SETTINGS}
    if made != settings:
        differ = ", ".join(f"{k} {made[k]}" for k in FRAME_SETTINGS if made[k] != settings[k])
        raise UserError(f"{dst} holds {what} with {differ}; convert into a new folder, or delete "
                        f"{dst} first")


def _previous(dst: str, settings: Dict):
    """(finished manifest or {}, its source size per file); another dataset's manifest or other
    settings are refused, since converting would overwrite them."""
    if not os.path.exists(os.path.join(dst, MANIFEST)):
        return {}, {}
    done, previous = previous_conversion(dst, read_manifest)
    if not done:
        try:
            read_manifest(dst)
        except UserError as e:   # another dataset's conversion, or a damaged manifest
            raise UserError(f"{dst} holds another kind of output ({e}); convert into a new folder") from None
    _check_settings(dst, done, settings, "a conversion")
    return done, previous


def _sources(src: str, step: int):
    """(videos ready to read, skipped as {key, reason, source_bytes}) of SRC."""
    videos, broken, _ = find_videos(src)
    if not videos and not broken:
        raise MissingFile(f"{src} holds no videos; expected {WHAT}")
    ready: List[SourceVideo] = []
    skipped = [{"key": os.path.relpath(path, src).replace(os.sep, "/"), "reason": reason,
                "source_bytes": os.path.getsize(path)} for path, reason in broken]
    for v in videos:
        try:   # video files are counted as they are decoded, not twice
            ready.append(SourceVideo(v.key, v.path, v.kind, step=step) if v.kind == "video" else counted(v, step))
        except UserError as e:
            skipped.append({"key": v.key, "reason": str(e), "source_bytes": source_bytes(v)})
    files = {}
    for v in ready:
        other = files.setdefault(output_file(v.key), v.key)
        if other != v.key:
            raise UserError(f"{src}: {other} and {v.key} would both be written as {output_file(v.key)}; "
                            f"rename one of them")
    return ready, skipped


def convert(src: str, dst: str, image_size: int = 64, channels: int = 3, resize: str = "crop",
            frame_step: int = 1, progress: bool = True, overwrite: bool = False) -> Dict:
    """Convert every video under ``src`` into ``dst`` (see the module docstring); returns the
    manifest. A ``dst`` holding files but no conversion (finished or not) is refused unless
    ``overwrite``."""
    options = VideosOptions(image_size=image_size, channels=channels, resize=resize, frame_step=frame_step)
    check_options(options)
    settings = frame_settings(options)
    _check_folders(src, dst)
    check_writable(dst, "DST")
    marked = any(os.path.exists(os.path.join(dst, name)) for name in (MANIFEST, CONVERTING))
    # a folder holding neither marker is no conversion of ours: its files are the user's
    refuse_foreign(dst, lambda rel: marked, "DST", "convert into a new or empty folder", overwrite)
    done, previous = _previous(dst, settings)
    videos, skipped = _sources(src, frame_step)
    folders = has_split_folders(src)
    sizes = {v.key: source_bytes(v) for v in videos}
    if done and done["folders"] == folders and \
            {v["key"]: v["source_bytes"] for v in done["videos"] + done.get("skipped", [])} == \
            dict(sizes, **{s["key"]: s["source_bytes"] for s in skipped}):
        return done   # finished, and the sources are unchanged
    marker = os.path.join(dst, CONVERTING)
    current = {output_file(v.key): sizes[v.key] for v in videos}
    if os.path.exists(marker):   # an interrupted conversion: its arrays are of the sources it recorded
        unfinished = load_json(marker)
        _check_settings(dst, unfinished.get("settings", {}), settings, "an unfinished conversion")
        previous = unfinished.get("sources", {})
    drop_changed(dst, previous, current)
    os.makedirs(dst, exist_ok=True)
    write_text(marker, json.dumps({"settings": settings, "sources": current}))
    start_conversion(dst, MANIFEST)

    def fit(frames):
        return fit_frames(frames, image_size, channels, resize)

    entries, truncated = [], []
    for v in tqdm(videos, desc="convert videos", unit="video", disable=not progress, dynamic_ncols=True):
        rel = output_file(v.key)
        try:
            frames = convert_once(os.path.join(dst, rel), (image_size, image_size, channels),
                                  lambda: read_frames(v, fit))
        except UserError as e:
            skipped.append({"key": v.key, "reason": str(e), "source_bytes": sizes[v.key]})
            continue
        entry = {"key": v.key, "file": rel, "frames": frames, "source_bytes": sizes[v.key]}
        declared = header_frame_count(v.path) if v.kind == "video" else 0
        if -(-declared // frame_step) > frames:   # fewer frames decode than the header declares
            entry["declared_frames"] = declared
            truncated.append(v.key)
        entries.append(entry)
    manifest = dict(dataset="videos", source=os.path.abspath(src), **settings, folders=folders,
                    videos=entries, skipped=sorted(skipped, key=lambda s: s["key"]), truncated=truncated,
                    layout="<key>.npy ('#' written as '.'): (frames, image_size, image_size, channels) uint8")
    write_text(os.path.join(dst, MANIFEST), json.dumps(manifest, indent=1))
    os.remove(marker)
    return manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="folder of videos (.mp4 .avi .mov .mkv .webm .gif), frame folders or "
                               ".npy/.npz arrays, searched recursively (what data.name=videos reads)")
    p.add_argument("dst", help="output folder, outside SRC (then use it as data.root)")
    p.add_argument("--image-size", type=int, default=64, choices=IMAGE_SIZES,
                   help="frame width and height (default 64)")
    p.add_argument("--channels", type=int, default=3, choices=CHANNELS, help="1 grey or 3 colour (default 3)")
    p.add_argument("--resize", default="crop", choices=RESIZE_MODES,
                   help="crop: shorter side scaled, centre kept (default); squash: aspect ratio not kept")
    p.add_argument("--frame-step", type=int, default=1, help="keep every K-th frame (default 1: all)")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_FOLDER_HELP)


def run(args: argparse.Namespace) -> int:
    m = convert(args.src, args.dst, args.image_size, args.channels, args.resize, args.frame_step,
                overwrite=args.overwrite)
    total = sum(v["frames"] for v in m["videos"])
    print(f"{len(m['videos'])} videos, {total} frames of {m['image_size']}×{m['image_size']}×"
          f"{m['channels']} → {args.dst}")
    if m["skipped"]:
        print(f"skipped {len(m['skipped'])} source(s) that cannot be read (listed in {MANIFEST}):")
        for s in m["skipped"]:
            print(f"  {s['key']}: {s['reason']}")
    for v in m["videos"]:
        if "declared_frames" in v:
            print(f"truncated source: {v['key']}: {v['frames']} frames (of the {v['declared_frames']} its "
                  f"header declares, before --frame-step) decode; those are kept")
    return 0

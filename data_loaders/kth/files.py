"""KTH on disk: find the videos of one of three layouts and read clips of them.

- ``raw``: what KTH distributes, ``ROOT/{class}/person{PP}_{class}_d{S}_uncomp.avi`` (decoded with
  PyAV, see :mod:`data_loaders.common.video`);
- ``converted``: the output of ``svg convert-kth``, ``ROOT/{class}/person{PP}_{class}_d{S}.npy``
  (N, S, S) uint8, memory-mapped, listed in ``ROOT/manifest.json`` (written last);
- ``png``: the frames SVG's and SRVP's ffmpeg converters write,
  ``ROOT/{class}/person{PP}_{class}_d{S}/image-NNN*.png`` (the first channel is used).
"""
from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass
from typing import Collection, List, Optional, Sequence, Tuple

import numpy as np

from core.errors import MissingFile, UserError

from data_loaders.common.clips import report_truncated
from data_loaders.common.files import load_array
from data_loaders.common.video import count_frames, decode_video

CLASSES = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
MANIFEST = "manifest.json"
FORMATS = ("raw", "converted", "png")
VIDEO_NAME = re.compile(r"^person(\d\d)_([a-z]+)_d(\d)$")
LAYOUTS = ("ROOT/{class}/person{PP}_{class}_d{S}_uncomp.avi (the files KTH distributes), "
           "ROOT/manifest.json + ROOT/{class}/*.npy (`svg convert-kth` output), or "
           "ROOT/{class}/person{PP}_{class}_d{S}/image-NNN*.png (SVG's / SRVP's converters); "
           f"classes: {', '.join(CLASSES)}")


@dataclass(frozen=True)
class KTHVideo:
    """One video: its name ``person{PP}_{class}_d{S}``, parsed parts, file or folder, frame count.

    ``frames`` is what can be read; ``declared`` is the count a raw video's header declares (more
    than ``frames`` for a truncated file), or None where no header is read (PNG folders).
    ``frame_files``: a PNG folder's frames in order (listed once, not at every read).
    """
    name: str
    action: str
    person: int
    scenario: int
    path: str
    frames: int
    declared: Optional[int] = None
    frame_files: Tuple[str, ...] = ()

    @property
    def decoded(self) -> int:
        """Frames that decode (all are used)."""
        return self.frames

    @property
    def truncated(self) -> bool:
        return self.declared is not None and self.declared > self.frames


def parse_name(name: str, where: str, action: str) -> Tuple[int, int]:
    """(person, scenario) of ``person{PP}_{class}_d{S}``; anything else is an error naming ``where``."""
    m = VIDEO_NAME.match(name)
    if not m or m.group(2) != action or not 1 <= int(m.group(1)) <= 25 or not 1 <= int(m.group(3)) <= 4:
        raise UserError(f"{where}: not a KTH {action} video name; expected person{{01..25}}_{action}_"
                        f"d{{1..4}}")
    return int(m.group(1)), int(m.group(3))


def detect_format(root: str) -> str:
    """raw | converted | png, from what ``root`` holds; an error describing the layouts otherwise."""
    if not os.path.isdir(root):
        raise MissingFile(f"KTH folder {root} does not exist; expected {LAYOUTS}")
    if os.path.exists(os.path.join(root, MANIFEST)):
        return "converted"
    present = [c for c in CLASSES if os.path.isdir(os.path.join(root, c))]
    if not present:
        hint = [d for d in ("raw", "processed", "processed_64", "processed_128")
                if any(os.path.isdir(os.path.join(root, d, c)) for c in CLASSES)]
        more = f" (the class folders are in {os.path.join(root, hint[0])}: use that as data.root)" if hint else ""
        raise MissingFile(f"{root} holds none of the six KTH class folders{more}; expected {LAYOUTS}")
    if any(glob.glob(os.path.join(root, c, "*.avi")) for c in present):
        return "raw"
    if any(glob.glob(os.path.join(root, c, "*", "image-*.png")) for c in present):
        return "png"
    if any(glob.glob(os.path.join(root, c, "*.npy")) for c in present):
        raise MissingFile(f"{root}: no {MANIFEST}, so this is not a finished conversion; re-run "
                          f"`svg convert-kth` to complete it")
    raise MissingFile(f"{root}: the class folders hold no *.avi files and no image-*.png frame "
                      f"folders; expected {LAYOUTS}")


def _raw_videos(root: str, people: Collection[int]) -> List[KTHVideo]:
    videos = []
    for action in CLASSES:
        for path in sorted(glob.glob(os.path.join(root, action, "*.avi"))):
            base = os.path.basename(path)
            if not base.endswith("_uncomp.avi"):
                raise UserError(f"{path}: not a KTH video name; expected person{{01..25}}_{action}_"
                                f"d{{1..4}}_uncomp.avi")
            person, scenario = parse_name(base[:-len("_uncomp.avi")], path, action)
            if person not in people:
                continue   # not opened: counting frames means reading the file's header
            frames, declared = count_frames(path)
            videos.append(KTHVideo(base[:-len("_uncomp.avi")], action, person, scenario, path,
                                   frames, declared))
    report_truncated(videos, "KTH")
    return videos


def png_frames(folder: str) -> List[str]:
    """The ``image-*.png`` frame files of one video folder, in frame-number order.

    Sorted by the number after ``image-`` (ffmpeg's ``%03d`` grows to four digits past frame 999,
    where a plain name sort would misplace them).
    """
    def number(path: str) -> int:
        digits = re.match(r"image-(\d+)", os.path.basename(path))
        if not digits:
            raise UserError(f"{path}: expected a frame named image-NNN*.png")
        return int(digits.group(1))

    return sorted(glob.glob(os.path.join(folder, "image-*.png")), key=number)


def _png_videos(root: str, people: Collection[int]) -> List[KTHVideo]:
    videos = []
    for action in CLASSES:
        for folder in sorted(glob.glob(os.path.join(root, action, "*", ""))):
            folder = folder.rstrip(os.sep)
            name = os.path.basename(folder)
            person, scenario = parse_name(name, folder, action)
            if person in people:
                files = tuple(png_frames(folder))
                videos.append(KTHVideo(name, action, person, scenario, folder, len(files),
                                       frame_files=files))
    return videos


def read_manifest(root: str) -> dict:
    """The manifest of a finished ``svg convert-kth`` output."""
    path = os.path.join(root, MANIFEST)
    try:
        with open(path) as f:
            manifest = json.load(f)
        manifest["videos"], manifest["size"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a KTH conversion manifest ({e!r}); re-run `svg convert-kth`") from e
    return manifest


def _converted_videos(root: str, people: Collection[int]) -> List[KTHVideo]:
    videos = []
    for v in read_manifest(root)["videos"]:
        path = os.path.join(root, v["file"])
        person, scenario = parse_name(v["name"], path, v["action"])
        if person in people:
            videos.append(KTHVideo(v["name"], v["action"], person, scenario, path, int(v["frames"]),
                                   v.get("declared_frames")))
    return videos


def list_videos(root: str, fmt: str = "auto", people: Optional[Collection[int]] = None
                ) -> Tuple[str, List[KTHVideo]]:
    """(format, videos sorted by class then name) under ``root``, of ``people`` (default: all 25)."""
    fmt = detect_format(root) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise UserError(f"unknown KTH format {fmt!r}; choose auto, {', '.join(FORMATS)}")
    lister = {"raw": _raw_videos, "png": _png_videos, "converted": _converted_videos}[fmt]
    people = range(1, 26) if people is None else people
    videos = lister(root, people)
    if not videos:
        who = "" if people == range(1, 26) else f" of people {sorted(people)}"
        raise MissingFile(f"{root}: no KTH videos{who} found in the {fmt} layout; expected {LAYOUTS}")
    return fmt, videos


def read_clip(video: KTHVideo, fmt: str, start: int, n: int, size: int = 64) -> np.ndarray:
    """Frames ``start .. start+n−1`` of ``video`` as (n, size, size) uint8 in [0, 255]."""
    if start < 0 or start + n > video.frames:
        raise UserError(f"{video.path}: frames {start}..{start + n - 1} asked of a {video.frames}-frame video")
    if fmt == "raw":
        return decode_video(video.path, start, start + n, size)
    if fmt == "converted":
        if not os.path.exists(video.path):
            raise MissingFile(f"{video.path} is missing from the conversion; re-run `svg convert-kth`")
        data = load_array(video.path, mmap_mode="r")
        if data.dtype != np.uint8 or data.shape != (video.frames, size, size):
            raise UserError(f"{video.path}: expected uint8 {(video.frames, size, size)} (from {MANIFEST}), "
                            f"got {data.dtype} {data.shape}")
        return np.array(data[start:start + n])
    return _read_pngs(video.frame_files[start:start + n], size)


def _read_pngs(paths: Sequence[str], size: int) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(paths), size, size), np.uint8)
    for k, path in enumerate(paths):
        with Image.open(path) as img:
            arr = np.asarray(img)
        if arr.shape[:2] != (size, size) or arr.dtype != np.uint8:
            raise UserError(f"{path}: expected a {size}×{size} 8-bit image, got {arr.dtype} {arr.shape}")
        out[k] = arr[..., 0] if arr.ndim == 3 else arr   # grey content; SRVP keeps the first channel
    return out

"""A folder of your own videos: find them, give each a key and a split, count and read their frames.

What counts as a video under ``root`` (searched recursively; hidden files and folders are left out):

- a video file (.mp4 .avi .mov .mkv .webm, decoded with PyAV) or a GIF;
- a folder holding frame images (.png/.jpg), ordered by the number in their names
  (:func:`data_loaders.videos.files.frame_files`): the folder is one video;
- a ``.npy`` array, or each array of an ``.npz``: (T, H, W[, C]) is one video, (N, T, H, W[, C]) N
  videos (the rule of :func:`data_loaders.videos.files.clips_in_array`), uint8 or float in [0, 1].

Each video's **key** is its path relative to ``root`` in POSIX form (``lab1/walk.mp4``,
``lab1/seq3`` for a frame folder); clip i of an array of N clips is ``lab1/clips.npy#i``; an
``.npz`` array ``name`` is ``clips.npz#name`` (one clip) or ``clips.npz#name#i``. Keys are what the
split rule hashes, and what messages and ``svg convert-videos`` name.

**Splits.** If ``root`` holds ``train/``, ``val/`` and ``test/`` folders, they are the splits (videos
outside them are not used, and are counted and named in the log). Otherwise each key is hashed
(:func:`hash_fraction`: the first 8 bytes of its SHA-256, big-endian, divided by 2**64, so
u ∈ [0, 1)): u < test_fraction → test, u < test_fraction + val_fraction → val, else train. A key's
split depends on nothing but the key and the two fractions, so adding or removing files never
moves the others.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import zipfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from core.errors import MissingFile, UserError

from data_loaders.common.files import load_array
from data_loaders.common.video import count_frames, decode_frames, rgb24
from data_loaders.common.splits import SPLITS
from data_loaders.videos.files import (ARRAY_SUFFIXES, GIF_SUFFIXES, IMAGE_SUFFIXES, VIDEO_SUFFIXES,
                                       as_frames, clips_in_array, frame_files, read_frame_files)

NPZ_SUFFIXES = (".npz",)
KINDS = ("video", "gif", "frames", "array")
WHAT = (f"video files ({' '.join(VIDEO_SUFFIXES + GIF_SUFFIXES)}), folders of frame images "
        f"({' '.join(IMAGE_SUFFIXES)}) or arrays ({' '.join(ARRAY_SUFFIXES + NPZ_SUFFIXES)}) of "
        f"(N, T, H, W[, C]) or (T, H, W[, C]) frames")
HASH_RULE = ("a hash of each video's relative path (SHA-256, first 8 bytes as u in [0, 1)): "
             "u < test_fraction → test, u < test_fraction + val_fraction → val, else train; "
             "adding files never moves the others")
#: The standard Moving MNIST file is time first, (T, N, H, W); never read it as (N, T, H, W).
MOVING_MNIST_FILE = "mnist_test_seq.npy"


@dataclass(frozen=True)
class SourceVideo:
    """One video of a folder.

    key : its key (see the module docstring). path : its file or frame folder.
    kind : video | gif | frames | array.
    decoded : frames that can be read (0 until counted: :func:`counted`).
    declared : the frames a video file's header declares (more than ``decoded`` when it is
        truncated), else None.
    step : every ``step``-th frame is used (``frame_step``); ``frames`` is how many that leaves.
    member, index : an array video's ``.npz`` member (None for ``.npy``) and clip index in an
        (N, T, ...) array (None: the array is one clip).
    frame_files : a frame folder's images in order (filled by :func:`counted`).
    """
    key: str
    path: str
    kind: str
    decoded: int = 0
    declared: Optional[int] = None
    step: int = 1
    member: Optional[str] = None
    index: Optional[int] = None
    frame_files: Tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.key

    @property
    def frames(self) -> int:
        """Frames after ``frame_step``: frames 0, step, 2·step, … of the decoded ones."""
        return -(-self.decoded // self.step)

    @property
    def truncated(self) -> bool:
        return self.declared is not None and self.declared > self.decoded


def hash_fraction(key: str) -> float:
    """u ∈ [0, 1) of a key: the first 8 bytes of its UTF-8 SHA-256, big-endian, over 2**64."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64


def split_of(key: str, folders: bool, val_fraction: float, test_fraction: float) -> Optional[str]:
    """train | val | test of a key (None: outside the split folders, so not used)."""
    if folders:
        first = key.split("/", 1)[0]
        return first if first in SPLITS and "/" in key else None
    u = hash_fraction(key)
    return "test" if u < test_fraction else "val" if u < test_fraction + val_fraction else "train"


def has_split_folders(root: str) -> bool:
    """Whether ``root`` holds ``train/``, ``val/`` and ``test/`` folders (then they are the splits)."""
    return all(os.path.isdir(os.path.join(root, s)) for s in SPLITS)


def _npz_shapes(path: str) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
    """(shape, dtype) of every array of an ``.npz``, from the member headers (nothing loaded)."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version not in readers:
                        raise ValueError(f"array {name!r}: .npy format version {version} not read here")
                    shape, _, dtype = readers[version](f)
                out[name] = (tuple(shape), dtype)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is a damaged .npz file: {e}") from None
    return out


def _array_videos(path: str, key: str) -> List[SourceVideo]:
    """The videos of a ``.npy`` or ``.npz`` file (shapes from headers; an unreadable file or an
    array that is not frames raises ``UserError`` naming it)."""
    if os.path.basename(path) == MOVING_MNIST_FILE:
        raise UserError(f"{path}: the standard Moving MNIST file is (T, N, H, W), time first, not "
                        f"(N, T, H, W); use data.name=mmnist for it")
    if path.lower().endswith(NPZ_SUFFIXES):
        arrays = _npz_shapes(path)
    else:
        a = load_array(path, mmap_mode="r")
        arrays = {None: (a.shape, a.dtype)}
    videos = []
    for member, (shape, dtype) in arrays.items():
        stem, source = (key, path) if member is None else (f"{key}#{member}", f"{path} array {member!r}")
        if dtype != np.uint8 and np.dtype(dtype).kind != "f":
            raise UserError(f"{source}: frames must be uint8 or float in [0, 1], got dtype {dtype}")
        n = clips_in_array(shape, source)
        frames = shape[0] if n is None else shape[1]
        if n is None:
            videos.append(SourceVideo(stem, path, "array", frames, member=member))
        else:
            videos += [SourceVideo(f"{stem}#{i}", path, "array", frames, member=member, index=i)
                       for i in range(n)]
    return videos


def find_videos(root: str) -> Tuple[List[SourceVideo], List[Tuple[str, str]], List[str]]:
    """(videos sorted by key, unreadable array files as (path, reason), other files) under ``root``.

    Video files, GIFs and frame folders are not opened here (their frames are counted by
    :func:`counted`, for the split that uses them); arrays' headers are read, since an array of N
    clips is N videos.
    """
    if not os.path.isdir(root):
        raise MissingFile(f"video folder {root} does not exist; expected a folder of {WHAT}")
    videos, broken, other, seen = [], [], [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:          # a symbolic link back into the tree
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(folder, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        images = False
        for name in sorted(f for f in files if not f.startswith(".")):
            path, key, suffix = os.path.join(folder, name), prefix + name, os.path.splitext(name)[1].lower()
            if suffix in VIDEO_SUFFIXES:
                videos.append(SourceVideo(key, path, "video"))
            elif suffix in GIF_SUFFIXES:
                videos.append(SourceVideo(key, path, "gif"))
            elif suffix in ARRAY_SUFFIXES + NPZ_SUFFIXES:
                try:
                    videos += _array_videos(path, key)
                except UserError as e:
                    broken.append((path, str(e)))
            elif suffix in IMAGE_SUFFIXES:
                images = True
            else:
                other.append(path)
        if images:
            if rel == ".":
                raise UserError(f"{root}: frame images directly in data.root; put each video's "
                                f"frames in a folder of its own")
            videos.append(SourceVideo(rel, folder, "frames"))
    return sorted(videos, key=lambda v: v.key), broken, other


def counted(video: SourceVideo, step: int = 1) -> SourceVideo:
    """``video`` with its frames counted (and ``frame_step`` = ``step``).

    Video files and GIFs: the header's count where it is reliable, else decoded and counted
    (:func:`data_loaders.common.video.count_frames`); frame folders: their images. Raises
    ``UserError`` naming the file if it cannot be read.
    """
    if video.kind in ("video", "gif"):
        decoded, declared = count_frames(video.path)
        if decoded == 0:
            raise UserError(f"{video.path}: the {video.kind} holds no frames that decode")
        return dataclasses.replace(video, decoded=decoded, declared=declared, step=step)
    if video.kind == "frames":
        files = tuple(frame_files(video.path))
        return dataclasses.replace(video, decoded=len(files), frame_files=files, step=step)
    return dataclasses.replace(video, step=step)   # arrays: counted from their header


@functools.lru_cache(maxsize=2)
def _npz_member(path: str, member: str) -> np.ndarray:
    """An ``.npz`` array, loaded whole (a compressed member cannot be memory-mapped); the last
    two stay cached, so clips of one array do not load it again."""
    with load_array(path) as z:
        return z[member]


def _array(video: SourceVideo) -> np.ndarray:
    a = load_array(video.path, mmap_mode="r") if video.member is None else _npz_member(video.path, video.member)
    return a if video.index is None else a[video.index]


def read_frames(video: SourceVideo, fit: Callable[[np.ndarray], np.ndarray], start: int = 0,
                n: Optional[int] = None) -> np.ndarray:
    """``fit`` of frames ``start .. start + n − 1`` (after ``frame_step``; n None: to the end).

    fit : uint8 (t, H, W, C) → (t, S, S, C'), applied as frames are read (one frame at a time
        for videos and frame folders, so memory holds the fitted frames, not the source's).
    Returns (n, S, S, C') uint8. A video file or GIF is decoded from its first frame (inter-frame
    coding) and only up to the clip's last frame, one frame at a time: memory holds one decoded
    frame and the fitted clip, whatever the file's length or resolution.
    """
    step = video.step
    first = start * step
    stop = None if n is None else (start + n - 1) * step + 1   # raw index after the last frame
    if n is not None and (start < 0 or start + n > video.frames):
        raise UserError(f"{video.path}: frames {start}..{start + n - 1} asked of a {video.frames}-frame "
                        f"video")
    if video.kind in ("video", "gif"):
        frames = decode_frames(video.path, lambda f: fit(rgb24(f)[None])[0],
                               first, stop, step, what=video.kind)
        if not frames:
            raise UserError(f"{video.path}: the {video.kind} holds no frames that decode")
        return np.stack(frames)
    if video.kind == "frames":
        return np.concatenate([fit(read_frame_files([p])) for p in video.frame_files[first:stop:step]])
    source = video.path if video.member is None else f"{video.path} array {video.member!r}"
    return fit(as_frames(_array(video)[first:stop:step], source if video.index is None
                         else f"{source} clip {video.index}"))


def source_bytes(video: SourceVideo) -> int:
    """Bytes of a video's source: its file, or the sum of a frame folder's images."""
    if video.kind == "frames":
        files = video.frame_files or [os.path.join(video.path, n) for n in os.listdir(video.path)
                                      if n.lower().endswith(IMAGE_SUFFIXES)]
        return sum(os.path.getsize(p) for p in files)
    return os.path.getsize(video.path)

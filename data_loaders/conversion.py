"""What ``svg convert-kth`` and ``svg convert-videos`` share: atomic, resumable conversion of
videos into one ``.npy`` array each, listed in a manifest written last.

Every array is written under a temporary name in its folder, fsynced and renamed
(:mod:`data_loaders.atomic`), so a file with its final name is always complete; the manifest comes
last, so an interrupted conversion never looks finished. Re-running keeps the arrays already
written (unless their source's size changed) and converts the rest.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from .atomic import atomic_write, remove_stale_temporaries
from .files import load_array


def complete_frames(path: str, frame_shape: Tuple[int, ...]) -> Optional[int]:
    """The frame count of a finished uint8 (frames, *frame_shape) array at ``path`` (final names
    are only ever given to complete files), or None when there is none of that shape."""
    try:
        arr = load_array(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    ok = isinstance(arr, np.ndarray) and arr.dtype == np.uint8 and arr.shape[1:] == tuple(frame_shape)
    return arr.shape[0] if ok else None


def previous_conversion(dst: str, read_manifest: Callable[[str], Dict]) -> Tuple[Dict, Dict[str, int]]:
    """The finished manifest in ``dst`` (or {}) and its source size per output file."""
    try:
        manifest = read_manifest(dst)
        return manifest, {v["file"]: v["source_bytes"] for v in manifest["videos"]}
    except (ValueError, KeyError, TypeError):
        return {}, {}


def start_conversion(dst: str, manifest: str) -> None:
    """Make ``dst`` ready to (re)convert into: its manifest, now stale, is removed (written again
    at the end), as are the temporaries a killed conversion left anywhere under it."""
    path = os.path.join(dst, manifest)
    if os.path.exists(path):
        os.remove(path)
    for folder, _, _ in os.walk(dst):
        remove_stale_temporaries(folder)


def convert_once(out: str, source_bytes: int, previous: Dict[str, int], rel: str,
                 frame_shape: Tuple[int, ...], make: Callable[[], np.ndarray]) -> int:
    """Write ``make()`` (frames, *frame_shape) uint8 to ``out`` unless a finished array of a
    source of the same size is there; returns its frame count.

    rel : ``out`` relative to the conversion folder (the key of ``previous``, the source sizes of
    the last finished conversion).
    """
    if previous.get(rel, source_bytes) != source_bytes and os.path.exists(out):
        os.remove(out)   # the source changed since it was converted
    frames = complete_frames(out, frame_shape)
    if frames is None:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        array = make()
        with atomic_write(out, "wb") as f:
            np.save(f, array)
        frames = array.shape[0]
    return frames

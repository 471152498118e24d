"""What ``svg convert-kth`` and ``svg convert-videos`` share: atomic, resumable conversion of
videos into one ``.npy`` array each, listed in a manifest written last.

Every array is written under a temporary name in its folder, fsynced and renamed
(:mod:`core.atomic_files`), so a file with its final name is always complete; the manifest comes
last, so an interrupted conversion never looks finished. Re-running keeps the arrays already
written (an array whose source's size changed is removed first) and converts the rest.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple

import numpy as np

from core.atomic_files import atomic_write, remove_stale_temporaries
from data_loaders.common.files import load_array


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


def drop_changed(dst: str, previous: Dict[str, int], current: Dict[str, int]) -> None:
    """Remove the arrays under ``dst`` whose source size changed since they were converted.

    previous, current : source size per output file (relative to ``dst``), as converted and now.
    """
    for rel, size in current.items():
        out = os.path.join(dst, rel)
        if previous.get(rel, size) != size and os.path.exists(out):
            os.remove(out)


def start_conversion(dst: str, manifest: str) -> None:
    """Make ``dst`` ready to (re)convert into: its manifest, now stale, is removed (written again
    at the end), as are the temporaries a killed conversion left anywhere under it."""
    path = os.path.join(dst, manifest)
    if os.path.exists(path):
        os.remove(path)
    for folder, _, _ in os.walk(dst):
        remove_stale_temporaries(folder)


def convert_once(out: str, frame_shape: Tuple[int, ...], make: Callable[[], np.ndarray]) -> int:
    """Write ``make()``, (frames, *frame_shape) uint8, to ``out`` unless a finished array is there
    (arrays of changed sources are removed first: :func:`drop_changed`); returns its frame count."""
    frames = complete_frames(out, frame_shape)
    if frames is None:
        os.makedirs(os.path.dirname(out), exist_ok=True)
        array = make()
        with atomic_write(out, "wb") as f:
            np.save(f, array)
        frames = array.shape[0]
    return frames

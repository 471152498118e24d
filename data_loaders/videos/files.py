"""Clips from ordinary files: a video, a GIF, a folder of frame images or a ``.npy`` array, read
into uint8 (T, H, W, C) frames and brought to a model's square size and channels.

Reading
-------
- Videos (.mp4 .avi .mov .mkv .webm) and GIFs decode with PyAV, as the KTH loader does, to RGB
  (a GIF's frames composited by FFmpeg's decoder, transparency dropped), one frame at a time:
  :func:`stream_clips` hands the frames over as they are decoded, so a caller that keeps a few of
  them (``svg predict``'s context) holds only those, whatever the file's length or size.
- A folder of .png/.jpg/.jpeg frames is ordered by the last number in each file name
  (``frame_2.png`` before ``frame_10.png``); other files in the folder are not frames and are
  left alone. Every frame must carry a number, no two the same, and all must share one size.
- A ``.npy`` array (uint8, or float in [0, 1]) is (T, H, W) or (T, H, W, C): one clip, or
  (N, T, H, W) or (N, T, H, W, C): N clips. A 4-D array is ambiguous; the rule is that a last axis
  of size 1 or 3 holds channels, (T, H, W, C) — a video 1 or 3 pixels wide is not a plausible
  input — and any other size makes it (N, T, H, W).

Resizing
--------
``crop`` (the default) scales the shorter side to S and keeps the centre S×S: the centre square
(side: the shorter side; offsets rounded down) is cut out and resized. ``squash`` scales both
sides to S, not keeping the aspect ratio. The resize is PIL's bicubic, per frame and channel
(antialiased when shrinking).
Colour becomes grey as the luma 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, PIL's weights);
grey becomes colour by repeating it.
"""
from __future__ import annotations

import collections
import os
import re
from typing import Deque, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from core.errors import MissingFile, UserError

from data_loaders.common.files import load_array, read_image
from data_loaders.common.video import video_frames

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
GIF_SUFFIXES = (".gif",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy",)
RESIZE_MODES = ("crop", "squash")
LUMA = np.array([0.299, 0.587, 0.114])
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def as_frames(array: np.ndarray, source: str, keep_float: bool = False) -> np.ndarray:
    """(T, H, W) or (T, H, W, C) pixels → uint8 (T, H, W, C) with C ∈ {1, 3}.

    uint8 is kept; float must lie in [0, 1] and is scaled by 255 and rounded (with
    ``keep_float``: returned as float32); an alpha channel (C = 4) is dropped. Anything else
    raises ``UserError`` naming ``source``.
    """
    a = np.asarray(array)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3, 4):
        raise UserError(f"{source}: expected frames (T, H, W) or (T, H, W, C) with C = 1 or 3, "
                        f"got shape {a.shape}")
    a = a[..., :3]
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if not (lo >= 0 and hi <= 1):   # false for NaN too
            raise UserError(f"{source}: float frames must lie in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]")
        return a.astype(np.float32) if keep_float else (a * 255).round().astype(np.uint8)
    raise UserError(f"{source}: frames must be uint8 or float in [0, 1], got dtype {a.dtype}")


def frame_files(folder: str) -> List[str]:
    """The image files of ``folder`` ordered by the last number in their names."""
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES)]
    if not names:
        raise UserError(f"{folder}: no frame images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    unnumbered = [n for n in names if not _NUMBER.search(os.path.splitext(n)[0])]
    if unnumbered:
        raise UserError(f"{folder}: frame {unnumbered[0]!r} has no number in its name; frames are "
                        f"ordered by the number in their names")
    keyed = sorted((int(_NUMBER.search(os.path.splitext(n)[0]).group(1)), n) for n in names)
    for (a, first), (b, second) in zip(keyed, keyed[1:]):
        if a == b:
            raise UserError(f"{folder}: frames {first!r} and {second!r} carry the same number {a}")
    return [os.path.join(folder, n) for _, n in keyed]


def image_frames(images: Iterable[Tuple[str, np.ndarray]]) -> Iterator[np.ndarray]:
    """Frame images as read, (file, pixels) pairs, as one uint8 (H, W, C) frame at a time; all
    must share one size."""
    first = None
    for path, image in images:
        frame = as_frames(np.atleast_3d(image)[None], path)[0]
        if first is not None and frame.shape != first:
            raise UserError(f"{path}: frame of shape {frame.shape} (H, W, C) differs from the "
                            f"first frame's {first}")
        first = frame.shape
        yield frame


def read_frame_files(paths: List[str]) -> np.ndarray:
    """Frame images, all of one size, as uint8 (T, H, W, C)."""
    return np.stack(list(image_frames((p, read_image(p)) for p in paths)))


def clips_in_array(shape: Tuple[int, ...], source: str) -> Optional[int]:
    """How an array of ``shape`` holds clips (rule in the module docstring): None for one clip
    (T, H, W[, C]), N for N clips (N, T, H, W[, C]); other ranks raise ``UserError``."""
    if len(shape) not in (3, 4, 5):
        raise UserError(f"{source}: expected (T, H, W[, C]) or (N, T, H, W[, C]), got shape {shape}")
    if len(shape) == 5 or (len(shape) == 4 and shape[-1] not in (1, 3)):
        return shape[0]
    return None


def clip_stem(path: str) -> str:
    """An input's name without its folder and extension (a folder: its own name)."""
    path = os.path.normpath(path)
    return os.path.basename(path) if os.path.isdir(path) else os.path.splitext(os.path.basename(path))[0]


def read_clips(path: str) -> List[Tuple[str, np.ndarray]]:
    """(name, frames) of each clip of an input, frames uint8 (T, H, W, C) with C ∈ {1, 3} at the
    file's own size: one clip named :func:`clip_stem` for a video, GIF or frame folder; for a
    ``.npy`` array of N clips, ``<stem>_<i>`` for i = 0 .. N − 1. Every frame is held in memory:
    :func:`stream_clips` hands them over one at a time."""
    return [(name, np.stack(list(frames))) for name, frames in stream_clips(path)]


def refuse_folder_of_videos(folder: str) -> None:
    """A folder input is one clip of frame images; one holding videos instead is refused in one
    line naming them and how to give them (not "no frame images", which names no cause)."""
    names = sorted(os.listdir(folder))
    if any(n.lower().endswith(IMAGE_SUFFIXES) for n in names):
        return
    videos = [n for n in names if n.lower().endswith(VIDEO_SUFFIXES + GIF_SUFFIXES + ARRAY_SUFFIXES)]
    if videos:
        shown = ", ".join(videos[:3]) + (", ..." if len(videos) > 3 else "")
        raise UserError(f"{folder} is a folder of {len(videos)} video(s) ({shown}), not of frame "
                        f"images; give the videos themselves as inputs, e.g. "
                        f"{os.path.join(folder, '*')}")


def input_kind(path: str) -> str:
    """What an input is, by its suffix: ``frames`` (a folder of frame images), ``video``, ``GIF``
    or ``array`` (.npy). A missing input, a folder of videos, one image or an unknown suffix
    raises ``UserError`` naming it."""
    if os.path.isdir(path):
        refuse_folder_of_videos(path)
        return "frames"
    if not os.path.exists(path):
        raise MissingFile(f"{path} does not exist")
    suffix = os.path.splitext(path)[1].lower()
    for kind, suffixes in (("video", VIDEO_SUFFIXES), ("GIF", GIF_SUFFIXES), ("array", ARRAY_SUFFIXES)):
        if suffix in suffixes:
            return kind
    if suffix in IMAGE_SUFFIXES:
        raise UserError(f"{path}: one image is not a clip; give the folder of its frames")
    known = VIDEO_SUFFIXES + GIF_SUFFIXES + ARRAY_SUFFIXES
    raise UserError(f"{path}: unknown kind of input {suffix or '(no extension)'!r}; expected a "
                    f"video ({' '.join(known)}) or a folder of frame images")


def named_clips(stem: str, path: str, kind: str, held) -> List[Tuple[str, Iterable[np.ndarray]]]:
    """(name, frames) of each clip in what an input of ``kind`` holds (:func:`held_by`): one clip
    named ``stem``, or ``<stem>_<i>`` for each clip of an (N, T, ...) array (rule in the module
    docstring); frames uint8 (H, W, C), converted by :func:`as_frames` as they are taken."""
    if kind == "frames":
        return [(stem, image_frames(held))]
    if kind != "array":
        return [(stem, held)]
    if not isinstance(held, np.ndarray):
        raise UserError(f"{path}: expected one array (.npy), found an .npz archive")
    if clips_in_array(held.shape, path) is None:
        return [(stem, as_frames(held, path))]
    return [(f"{stem}_{i}", as_frames(clip, f"{path} clip {i}")) for i, clip in enumerate(held)]


def held_by(path: str, kind: str, files: Iterable[str] = ()):
    """What an input holds, as its file format gives it: a frame folder's (file, pixels) pairs,
    each image read when taken, of ``files`` in order; a ``.npy`` array, loaded; a video's or
    GIF's RGB uint8 (H, W, 3) frames, each decoded when taken."""
    if kind == "frames":
        return ((f, read_image(f)) for f in files)
    if kind == "array":
        return load_array(path)
    return video_frames(path, kind)


def stream_clips(path: str) -> List[Tuple[str, Iterable[np.ndarray]]]:
    """(name, frames) of each clip of an input, as :func:`read_clips` names them, each clip's
    frames an iterable of uint8 (H, W, C) frames: a video, GIF or frame folder decoded one frame
    at a time as they are taken (nothing is decoded before), a ``.npy`` array loaded. The input's
    kind, existence and (for a folder) frame names are checked at once."""
    kind = input_kind(path)
    files = frame_files(path) if kind == "frames" else ()
    return named_clips(clip_stem(path), path, kind, held_by(path, kind, files))


def context_window(frames: Iterable[np.ndarray], n_past: int, start: Optional[int],
                   source: str) -> Tuple[np.ndarray, int]:
    """(the K = ``n_past`` context frames (K, H, W, C), index of the first): frames ``start`` ..
    start + K − 1, or the last K when ``start`` is None. Too short a clip raises ``UserError``
    naming ``source`` and ``svg predict``'s options.

    frames : (H, W, C) uint8 frames, taken one at a time (a decoding stream): only the last K are
        kept, and with ``start`` given nothing after the context is decoded.
    """
    window: Deque[np.ndarray] = collections.deque(maxlen=n_past)
    t = 0
    for frame in frames:
        if start is None or t >= start:
            window.append(frame)
        t += 1
        if start is not None and t >= start + n_past:
            break
    if start is None:
        if t < n_past:
            raise UserError(f"{source}: {t} frames; {n_past} context frames (--n-past) need at "
                            f"least {n_past}")
        start = t - n_past
    elif start + n_past > t:
        raise UserError(f"{source}: {t} frames; context frames {start}..{start + n_past - 1} "
                        f"(--start {start}, --n-past {n_past}) need at least {start + n_past}")
    return np.stack(window), start


def clip_context(path: str, i: int, name: str, frames: Iterable[np.ndarray], n_past: int,
                 start: Optional[int], size: int, channels: int, mode: str = "crop"
                 ) -> Tuple[str, str, int, int, np.ndarray]:
    """(name, input path, clip index ``i``, first context frame, context) of one clip of
    :func:`stream_clips`, the context uint8 (K, size, size, ``channels``) (:func:`fit_frames`)."""
    source = path if name == clip_stem(path) else f"{path} ({name})"
    window, first = context_window(frames, n_past, start, source)
    return name, path, i, first, fit_frames(window, size, channels, mode)


def read_contexts(inputs: List[str], n_past: int, start: Optional[int], size: int, channels: int,
                  mode: str = "crop") -> List[Tuple[str, str, int, int, np.ndarray]]:
    """:func:`clip_context` of every clip of every input, in order; each clip is decoded only up
    to its context (:func:`context_window`), so a long video costs K frames of memory. Names are
    :func:`stream_clips`'s; a caller writing one file per name checks that no two inputs share
    one."""
    return [clip_context(path, i, name, frames, n_past, start, size, channels, mode)
            for path in inputs for i, (name, frames) in enumerate(stream_clips(path))]


def convert_channels(frames: np.ndarray, channels: int) -> np.ndarray:
    """(T, H, W, C) uint8 or float → C = ``channels`` (1 or 3): BT.601 luma, or grey repeated."""
    c = frames.shape[-1]
    if c == channels:
        return frames
    if (c, channels) == (1, 3):
        return np.repeat(frames, 3, axis=-1)
    if (c, channels) == (3, 1):
        grey = frames.astype(np.float64) @ LUMA
        grey = grey.round().astype(np.uint8) if frames.dtype == np.uint8 else grey.astype(frames.dtype)
        return grey[..., None]
    raise UserError(f"cannot convert frames with {c} channels to {channels}; expected 1 or 3")


def resize_frames(frames: np.ndarray, size: int, mode: str = "crop") -> np.ndarray:
    """(T, H, W, C) uint8, or float32 in [0, 1], → (T, size, size, C) of the same dtype.

    ``crop``: the shorter side scaled to ``size``, the centre kept; ``squash``: both sides scaled
    to ``size``. PIL bicubic; float results are clipped back into [0, 1] (bicubic overshoots).
    Frames already size×size are returned unchanged; a square cut that is already size×size is
    not resampled.
    """
    from PIL import Image

    if mode not in RESIZE_MODES:
        raise UserError(f"resize mode {mode!r}: expected one of {', '.join(RESIZE_MODES)}")
    h, w, c = frames.shape[1:]
    if mode == "crop":   # the centre square, cut before resizing: no pixel outside it counts
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        frames = frames[:, top:top + side, left:left + side]
    if frames.shape[1:3] == (size, size):
        return frames

    def one(plane: np.ndarray) -> np.ndarray:   # (H, W) uint8 or float32 → (size, size)
        dtype = np.uint8 if plane.dtype == np.uint8 else np.float32   # PIL modes L and F
        img = Image.fromarray(np.ascontiguousarray(plane, dtype))
        return np.asarray(img.resize((size, size), Image.Resampling.BICUBIC))

    out = np.stack([np.stack([one(f[..., k]) for k in range(c)], -1) for f in frames])
    return out if frames.dtype == np.uint8 else np.clip(out, 0, 1).astype(frames.dtype)


def fit_frames(frames: np.ndarray, size: int, channels: int, mode: str = "crop") -> np.ndarray:
    """Frames (T, H, W, C) to (T, size, size, ``channels``): :func:`convert_channels` then
    :func:`resize_frames`; uint8 stays uint8, float stays float in [0, 1]."""
    return resize_frames(convert_channels(frames, channels), size, mode)

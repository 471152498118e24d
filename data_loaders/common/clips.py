"""Clips of a list of videos, shared by KTH and ``videos``: random for training, fixed for val/test.

A *video* here is anything with a ``name`` (how messages name it) and a ``frames`` count; reading
its pixels is the dataset's job (:meth:`ClipDataset.read`). What is shared:

- training items are a fresh clip each: a video drawn uniformly among the videos (all long
  enough), then a start drawn uniformly, both from torch's global generator (the trainer seeds it
  per step, so resuming replays the same clips);
- val and test items are fixed clips of ``clip_len`` frames, clip i a function of (seed, i) and
  the video list alone (:func:`default_clips`), cut to the length asked, so item i never depends
  on that length (prefix-stable);
- videos shorter than the clip length are skipped, and counted and named in one warning.
"""
from __future__ import annotations

import warnings
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from core.errors import InputWarning, UserError

from data_loaders.common.base import VideoDataset

#: Items of an epoch of training (the index range; every item is a fresh random clip).
TRAIN_LENGTH = 100_000


def long_enough(videos: List, min_frames: int, where: str) -> List:
    """The videos with at least ``min_frames`` frames; the others are counted and named in one
    warning starting with ``where`` (e.g. "KTH train"); none left is a ``UserError``."""
    kept = [v for v in videos if v.frames >= min_frames]
    short = [v for v in videos if v.frames < min_frames]
    if short:
        names = ", ".join(f"{v.name} ({v.frames})" for v in short[:10])
        warnings.warn(f"{where}: skipped {len(short)} of {len(videos)} videos shorter than "
                      f"{min_frames} frames: {names}{' …' if len(short) > 10 else ''}",
                      InputWarning, stacklevel=3)
    if not kept:
        raise UserError(f"{where}: none of the {len(videos)} videos has {min_frames} frames")
    return kept


def report_truncated(videos: List, where: str) -> None:
    """One warning (starting with ``where``) naming every truncated video — one whose header
    declares more frames (``declared``) than decode (``decoded``) — and how many of its frames
    are used.

    The official KTH distribution is reported to hold one (person01_boxing_d4: its header declares
    370 frames, about 305 decode). The frames that decode completely are exact, so they are used
    (as ffmpeg's conversions in SVG and SRVP used them), and the loss is said, not hidden.
    """
    cut = [v for v in videos if v.truncated]
    if cut:
        names = ", ".join(f"{v.path} ({v.decoded} of {v.declared} frames decode)" for v in cut)
        warnings.warn(f"{where}: {len(cut)} truncated video(s); only their complete frames are used: "
                      f"{names}", InputWarning, stacklevel=3)


def default_clips(videos: Sequence, n: int, clip_len: int, seed: int) -> List[Tuple[int, int]]:
    """(video index, start) of clips 0..n−1; clip i depends only on (seed, i) and the video list:
    ``numpy.random.default_rng([seed, i])`` draws a video uniformly, then a start uniformly in
    [0, frames − clip_len]."""
    clips = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        k = int(rng.integers(len(videos)))
        clips.append((k, int(rng.integers(videos[k].frames - clip_len + 1))))
    return clips


def split_seed(seed: Optional[int], split: str) -> int:
    """The seed of a split's fixed clips: ``seed`` (default 0) for test, ``seed + 1`` for val, so
    the two splits never share a stream."""
    base = 0 if seed is None else seed
    return base if split == "test" else base + 1


def fixed_clips(videos: List, split: str, seq_len: int, clip_len: int,
                n: Union[int, Callable[[List], int]], seed: Optional[int], where: str,
                hint: str = "") -> Tuple[List, List[Tuple[int, int]]]:
    """(the videos long enough, the (video index, start) of each fixed clip) of a val or test
    split: ``n`` clips (or ``n(videos)``) of ``clip_len`` frames by :func:`default_clips`, seeded
    by :func:`split_seed`. ``where`` names the split in messages ("KTH test"); ``hint`` is added
    to the error of a ``seq_len`` longer than the clips."""
    if seq_len > clip_len:
        raise UserError(f"seq_len {seq_len} is longer than the {where} clips (clip_len {clip_len}){hint}")
    videos = long_enough(videos, clip_len, where)
    count = n(videos) if callable(n) else n
    return videos, default_clips(videos, count, clip_len, split_seed(seed, split))


def check_positive(options: Sequence[Tuple[str, object]], what: str) -> None:
    """Refuse any (name, value) whose value is not None and not a positive integer."""
    for key, value in options:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"{what} option {key} must be a positive integer, got {value!r}")


class ClipDataset(VideoDataset):
    """Clips of ``videos``; items (seq_len, C, S, S) float32 in [0, 1].

    Parameters
    ----------
    videos : the videos (each with at least ``seq_len`` frames, or ``clip_len`` for fixed clips).
    seq_len : frames per item.
    clips : fixed (video index, start) per item (val/test); None draws a random clip per item
        from torch's global generator (train).
    length : len() when ``clips`` is None (an epoch's worth of index range).

    Subclasses define :meth:`read`.
    """

    def __init__(self, videos: List, seq_len: int, clips: Optional[List[Tuple[int, int]]] = None,
                 length: int = TRAIN_LENGTH):
        if seq_len < 1:
            raise UserError(f"seq_len must be >= 1, got {seq_len}")
        self.videos, self.seq_len = videos, seq_len
        self.clips, self.length = clips, length if clips is None else len(clips)

    def __len__(self) -> int:
        return self.length

    def clip(self, i: int) -> Tuple[object, int]:
        """(video, start frame) of item ``i`` (drawn afresh for training)."""
        self.check_index(i, "clips")
        if self.clips is not None:
            k, start = self.clips[i]
            return self.videos[k], start
        video = self.videos[int(torch.randint(len(self.videos), ()))]
        return video, int(torch.randint(video.frames - self.seq_len + 1, ()))

    def read(self, video, start: int, n: int) -> np.ndarray:
        """Frames ``start .. start + n − 1`` of ``video`` as (n, S, S, C) uint8 in [0, 255]."""
        raise NotImplementedError

    def source_videos(self, n: int) -> Optional[int]:
        """How many distinct videos the first ``n`` fixed clips are cut from (None for drawn
        clips): a report of 32 clips of 2 videos must not call them 32 videos."""
        return None if self.clips is None else len({k for k, _ in self.clips[:n]})

    def __getitem__(self, i: int) -> torch.Tensor:
        video, start = self.clip(i)
        frames = self.read(video, start, self.seq_len)                      # (T, S, S, C) uint8
        # a copy even where the transpose is one already (grey frames): read() may return a view
        # of a read-only mapped file, and a uint8 item must own its memory
        return self.frames_out(torch.from_numpy(np.array(frames.transpose(0, 3, 1, 2), order="C")))

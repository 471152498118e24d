"""Standard Moving MNIST: the fixed ``mnist_test_seq.npy`` (20, 10000, 64, 64) uint8, time first.

Other arrays of videos are stored videos first (N, T, H, W), so an array's layout is never
guessed between the two: without ``layout``, an array is read time first only when it is shaped as
the standard file, 20 frames first (and not 20 videos of 20 frames, which reads both ways);
anything else is refused with both readings named.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from core.errors import MissingFile, UserError

from data_loaders.common.base import DatasetEntry, VideoDataset, register_dataset
from data_loaders.common.files import load_array
from data_loaders.common.splits import check_split

MMNIST_FILE = "mnist_test_seq.npy"
MMNIST_FRAMES = 20
LAYOUTS = ("TNHW", "NTHW")


class MovingMNIST(VideoDataset):
    """Videos of the standard Moving MNIST file; items (seq_len, 1, 64, 64) float32 in [0, 1].

    The file is memory-mapped. ``split``: ``train`` = videos [0, split_at − val_videos), ``val`` =
    the val_videos before split_at (a slice of the training videos), ``test`` = [split_at, N)
    (default: 8500 / 500 / 1000).
    """

    def __init__(self, path: str, seq_len: int, split: str = "test", split_at: int = 9000,
                 val_videos: int = 500, layout: Optional[str] = None):
        if os.path.isdir(path):
            path = os.path.join(path, MMNIST_FILE)
        if not os.path.exists(path):
            raise MissingFile(f"Moving MNIST file {path} not found (expected {MMNIST_FILE}, "
                              f"shape (20, 10000, 64, 64) uint8)")
        data = load_array(path, mmap_mode="r")
        if not isinstance(data, np.ndarray):
            raise UserError(f"{path} is an .npz archive; expected one .npy array (T, N, 64, 64) uint8")
        if data.dtype != np.uint8 or data.ndim != 4 or data.shape[2:] != (64, 64):
            raise UserError(f"{path}: expected uint8 (T, N, 64, 64) stored time first, got "
                            f"{data.dtype} {data.shape}")
        self.time_first = _time_first(path, data.shape, layout)
        n_frames, n_videos = data.shape[:2] if self.time_first else data.shape[1::-1]
        if seq_len > n_frames:
            raise UserError(f"{path}: seq_len {seq_len} is longer than its {n_frames}-frame videos")
        check_split(split)
        if not 0 <= val_videos < split_at < n_videos:
            raise UserError(f"{path} holds {n_videos} videos; the splits need 0 <= "
                            f"data.options.val_videos < data.options.split_at < {n_videos}, got "
                            f"val_videos={val_videos}, split_at={split_at}")
        if split == "val" and val_videos == 0:
            raise UserError(f"{path}: the val split is empty (data.options.val_videos=0)")
        lo, hi = {"train": (0, split_at - val_videos), "val": (split_at - val_videos, split_at),
                  "test": (split_at, n_videos)}[split]
        self.data, self.seq_len, self.lo, self.n = data, seq_len, lo, hi - lo

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        self.check_index(i)
        video = (self.data[:self.seq_len, self.lo + i] if self.time_first
                 else self.data[self.lo + i, :self.seq_len])
        frames = np.array(video, order="C")          # (T, 64, 64) uint8, a copy: the file is mapped read-only
        return self.frames_out(torch.from_numpy(frames).unsqueeze(1))


def _time_first(path: str, shape, layout: Optional[str]) -> bool:
    """Whether the (A, B, 64, 64) array at ``path`` is time first, from ``layout`` (TNHW or
    NTHW) or, when it is None, only where it is shaped as the standard file (A = 20 ≠ B); any
    other array raises a ``UserError`` naming both readings."""
    if layout is not None:
        if layout not in LAYOUTS:
            raise UserError(f"data.options.layout={layout!r}; choose one of {LAYOUTS}")
        return layout == "TNHW"
    a, b = shape[:2]
    if a == MMNIST_FRAMES != b:
        return True
    raise UserError(f"{path} has shape {tuple(shape)}: read time first (TNHW, as the standard "
                    f"{MMNIST_FILE}) it is {b} videos of {a} frames; read videos first (NTHW) it is "
                    f"{a} videos of {b} frames. Say which with data.options.layout=TNHW or NTHW")


@dataclass
class MMNISTOptions:
    """``data.options`` of mmnist: where the test split starts, how many videos are val, and the
    array's layout (TNHW or NTHW) when it is not shaped as the standard file."""
    split_at: int = 9000
    val_videos: int = 500
    layout: Optional[str] = None


def build_mmnist(split: str, root: Optional[str], seq_len: int, o: MMNISTOptions) -> VideoDataset:
    """Videos [0, split_at − val_videos) train, the next val_videos val, [split_at, end) test
    (default 8500 / 500 / 1000)."""
    if root is None:
        raise UserError("mmnist needs data.root: the folder of mnist_test_seq.npy (or the file)")
    return MovingMNIST(root, seq_len, split, o.split_at, o.val_videos, o.layout)


register_dataset(DatasetEntry("mmnist", build_mmnist, channels=1, image_size=64, n_future=10,
                              eval_n_future=20, Options=MMNISTOptions))

"""Standard Moving MNIST: the fixed ``mnist_test_seq.npy`` (20, 10000, 64, 64) uint8, time first."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from models.errors import UserError

from .base import DatasetEntry, VideoDataset, register_dataset
from .files import load_array
from .splits import check_split

MMNIST_FILE = "mnist_test_seq.npy"


class MovingMNIST(VideoDataset):
    """Videos of the standard Moving MNIST file; items (seq_len, 1, 64, 64) float32 in [0, 1].

    The file is memory-mapped. ``split``: ``train`` = videos [0, split_at − val_videos), ``val`` =
    the val_videos before split_at (a slice of the training videos), ``test`` = [split_at, N)
    (default: 8500 / 500 / 1000).
    """

    def __init__(self, path: str, seq_len: int, split: str = "test", split_at: int = 9000,
                 val_videos: int = 500):
        if os.path.isdir(path):
            path = os.path.join(path, MMNIST_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Moving MNIST file {path} not found (expected {MMNIST_FILE}, "
                                    f"shape (20, 10000, 64, 64) uint8)")
        data = load_array(path, mmap_mode="r")
        if not isinstance(data, np.ndarray):
            raise ValueError(f"{path} is an .npz archive; expected one .npy array (T, N, 64, 64) uint8")
        if data.dtype != np.uint8 or data.ndim != 4 or data.shape[2:] != (64, 64):
            raise ValueError(f"{path}: expected uint8 (T, N, 64, 64) stored time first, got "
                             f"{data.dtype} {data.shape}")
        if seq_len > data.shape[0]:
            raise ValueError(f"{path}: seq_len {seq_len} is longer than its {data.shape[0]}-frame videos")
        check_split(split)
        n_videos = data.shape[1]
        if not 0 <= val_videos < split_at < n_videos:
            raise ValueError(f"{path} holds {n_videos} videos; the splits need 0 <= "
                             f"data.options.val_videos < data.options.split_at < {n_videos}, got "
                             f"val_videos={val_videos}, split_at={split_at}")
        if split == "val" and val_videos == 0:
            raise ValueError(f"{path}: the val split is empty (data.options.val_videos=0)")
        lo, hi = {"train": (0, split_at - val_videos), "val": (split_at - val_videos, split_at),
                  "test": (split_at, n_videos)}[split]
        self.data, self.seq_len, self.lo, self.n = data, seq_len, lo, hi - lo

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        self.check_index(i)
        frames = np.ascontiguousarray(self.data[:self.seq_len, self.lo + i])    # (T, 64, 64) uint8
        return torch.from_numpy(frames).unsqueeze(1).float().div_(255.0)


@dataclass
class MMNISTOptions:
    """``data.options`` of mmnist: where the test split starts and how many videos are val."""
    split_at: int = 9000
    val_videos: int = 500


def build_mmnist(split: str, root: Optional[str], seq_len: int, o: MMNISTOptions) -> VideoDataset:
    """Videos [0, split_at − val_videos) train, the next val_videos val, [split_at, end) test
    (default 8500 / 500 / 1000)."""
    if root is None:
        raise UserError("mmnist needs data.root: the folder of mnist_test_seq.npy (or the file)")
    return MovingMNIST(root, seq_len, split, o.split_at, o.val_videos)


register_dataset(DatasetEntry("mmnist", build_mmnist, channels=1, image_size=64, n_future=10,
                              eval_n_future=20, Options=MMNISTOptions))

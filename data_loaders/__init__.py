"""Datasets of svg-sigma, selected by name: items are (T, C, H, W) float32 in [0, 1]."""
from __future__ import annotations

import inspect
from typing import Callable, Dict, Optional, Sequence

from torch.utils.data import Dataset

from models.errors import UserError

from .moving_mnist import MovingMNIST
from .moving_squares import MovingSquares
from .smmnist import SRVP_FRAMES, StochasticMovingMNIST
from .splits import SPLITS, check_split


def _smmnist(split: str, root: Optional[str], seq_len: int, num_digits: int = 2, image_size: int = 64,
             deterministic: bool = False, seed: Optional[int] = None, length: Optional[int] = None,
             download: bool = False, protocol: str = "svg", srvp_frames: int = SRVP_FRAMES) -> Dataset:
    """train: drawn on the fly from the MNIST training digits (60000 per epoch); val: a fixed set of
    256 videos drawn from the training digits with its own random streams; test: a fixed set of 256
    videos of the test digits (``protocol: srvp``: SRVP's 5000, seed 42)."""
    from .digits import load_digits

    digits, _ = load_digits(root, "test" if split == "test" else "train", download)
    return StochasticMovingMNIST(digits, seq_len, image_size, num_digits, deterministic, split, seed,
                                 length, protocol, srvp_frames)


def _mmnist(split: str, root: Optional[str], seq_len: int, split_at: int = 9000,
            val_videos: int = 500, layout: Optional[str] = None) -> Dataset:
    """Videos [0, split_at − val_videos) train, the next val_videos val, [split_at, end) test
    (default 8500 / 500 / 1000); ``layout`` TNHW or NTHW for an array that is not shaped as
    the standard file (20 frames first)."""
    if root is None:
        raise UserError("mmnist needs data.root: the folder of mnist_test_seq.npy (or the file)")
    return MovingMNIST(root, seq_len, split, split_at, val_videos, layout)


def _moving_squares(split: str, root: Optional[str], seq_len: int, size: int = 64, channels: int = 1,
                    length: Optional[int] = None) -> Dataset:
    """Videos partitioned by start position (see ``MovingSquares``); 100000 train, 256 val, 256 test."""
    return MovingSquares(seq_len, size, channels, length or (100_000 if split == "train" else 256),
                         seed=SPLITS.index(split), split=split)


def _bair(split: str, root: Optional[str], seq_len: int, format: str = "auto",
          camera: str = "image_aux1", with_actions: bool = False, val_videos: int = 256) -> Dataset:
    """train: the training records but the last val_videos videos (in sorted file order), which are
    val; test: the test records (256 videos, ``traj_0_to_255``)."""
    from .bair import bair_dataset

    if root is None:
        raise UserError("bair needs data.root: softmotion30_44k (TFRecords), a `svg convert-bair` "
                        "output folder, or SVG's processed_data (PNG folders)")
    return bair_dataset(root, split, seq_len, format, camera, with_actions, val_videos)


def _kth(split: str, root: Optional[str], seq_len: int, format: str = "auto", protocol: str = "default",
         seed: Optional[int] = None, length: Optional[int] = None, clip_len: int = 40,
         val_people: Sequence[int] = (20,), image_size: int = 64) -> Dataset:
    from .kth import kth_dataset

    if root is None:
        raise UserError("kth needs data.root: the folder of the six class folders of *_uncomp.avi "
                        "files, a `svg convert-kth` output folder, or SVG's / SRVP's PNG folders")
    return kth_dataset(root, split, seq_len, format, protocol, seed, length, clip_len, val_people,
                       image_size)


DATASETS: Dict[str, Callable[..., Dataset]] = {
    "bair": _bair,
    "kth": _kth,
    "smmnist": _smmnist,
    "mmnist": _mmnist,
    "moving_squares": _moving_squares,
}


def build_dataset(name: str, split: str, root: Optional[str], seq_len: int, **options) -> Dataset:
    """The ``split`` (one of ``SPLITS``: train, val, test) of dataset ``name``, ``seq_len`` frames per item.

    ``options`` are the dataset's own keyword options (``data.options`` in the config); unknown
    names or options raise ``ValueError`` listing the valid ones.
    """
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    check_split(split)
    builder = DATASETS[name]
    valid = [p for p in inspect.signature(builder).parameters if p not in ("split", "root", "seq_len")]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UserError(f"dataset {name!r}: unknown options {unknown}; valid: {valid}")
    return builder(split, root, seq_len, **options)


__all__ = ["DATASETS", "SPLITS", "build_dataset", "check_split", "MovingMNIST", "MovingSquares",
           "StochasticMovingMNIST"]

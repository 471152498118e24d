"""Datasets of svg-sigma, selected by name: items are (T, C, H, W) float32 in [0, 1].

Each dataset registers itself next to its class (``register_dataset(DatasetEntry(...))``, see
:mod:`data_loaders.common.base`): one file, one registry line.
"""
from __future__ import annotations

from typing import Optional

from torch.utils.data import Dataset

from data_loaders.common.base import DATASETS, DatasetEntry, register_dataset
from data_loaders.mnist.moving_mnist import MovingMNIST
from data_loaders.moving_squares.dataset import MovingSquares
from data_loaders.mnist.smmnist import StochasticMovingMNIST
from data_loaders.common.splits import SPLITS, check_split


def build_dataset(name: str, split: str, root: Optional[str], seq_len: int, **options) -> Dataset:
    """The ``split`` (one of ``SPLITS``: train, val, test) of dataset ``name``, ``seq_len`` frames per item.

    ``options`` are the dataset's own options (``data.options`` in the config, the fields of its
    entry's ``Options``); unknown names or options raise ``UserError`` listing the valid ones.
    """
    entry = DATASETS.lookup(name)
    check_split(split)
    return entry.build(split, root, seq_len, entry.options(options))


__all__ = ["DATASETS", "DatasetEntry", "SPLITS", "build_dataset", "check_split", "register_dataset",
           "MovingMNIST", "MovingSquares", "StochasticMovingMNIST"]

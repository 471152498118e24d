"""Datasets by config name (the loaders themselves live in ``data_loaders``)."""
from __future__ import annotations

from torch.utils.data import Dataset

from data_loaders import build_dataset

from .config import DataConfig


def make_dataset(cfg: DataConfig, split: str, seq_len: int) -> Dataset:
    """The ``split`` of dataset ``cfg.name``; items are (seq_len, C, H, W) float32 in [0, 1]."""
    return build_dataset(cfg.name, split, cfg.root, seq_len, **cfg.options)

"""Datasets by config name, as every command reads them.

The loaders themselves live in ``data_loaders``; what feeds training steps (replayable per-step
batches, their loader) is :mod:`svg.train.batches`.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset

from data_loaders import build_dataset
from data_loaders.common.base import VideoDataset

from svg.config import DataConfig, refuse_item_dicts


def make_dataset(cfg: DataConfig, split: str, seq_len: int, uint8_items: bool = False) -> Dataset:
    """The ``split`` (train, val or test) of dataset ``cfg.name``; items are (seq_len, C, H, W)
    float32 in [0, 1], or with ``uint8_items`` uint8 in [0, 255] where the dataset keeps uint8
    frames (``VideoDataset.uint8_items``; others stay float): :func:`unit_frames` converts them.

    Training and evaluation use frames only, so ``with_actions`` (BAIR items as dicts with actions
    and end-effector positions, for user code) is refused here with a plain message.
    """
    refuse_item_dicts(cfg.options)
    dataset = build_dataset(cfg.name, split, cfg.root, seq_len, **cfg.options)
    if uint8_items and isinstance(dataset, VideoDataset):
        dataset.uint8_items = True
    return dataset


def unit_frames(x: torch.Tensor) -> torch.Tensor:
    """Frames as float32 in [0, 1]: uint8 (0..255) divided by 255 where they are (on their own
    device: the same numbers as the datasets' own conversion), float frames as they are."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x

"""Datasets by config name (the loaders themselves live in ``data_loaders``)."""
from __future__ import annotations

from torch.utils.data import Dataset

from data_loaders.moving_squares import MovingSquares

from .config import DataConfig

SPLITS = ("train", "test")


def make_dataset(cfg: DataConfig, split: str, seq_len: int) -> Dataset:
    """The ``split`` of dataset ``cfg.name``; items are (seq_len, C, H, W) float32 in [0, 1]."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    if cfg.name == "moving_squares":
        opts = dict(cfg.options)
        unknown = set(opts) - {"size", "channels", "length"}
        if unknown:
            raise ValueError(f"moving_squares: unknown data.options {sorted(unknown)}; valid: "
                             f"size, channels, length")
        length = opts.pop("length", 100_000 if split == "train" else 256)
        return MovingSquares(seq_len, length=length, seed=0 if split == "train" else 1, **opts)
    import data_loaders

    build = getattr(data_loaders, "build_dataset", None)
    if build is None:
        raise ValueError(f"dataset {cfg.name!r} is not available in this version; valid: moving_squares")
    return build(cfg.name, split=split, root=cfg.root, seq_len=seq_len, **cfg.options)

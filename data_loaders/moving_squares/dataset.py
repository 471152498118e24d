"""Synthetic bouncing squares: a dataset-free source of video batches for tests and smoke runs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from core.errors import UserError

from data_loaders.common.base import DatasetEntry, VideoDataset, register_dataset
from data_loaders.common.splits import SPLITS, check_split


def moving_squares(batch: int, seq_len: int, size: int = 64, channels: int = 1,
                   square: int = 12, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Draw videos of one bright square moving in a straight line and bouncing off the walls.

    Parameters
    ----------
    batch, seq_len : number of videos and frames per video.
    size : frame height and width in pixels.
    channels : 1 (grey) or 3 (the square gets a random colour).
    square : side of the square in pixels.
    generator : optional torch.Generator for reproducible draws.

    Returns
    -------
    (batch, seq_len, channels, size, size) float32 in [0, 1].
    """
    if size <= square:
        raise UserError(f"size={size} must exceed square={square}")
    span = size - square
    pos = torch.randint(0, span + 1, (batch, 2), generator=generator)
    vel = torch.randint(1, 4, (batch, 2), generator=generator)
    vel = vel * (torch.randint(0, 2, (batch, 2), generator=generator) * 2 - 1)
    colour = (torch.rand((batch, channels), generator=generator) * 0.5 + 0.5
              if channels > 1 else torch.ones(batch, 1))
    t = torch.arange(seq_len).view(1, seq_len, 1)
    # Reflection as a triangle wave: position over time folded into [0, span].
    raw = pos.unsqueeze(1) + vel.unsqueeze(1) * t                     # (B, T, 2)
    folded = torch.remainder(raw, 2 * span)
    folded = torch.where(folded > span, 2 * span - folded, folded)   # (B, T, 2)
    grid = torch.arange(size)
    rows = (grid.view(1, 1, size) >= folded[..., :1]) & (grid.view(1, 1, size) < folded[..., :1] + square)
    cols = (grid.view(1, 1, size) >= folded[..., 1:]) & (grid.view(1, 1, size) < folded[..., 1:] + square)
    mask = rows.unsqueeze(-1) & cols.unsqueeze(-2)                     # (B, T, H, W)
    return mask.unsqueeze(2).float() * colour.view(batch, 1, channels, 1, 1)


def split_of_start(row: int, col: int) -> str:
    """The split a video belongs to, by its square's start cell: 1 in 10 cells test, 1 in 10 val.

    Videos with different start positions differ in their first frame, so the splits are disjoint
    by construction.
    """
    cell = (row * 7 + col) % 10   # 7 spreads neighbouring rows over the classes
    return "test" if cell == 0 else "val" if cell == 1 else "train"


class MovingSquares(VideoDataset):
    """Bouncing-squares videos as a dataset: item i is a fixed function of (seed, i).

    Returns (seq_len, channels, size, size) float32 in [0, 1]. ``length`` sets len() (the
    sequences are drawn on demand, so it only bounds the index range). With ``split`` set, only
    videos whose start position falls in that split (``split_of_start``) are kept: draws from the
    item's generator are repeated until one does.
    """

    def __init__(self, seq_len: int, size: int = 64, channels: int = 1, length: int = 100_000,
                 seed: int = 0, split: Optional[str] = None):
        self.seq_len, self.size, self.channels = seq_len, size, channels
        self.length, self.seed = length, seed
        self.split = None if split is None else check_split(split)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> torch.Tensor:
        self.check_index(i, "sequences")
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(i))
        while True:
            video = moving_squares(1, self.seq_len, self.size, self.channels, generator=g)[0]
            if self.split is None:
                return video
            rows, cols = torch.nonzero(video[0].amax(0), as_tuple=True)
            if split_of_start(int(rows.min()), int(cols.min())) == self.split:
                return video


@dataclass
class MovingSquaresOptions:
    """``data.options`` of moving_squares: frame side and channels; videos per split (None:
    100000 train, 256 val and test)."""
    size: int = 64
    channels: int = 1
    length: Optional[int] = None


def build_moving_squares(split: str, root: Optional[str], seq_len: int,
                         o: MovingSquaresOptions) -> VideoDataset:
    """Videos partitioned by start position (see ``MovingSquares``); 100000 train, 256 val, 256 test."""
    return MovingSquares(seq_len, o.size, o.channels, o.length or (100_000 if split == "train" else 256),
                         seed=SPLITS.index(split), split=split)


register_dataset(DatasetEntry("moving_squares", build_moving_squares, channels=lambda o: o.channels,
                              image_size=lambda o: o.size, n_future=10, eval_n_future=20,
                              Options=MovingSquaresOptions))

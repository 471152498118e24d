"""The dataset contract: what a video dataset must do to plug into training and evaluation.

A new dataset is one file with a :class:`VideoDataset` subclass and a builder function, plus one
line in ``data_loaders.DATASETS``. The split-name test loops over the registry; add the new
dataset's disjointness and prefix tests next to the others in ``tests/test_data_splits.py``.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset


class VideoDataset(Dataset):
    """One split (``train``, ``val`` or ``test``) of a video dataset.

    - ``__getitem__(i)`` returns (T, C, H, W) float32 in [0, 1], T = the ``seq_len`` the builder
      was given. Frames are uint8 on disk and float in [0, 1] from here on, nowhere else.
    - Training randomness (which video, which start frame, on-the-fly trajectories) is drawn from
      torch's global generator only: the trainer seeds it per step (``svg.data.StepSeeded``),
      which makes every step replayable and resume exact. Never keep a private generator for it.
    - ``val`` and ``test`` items are a fixed function of (seed, i) and prefix-stable: the first k
      frames of item i are the same whatever ``seq_len`` was asked, so 5 → 10 and 5 → 20
      evaluations score the same videos.
    - The three splits are disjoint (different videos, people or digits); say how in the
      builder's docstring and the README.
    - Bad files raise ``ValueError`` / ``FileNotFoundError`` naming the file and what was expected.
    """

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> torch.Tensor:
        raise NotImplementedError

    def check_index(self, i: int, items: str = "videos") -> None:
        """Raise ``IndexError`` for an ``i`` outside 0 .. len − 1 (``items`` names what is counted)."""
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} {items}")

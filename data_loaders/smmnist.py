"""Stochastic Moving MNIST (Denton & Fergus, 2018), generated on the fly."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

MAX_SPEED = 4


def resize_digits(digits: np.ndarray, size: int) -> np.ndarray:
    """(N, 28, 28) uint8 → (N, size, size) uint8, bilinear (as SVG's torchvision Scale)."""
    return np.stack([np.asarray(Image.fromarray(d).resize((size, size), Image.BILINEAR)) for d in digits])


def trajectory(rng: np.random.Generator, seq_len: int, room: int, deterministic: bool
               ) -> Tuple[np.ndarray, np.ndarray]:
    """Top-left positions and velocities of one digit, SVG's rules.

    room : canvas size − digit size. Start uniform in [0, room − 1]², integer velocity in
    [−4, 4]² per axis. Each frame: check the walls (position < 0 → 0, ≥ room → room − 1), record,
    then move. At a wall the stochastic version draws a new velocity — the component normal to
    the wall from 1..4 pointing inward, the other from −4..4 — and the deterministic one flips it.
    Returns positions (T, 2) as (y, x) and the velocities (T, 2) used to leave each frame.
    """
    pos = rng.integers(0, room, size=2)
    vel = rng.integers(-MAX_SPEED, MAX_SPEED + 1, size=2)
    positions, velocities = np.zeros((seq_len, 2), np.int64), np.zeros((seq_len, 2), np.int64)
    for t in range(seq_len):
        for axis in (0, 1):
            hit = 0
            if pos[axis] < 0:
                pos[axis], hit = 0, 1
            elif pos[axis] >= room:
                pos[axis], hit = room - 1, -1
            if hit:
                if deterministic:
                    vel[axis] = -vel[axis]
                else:
                    vel[axis] = hit * rng.integers(1, MAX_SPEED + 1)
                    vel[1 - axis] = rng.integers(-MAX_SPEED, MAX_SPEED + 1)
        positions[t], velocities[t] = pos, vel
        pos = pos + vel
    return positions, velocities


class StochasticMovingMNIST(Dataset):
    """Videos of bouncing MNIST digits; items (seq_len, 1, S, S) float32 in [0, 1].

    Parameters
    ----------
    digits : (N, 28, 28) uint8 source digits.
    seq_len : frames per video. image_size : S (64 or 128); digits are S/2 pixels wide.
    num_digits : digits per video (they add and are clipped at 1).
    deterministic : reflect at walls instead of drawing a new velocity.
    split : ``train`` draws every item afresh from torch's global generator (seeded per
        DataLoader worker, and per step by the trainer); ``test`` is fixed: item i depends only on
        (seed, i).
    length : len() of the dataset (training: an epoch's worth of index range).
    """

    def __init__(self, digits: np.ndarray, seq_len: int, image_size: int = 64, num_digits: int = 2,
                 deterministic: bool = False, split: str = "train", seed: int = 0,
                 length: Optional[int] = None):
        if digits.ndim != 3 or digits.dtype != np.uint8 or len(digits) == 0:
            raise ValueError(f"digits must be a non-empty (N, H, W) uint8 array, got {digits.dtype} "
                             f"{digits.shape}")
        if image_size not in (64, 128):
            raise ValueError(f"image_size must be 64 or 128, got {image_size}")
        if num_digits < 1 or seq_len < 1:
            raise ValueError(f"need num_digits >= 1 and seq_len >= 1, got {num_digits}, {seq_len}")
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}; choose train or test")
        self.digit_size = image_size // 2
        self.digits = resize_digits(digits, self.digit_size)
        self.seq_len, self.image_size, self.num_digits = seq_len, image_size, num_digits
        self.deterministic, self.split, self.seed = deterministic, split, seed
        self.length = length if length is not None else (60000 if split == "train" else 256)

    def __len__(self) -> int:
        return self.length

    def _rng(self, i: int) -> np.random.Generator:
        if self.split == "test":
            return np.random.default_rng([self.seed, i])
        return np.random.default_rng(int(torch.randint(2 ** 62, ())))

    def __getitem__(self, i: int) -> torch.Tensor:
        if not 0 <= i < self.length:
            raise IndexError(f"index {i} out of range for {self.length} sequences")
        rng = self._rng(i)
        s, d = self.image_size, self.digit_size
        canvas = np.zeros((self.seq_len, s, s), np.uint16)
        for _ in range(self.num_digits):
            digit = self.digits[rng.integers(len(self.digits))]
            positions, _ = trajectory(rng, self.seq_len, s - d, self.deterministic)
            for t, (y, x) in enumerate(positions):
                canvas[t, y:y + d, x:x + d] += digit
        frames = np.minimum(canvas, 255).astype(np.uint8)   # overlaps add, clipped at 1
        return torch.from_numpy(frames).unsqueeze(1).float().div_(255.0)

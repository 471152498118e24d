"""Stochastic Moving MNIST: SVG's generator (Denton & Fergus, 2018) and SRVP's (protocol ``srvp``).

Training videos are drawn on the fly; ``val`` and ``test`` are fixed. In a fixed split every digit
of item i has its own random stream keyed by (seed, split, i, digit) and consumes it frame by
frame, so the first k frames of an item are the same whatever length is asked. The ``srvp``
test set is SRVP's own (see ``smmnist_srvp``): generated once, whole, at a stated length.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

from core.errors import UserError

from data_loaders.common.base import DatasetEntry, VideoDataset, register_dataset
from data_loaders.mnist.smmnist_srvp import SEED as SRVP_SEED
from data_loaders.mnist.smmnist_srvp import srvp_test_set, srvp_trajectory
from data_loaders.common.splits import check_split

MAX_SPEED = 4
PROTOCOLS = ("svg", "srvp")
STREAMS = {"test": 0, "val": 1}   # keeps val and test streams apart even with the same seed
log = logging.getLogger(__name__)
DEFAULT_LENGTH = {"train": 60000, "val": 256, "test": 256}
SRVP_FRAMES = 25


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
    Draws happen in frame order, so a longer trajectory extends a shorter one.
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


def render(digits: List[np.ndarray], positions: List[np.ndarray], image_size: int) -> torch.Tensor:
    """Paste each digit (d, d) uint8 at its (T, 2) top-left positions; overlaps add, clipped at 255.

    Returns (T, 1, image_size, image_size) uint8 in [0, 255].
    """
    canvas = np.zeros((len(positions[0]), image_size, image_size), np.uint16)
    for digit, pos in zip(digits, positions):
        d = digit.shape[0]
        for t, (y, x) in enumerate(pos):
            canvas[t, y:y + d, x:x + d] += digit
    return torch.from_numpy(np.minimum(canvas, 255).astype(np.uint8)).unsqueeze(1)


class StochasticMovingMNIST(VideoDataset):
    """Videos of bouncing MNIST digits; items (seq_len, 1, S, S) float32 in [0, 1].

    Parameters
    ----------
    digits : (N, 28, 28) uint8 source digits (training digits for train/val, test digits for test).
    seq_len : frames per video. image_size : S (64 or 128).
    num_digits : digits per video (they add and are clipped at 1).
    deterministic : reflect at walls instead of drawing a new velocity.
    split : ``train`` draws every item afresh (seeded from torch's global generator, which the
        trainer seeds per step and DataLoader per worker); ``val`` and ``test`` are fixed.
    seed : seed of the fixed splits (default 0; SRVP's test set: 42).
    length : len() (default: 60000 train, 256 val, 256 test; SRVP's test set: all its videos).
    protocol : ``svg`` — digits resized to S/2, SVG's bounce rule; ``srvp`` — digits unresized
        (28 px), SRVP's bounce rule, and for ``test`` SRVP's fixed test set of ``srvp_frames``.
    srvp_frames : frames per video the SRVP test set is generated with (its videos depend on it).
    """

    def __init__(self, digits: np.ndarray, seq_len: int, image_size: int = 64, num_digits: int = 2,
                 deterministic: bool = False, split: str = "train", seed: Optional[int] = None,
                 length: Optional[int] = None, protocol: str = "svg", srvp_frames: int = SRVP_FRAMES):
        if digits.ndim != 3 or digits.dtype != np.uint8 or len(digits) == 0:
            raise UserError(f"digits must be a non-empty (N, H, W) uint8 array, got {digits.dtype} "
                            f"{digits.shape}")
        if image_size not in (64, 128):
            raise UserError(f"image_size must be 64 or 128, got {image_size}")
        if num_digits < 1 or seq_len < 1:
            raise UserError(f"need num_digits >= 1 and seq_len >= 1, got {num_digits}, {seq_len}")
        if protocol not in PROTOCOLS:
            raise UserError(f"unknown smmnist protocol {protocol!r}; choose one of {PROTOCOLS}")
        self.split, self.protocol = check_split(split), protocol
        self.digits = digits if protocol == "srvp" else resize_digits(digits, image_size // 2)
        self.digit_size = self.digits.shape[1]
        self.seq_len, self.image_size, self.num_digits = seq_len, image_size, num_digits
        self.deterministic = deterministic
        self.srvp_set = protocol == "srvp" and split == "test"
        self.seed = (SRVP_SEED if self.srvp_set else 0) if seed is None else seed
        if self.srvp_set:
            self._build_srvp_test_set(srvp_frames)
        self.length = self._length(length)

    def _build_srvp_test_set(self, frames: int) -> None:
        if self.seq_len > frames:
            raise UserError(f"smmnist protocol srvp: the test videos have srvp_frames={frames} frames "
                            f"but {self.seq_len} are asked; raise data.options.srvp_frames (this "
                            f"generates other videos: SRVP's are defined by their length)")
        self.index, self.positions = srvp_test_set(len(self.digits), frames, self.image_size - self.digit_size,
                                                   self.num_digits, self.deterministic, self.seed)

    def _length(self, length: Optional[int]) -> int:
        if not self.srvp_set:
            return DEFAULT_LENGTH[self.split] if length is None else length
        available = len(self.index)
        if length is not None and length > available:
            raise UserError(f"smmnist protocol srvp: length {length} asked but the test set built from "
                            f"{len(self.digits)} digits holds {available} videos")
        return available if length is None else length

    def __len__(self) -> int:
        return self.length

    def _streams(self, i: int) -> list:
        """One random stream per digit of item i (legacy generators for SRVP's rules)."""
        if self.split == "train":
            key = [int(torch.randint(2 ** 31, ())), int(torch.randint(2 ** 31, ()))]
        else:
            key = [self.seed, STREAMS[self.split], i]
        if self.protocol == "srvp":
            return [np.random.RandomState(key + [n]) for n in range(self.num_digits)]
        return [np.random.default_rng(key + [n]) for n in range(self.num_digits)]

    def __getitem__(self, i: int) -> torch.Tensor:
        self.check_index(i, "sequences")
        if self.srvp_set:
            return self.frames_out(render([self.digits[k] for k in self.index[i]],
                                          list(self.positions[i, :, :self.seq_len]), self.image_size))
        room = self.image_size - self.digit_size
        digits, positions = [], []
        for rng in self._streams(i):
            if self.protocol == "srvp":
                digits.append(self.digits[rng.randint(len(self.digits))])
                positions.append(srvp_trajectory(rng, self.seq_len, room, self.deterministic))
            else:
                digits.append(self.digits[rng.integers(len(self.digits))])
                positions.append(trajectory(rng, self.seq_len, room, self.deterministic)[0])
        return self.frames_out(render(digits, positions, self.image_size))


@dataclass
class SMMNISTOptions:
    """``data.options`` of smmnist (see :class:`StochasticMovingMNIST`)."""
    num_digits: int = 2
    image_size: int = 64
    deterministic: bool = False
    seed: Optional[int] = None
    length: Optional[int] = None
    download: bool = False
    protocol: str = "svg"
    srvp_frames: int = SRVP_FRAMES


def build_smmnist(split: str, root: Optional[str], seq_len: int, o: SMMNISTOptions) -> VideoDataset:
    """train: drawn on the fly from the MNIST training digits (60000 per epoch); val: a fixed set of
    256 videos drawn from the training digits with its own random streams; test: a fixed set of 256
    videos of the test digits (``protocol: srvp``: SRVP's 5000, seed 42)."""
    from . import digits   # looked up at call time, so tests can watch which digits are read

    digit_split = "test" if split == "test" else "train"
    images, source = digits.load_digits(root, digit_split, o.download)
    log.info("smmnist %s: drawn from %d MNIST %s digits, %s", split, len(images), digit_split, source)
    return StochasticMovingMNIST(images, seq_len, o.image_size, o.num_digits, o.deterministic, split,
                                 o.seed, o.length, o.protocol, o.srvp_frames)


register_dataset(DatasetEntry("smmnist", build_smmnist, channels=1, image_size=lambda o: o.image_size,
                              n_future=10, eval_n_future=20, Options=SMMNISTOptions))

"""Test data for ``svg predict``: clips of a moving rectangle in files of every input kind, and the
expected fit to a model's size computed independently (numpy crop, torch's antialiased bicubic)."""
from __future__ import annotations

import numpy as np
import torch

from svg.testing.videos import moving_rect
from svg.testing.videos import write_video as write_any

__all__ = ["HEIGHT", "WIDTH", "expected_fit", "moving_rect", "write_video"]

WIDTH, HEIGHT = 96, 72   # neither the model's size nor square (moving_rect's default)


def write_video(path: str, frames: np.ndarray, fmt: str, codec: str) -> None:
    """Write (T, H, W, 3) uint8 RGB frames with PyAV (yuv420p, 10 fps)."""
    write_any(path, frames, fmt, codec)


def expected_fit(frames: np.ndarray, size: int, channels: int, mode: str = "crop") -> np.ndarray:
    """(T, H, W, C) uint8 or float in [0, 1] → (T, size, size, channels) float in [0, 255] (uint8
    input) or [0, 1]: BT.601 luma or repeated grey, the centre square (``crop``) or the whole frame
    (``squash``), resized by torch's antialiased bicubic (which follows PIL's filter)."""
    x = frames.astype(np.float64)
    if x.shape[-1] == 3 and channels == 1:
        x = x @ np.array([0.299, 0.587, 0.114])
        x = (x.round() if frames.dtype == np.uint8 else x)[..., None]
    elif x.shape[-1] == 1 and channels == 3:
        x = np.repeat(x, 3, -1)
    h, w = x.shape[1:3]
    if mode == "crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = x[:, top:top + side, left:left + side]
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    out = torch.nn.functional.interpolate(t, size=(size, size), mode="bicubic", antialias=True,
                                          align_corners=False)
    top_value = 255 if frames.dtype == np.uint8 else 1
    out = out.clamp(0, top_value).permute(0, 2, 3, 1).numpy()
    return out.round() if frames.dtype == np.uint8 else out

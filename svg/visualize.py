"""Pictures of rollouts: animated GIFs and image grids, context framed green, predictions red."""
from __future__ import annotations

import os

import numpy as np
import torch


def rollout_grid(truth: torch.Tensor, samples: torch.Tensor, n_past: int) -> torch.Tensor:
    """Frames of a rollout grid: one row per sequence, columns ground truth | samples.

    truth : (B, T, C, H, W) in [0, 1]; samples : (N, B, T, C, H, W) in [0, 1].
    Returns (T, rows·(H+4), cols·(W+4), 3) float in [0, 1]; each frame has a 2-pixel border,
    green for context frames (t < n_past) and red for predicted ones.
    """
    videos = torch.cat([truth.unsqueeze(0), samples], 0).detach().float().cpu()   # (1+N, B, T, C, H, W)
    if videos.shape[3] == 1:
        videos = videos.expand(-1, -1, -1, 3, -1, -1)
    videos = torch.nn.functional.pad(videos, (2, 2, 2, 2), value=0.0)
    t_len = videos.shape[2]
    colour = torch.tensor([[0.0, 0.8, 0.0] if t < n_past else [0.9, 0.0, 0.0] for t in range(t_len)])
    border = torch.ones(videos.shape[-2:], dtype=torch.bool)
    border[2:-2, 2:-2] = False
    videos = torch.where(border, colour.view(1, 1, t_len, 3, 1, 1), videos)
    cols, rows, _, _, h, w = videos.shape
    return videos.permute(2, 1, 4, 0, 5, 3).reshape(t_len, rows * h, cols * w, 3).clamp(0, 1)


def write_gif(path: str, frames: torch.Tensor, fps: int = 4) -> None:
    """Write (T, H, W, 3) frames in [0, 1] as a looping GIF, atomically (temp file, rename)."""
    import imageio.v2 as imageio

    data = (frames.numpy() * 255).round().astype(np.uint8)
    tmp = f"{path}.tmp-{os.getpid()}.gif"
    try:
        imageio.mimsave(tmp, list(data), duration=1000 / fps, loop=0)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def rollout_gif(path: str, truth: torch.Tensor, samples: torch.Tensor, n_past: int, fps: int = 4) -> None:
    """GIF of :func:`rollout_grid` (rows: sequences; columns: ground truth | samples)."""
    write_gif(path, rollout_grid(truth, samples, n_past), fps)

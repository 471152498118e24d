"""Pictures of rollouts: animated GIFs and image grids, context framed green, predictions red."""
from __future__ import annotations

import numpy as np
import torch

from data_loaders.common.atomic import atomic_path


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


def write_gif(path: str, frames, fps: int = 4) -> None:
    """Write (T, H, W, 3) frames in [0, 1] (tensor or array) as a looping GIF, atomically."""
    import imageio.v2 as imageio

    frames = frames.numpy() if torch.is_tensor(frames) else np.asarray(frames)
    data = (np.clip(frames, 0, 1) * 255).round().astype(np.uint8)
    with atomic_path(path) as tmp:
        imageio.mimsave(tmp, list(data), duration=1000 / fps, loop=0)


def rollout_gif(path: str, truth: torch.Tensor, samples: torch.Tensor, n_past: int, fps: int = 4) -> None:
    """GIF of :func:`rollout_grid` (rows: sequences; columns: ground truth | samples)."""
    write_gif(path, rollout_grid(truth, samples, n_past), fps)


def _framed(videos: torch.Tensor, n_past: int) -> torch.Tensor:
    """(K, T, C, H, W) in [0, 1] → (K, T, H+4, W+4, 3) with green (context) / red borders."""
    grid = rollout_grid(videos[0:1], videos[1:].unsqueeze(1), n_past)        # (T, h, K·w, 3)
    t, h, kw, _ = grid.shape
    k = videos.shape[0]
    return grid.view(t, h, k, kw // k, 3).permute(2, 0, 1, 3, 4)


def _text_row(labels, cell_w: int, height: int = 14) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (cell_w * len(labels), height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for i, label in enumerate(labels):
        draw.text((i * cell_w + 3, 1), label, fill=(0, 0, 0))
    return np.asarray(img, dtype=np.float32) / 255.0


def labelled_rollout(videos: torch.Tensor, labels, n_past: int, scale: int = 2):
    """Columns side by side, labelled, upscaled by nearest neighbour.

    videos : (K, T, C, H, W) in [0, 1], one per label. Returns (gif_frames (T, H', W', 3),
    strip (K·h + label rows, T·w, 3)) as float arrays in [0, 1]: the GIF shows the columns side by
    side; the strip has one row per column with time running left to right.
    """
    cells = _framed(videos, n_past)                                       # (K, T, h, w, 3)
    cells = cells.repeat_interleave(scale, 2).repeat_interleave(scale, 3).numpy()
    k, t, h, w, _ = cells.shape
    side = np.concatenate(list(cells), axis=2)                            # (T, h, K·w, 3)
    header = _text_row(labels, w)
    gif = np.concatenate([np.broadcast_to(header, (t,) + header.shape), side], axis=1)
    rows = []
    for label, col in zip(labels, cells):
        rows.append(_text_row([label], t * w))
        rows.append(np.concatenate(list(col), axis=1))                    # (h, T·w, 3)
    return gif, np.concatenate(rows, axis=0)


def write_png(path: str, image: np.ndarray) -> None:
    """Write an (H, W, 3) float image in [0, 1] as PNG, atomically."""
    import imageio.v2 as imageio

    with atomic_path(path) as tmp:
        imageio.imwrite(tmp, (np.clip(image, 0, 1) * 255).round().astype(np.uint8))

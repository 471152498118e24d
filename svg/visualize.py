"""Pictures of rollouts: animated GIFs and image grids, context framed green, predictions red."""
from __future__ import annotations

import numpy as np
import torch

from core.atomic_files import atomic_path, atomic_write


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


def to_uint8(frames) -> np.ndarray:
    """Frames float in [0, 1] (tensor or array, any layout) → uint8 0..255, rounded, as files
    hold them; the one conversion of every writer (GIFs, images, rollouts, predictions). Values
    a hair outside [0, 1] (float rounding of a blend) are clipped first."""
    if torch.is_tensor(frames):
        frames = frames.detach().float().cpu().numpy()
    return (np.clip(np.asarray(frames, dtype=np.float32), 0, 1) * 255).round().astype(np.uint8)


def write_gif(path: str, frames, fps: int = 4) -> None:
    """Write (T, H, W, 3) frames in [0, 1] (tensor or array) as a looping GIF, atomically."""
    import imageio.v2 as imageio

    data = to_uint8(frames)
    with atomic_path(path) as tmp:
        imageio.mimsave(tmp, list(data), duration=1000 / fps, loop=0)


def rollout_gif(path: str, truth: torch.Tensor, samples: torch.Tensor, n_past: int, fps: int = 4) -> None:
    """GIF of :func:`rollout_grid` (rows: sequences; columns: ground truth | samples)."""
    write_gif(path, rollout_grid(truth, samples, n_past), fps)


def framed(videos: torch.Tensor, n_past: int) -> torch.Tensor:
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
    cells = framed(videos, n_past)                                        # (K, T, h, w, 3)
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
        imageio.imwrite(tmp, to_uint8(image))


def flow_to_rgb(flow: torch.Tensor, scale: float) -> torch.Tensor:
    """Colour-wheel picture of a flow: hue is the direction, brightness the length.

    flow : (..., 2, H, W) in pixels (x, y); scale : the length (pixels) shown at full brightness.
    Returns (..., 3, H, W) in [0, 1]: black where nothing moves; red points along +x, and the
    hue turns with the direction (HSV wheel).
    """
    from matplotlib.colors import hsv_to_rgb

    f = flow.detach().float().cpu()
    angle = torch.atan2(f[..., 1, :, :], f[..., 0, :, :])                     # (..., H, W)
    hsv = torch.stack([(angle / (2 * np.pi)) % 1.0, torch.ones_like(angle),
                       (f.norm(dim=-3) / scale).clamp(max=1)], -1)
    return torch.from_numpy(hsv_to_rgb(hsv.numpy())).movedim(-1, -3).float()


def head_grid(video: torch.Tensor, parts, n_past: int) -> np.ndarray:
    """What a motion head did in each predicted frame of a rollout, as one image.

    video : (B, T, C, H, W) one sample's rollout in [0, 1]; parts : ``SVG.generate(...,
    parts=True)``'s dict for that sample, each (B, T − n_past, ·, H, W). Returns an (H', W', 3)
    float image: per sequence, rows frame | appearance | mask (white: the previous frame kept) |
    flow (colour wheel, full brightness at the largest length shown, printed in the label),
    columns the predicted frames.
    """
    future = video[:, n_past:].detach().float().cpu()
    rows = {"frame": future, "appearance": parts["appearance"].cpu(), "mask": parts["mask"].cpu()}
    if "flow" in parts:
        scale = max(float(parts["flow"].norm(dim=2).max()), 1e-3)
        rows[f"flow (full colour = {scale:.2f} px)"] = flow_to_rgb(parts["flow"], scale)
    cells = []
    for label, r in rows.items():
        r = r.expand(-1, -1, 3, -1, -1) if r.shape[2] == 1 else r             # (B, T', 3, H, W)
        r = torch.nn.functional.pad(r, (1, 1, 1, 1), value=0.5)
        b, t, _, h, w = r.shape
        cells.append((label, r.permute(0, 3, 1, 4, 2).reshape(b, h, t * w, 3).numpy()))
    blocks = []
    for i in range(future.shape[0]):
        for label, img in cells:
            blocks.append(_text_row([label], img.shape[2]))
            blocks.append(img[i])
    return np.concatenate(blocks, 0)


def write_samples(base: str, futures: torch.Tensor, n_past: int, settings: dict, scale: int = 2) -> None:
    """``base.gif`` (the samples side by side, labelled, upscaled ``scale`` times) and
    ``base.npz`` (``samples``, uint8 (N, K + T, H, W, C), and each of ``settings``), atomically.

    futures : (N, K + T, C, H, W) float in [0, 1], the K context frames first.
    """
    samples = to_uint8(futures.movedim(-3, -1))                              # (N, K + T, H, W, C)
    videos = np.moveaxis(samples, -1, 2).astype(np.float32) / 255            # (N, K + T, C, H, W)
    labels = [f"sample {k + 1}" for k in range(len(samples))]
    gif, _ = labelled_rollout(torch.from_numpy(videos), labels, n_past, scale)
    write_gif(base + ".gif", gif)
    with atomic_write(base + ".npz", "wb") as f:
        np.savez(f, samples=samples, **{k: np.asarray(v) for k, v in settings.items()})

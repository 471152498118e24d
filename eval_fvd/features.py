"""I3D features of videos in batches, and their statistics."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from tqdm import tqdm

from core.errors import UserError

from .frechet import FeatureStats
from .i3d import I3D
from .preprocess import preprocess


@torch.no_grad()
def i3d_features(model: I3D, videos: torch.Tensor, batch_size: int = 8, progress: bool = False) -> np.ndarray:
    """Logits (N, 400) of videos (N, T, C, H, W) in [0, 1], ``batch_size`` videos at a time.
    ``progress``: a progress bar on stderr (only when it is a terminal)."""
    device = next(model.parameters()).device
    out = []
    with tqdm(total=videos.shape[0], desc="I3D features", unit="video", leave=False,
              disable=None if progress else True) as bar:   # None: off when not a terminal
        for i in range(0, videos.shape[0], batch_size):
            out.append(model(preprocess(videos[i:i + batch_size].to(device).float())).double().cpu().numpy())
            bar.update(out[-1].shape[0])
    return np.concatenate(out)


def video_stats(model: I3D, batches: Iterable[torch.Tensor], batch_size: int = 8,
                progress: bool = False) -> FeatureStats:
    """Streaming statistics over an iterable of video batches (N_i, T, C, H, W) in [0, 1], recording
    the frame count T and size (H, W); batches of another T or size are refused. ``progress``: a
    progress bar per batch (on a terminal)."""
    stats = None
    for videos in batches:
        s = FeatureStats.of(i3d_features(model, videos, batch_size, progress), videos.shape[1],
                            tuple(videos.shape[-2:]))
        stats = s if stats is None else stats.merge(s)
    if stats is None:
        raise UserError("no videos")
    return stats

"""What every model's numbers stand beside: the copy-last-frame floor and the spread of samples.

Copy-last-frame repeats the last context frame for every predicted step. It is the floor of every
video predictor: a model that does not beat it on PSNR, SSIM and LPIPS has not learned the task
(PSNR alone rewards a blurred mean). It is deterministic, so its "best of N" is its one value.

Diversity is the **mean per-pixel standard deviation over the N samples** of a sequence's
predicted frames (sample standard deviation, N − 1 in the denominator), averaged over pixels,
channels, predicted frames and then sequences; values in [0, 0.5] for frames in [0, 1]. N
identical samples give exactly 0, so a collapsed posterior (every sample the same, the blur of
a mean) shows up as a number. Chosen over the mean pairwise LPIPS between samples because it is
exact, needs no network and costs one pass over the samples (pairwise LPIPS costs N(N − 1)/2
network calls per frame: 4950 for N = 100), and because it accumulates exactly over chunks of
samples, which bounded-memory evaluation generates one after another.
"""
from __future__ import annotations

from typing import Optional

import torch


def copy_last_frame(context: torch.Tensor, n_future: int) -> torch.Tensor:
    """The floor's prediction: the last context frame, repeated.

    context : (B, K, C, H, W) float in [0, 1], K ≥ 1. Returns (B, n_future, C, H, W), a view.
    """
    if context.dim() != 5 or context.shape[1] < 1 or n_future < 1:
        raise ValueError(f"copy_last_frame needs context (B, K ≥ 1, C, H, W) and n_future ≥ 1, got "
                         f"{tuple(context.shape)} and {n_future}")
    return context[:, -1:].expand(-1, n_future, -1, -1, -1)


class SampleSpread:
    """Per-sequence diversity of sampled futures, accumulated over chunks of samples.

    ``add(samples)`` takes a chunk (n, B, T, C, H, W) of the same B sequences' predicted frames
    (float in [0, 1]); sums are kept in float64 per pixel, so the result does not depend on how
    the N samples were split into chunks. ``per_sequence()`` returns (B,) the mean over pixels,
    channels and frames of the sample standard deviation over all N samples added.
    """

    def __init__(self):
        self.n = 0
        self.total: Optional[torch.Tensor] = None
        self.total_sq: Optional[torch.Tensor] = None

    def add(self, samples: torch.Tensor) -> None:
        x = samples.detach().to(torch.float64)
        if self.total is None:
            self.total, self.total_sq = x.sum(0), x.pow(2).sum(0)
        else:
            self.total += x.sum(0)
            self.total_sq += x.pow(2).sum(0)
        self.n += samples.shape[0]

    def per_sequence(self) -> torch.Tensor:
        if self.n < 2:
            raise ValueError(f"diversity needs at least 2 samples per sequence, got {self.n}")
        mean = self.total / self.n
        var = (self.total_sq / self.n - mean.pow(2)).clamp_min(0) * (self.n / (self.n - 1))
        return var.sqrt().flatten(1).mean(1).float()

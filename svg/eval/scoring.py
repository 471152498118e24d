"""Best-of-N scoring of sampled futures, as in the SVG evaluation protocol.

For each sequence, N sampled futures are scored per predicted frame; each sample's score is its
mean over the predicted frames; the best sample (highest PSNR/SSIM, lowest LPIPS) is kept; the
report gives the mean of those best scores over sequences with a 95% confidence interval, and the
per-step curve of the best sample averaged over sequences.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

import torch

from core.errors import UserError
from svg.eval.metrics import mean_confidence_interval


@dataclass
class BestOfN:
    """Best-of-N result for one metric.

    per_sample : (N, B, T_pred) metric per sample, sequence and predicted frame.
    best_index : (B,) the chosen sample of each sequence.
    best : (B,) the chosen sample's mean over predicted frames.
    mean, ci95 : mean of ``best`` over sequences and the half-width of its 95% t-interval.
    curve : (T_pred,) the chosen samples' per-frame values averaged over sequences.
    """
    per_sample: torch.Tensor
    best_index: torch.Tensor
    best: torch.Tensor
    mean: float
    ci95: float
    curve: torch.Tensor


def best_of_n(per_sample: torch.Tensor, higher_is_better: bool) -> BestOfN:
    """Select the best of N samples per sequence from per-frame scores (N, B, T_pred)."""
    if per_sample.dim() != 3 or per_sample.shape[0] < 1:
        raise UserError(f"expected per-frame scores (N ≥ 1, B, T), got shape {tuple(per_sample.shape)}")
    over_time = per_sample.mean(-1)                                   # (N, B)
    idx = over_time.argmax(0) if higher_is_better else over_time.argmin(0)
    cols = torch.arange(per_sample.shape[1], device=per_sample.device)
    best = over_time[idx, cols]
    curve = per_sample[idx, cols].mean(0)                             # (T_pred,)
    mean, half = mean_confidence_interval(best)
    return BestOfN(per_sample, idx, best, float(mean), float(half), curve)


def score_samples(truth: torch.Tensor, samples: torch.Tensor, n_past: int,
                  metrics: Dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]],
                  higher_is_better: Dict[str, bool]) -> Dict[str, BestOfN]:
    """Score sampled futures against the ground truth, best of N per metric.

    truth : (B, T, C, H, W) in [0, 1]; samples : (N, B, T, C, H, W) in [0, 1] with the context
    first (as :meth:`models.svg_lp.SVG.generate` returns them). Only frames n_past..T−1 are scored.
    metrics : name → f(a, b) giving per-frame scores over any leading dims.
    """
    if samples.dim() != 6 or samples.shape[1:] != truth.shape:
        raise UserError(f"samples must be (N, B, T, C, H, W) matching truth {tuple(truth.shape)}, "
                        f"got {tuple(samples.shape)}")
    if not 1 <= n_past < truth.shape[1]:
        raise UserError(f"n_past={n_past} must be in [1, T-1] for T={truth.shape[1]}")
    pred = samples[:, :, n_past:]
    target = truth[:, n_past:].unsqueeze(0).expand_as(pred)
    return {name: best_of_n(fn(pred, target), higher_is_better[name]) for name, fn in metrics.items()}

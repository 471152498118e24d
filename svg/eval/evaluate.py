"""Best-of-N evaluation of a model on a dataset, built on the metric registry.

For each sequence, N futures are sampled from the learned prior, each predicted frame is scored
by every metric, each sample's score is its mean over the predicted frames, the best of N is kept
per sequence and per metric, and the result is the mean over sequences with a 95% confidence
interval and the per-step curve of the best samples. Optionally also the test NLL / KL with
teacher forcing, and FVD (:mod:`svg.eval.fvd`).

Memory is bounded by design: the samples are generated and scored in chunks sized from a memory
budget (:mod:`svg.eval.memory`), whatever batch size is asked for. The random draws of each
sequence come from a generator seeded by (seed, the sequence's index in the split), drawn for
all N samples in one fixed order, so the results do not depend on the chunking, the batch size
or the device's random stream.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from core.devices import tf32
from core.errors import UserError
from core.settings import out_of_range
from svg.config import EvalConfig
from svg.eval.baselines import SampleSpread, beside_the_floor, copy_last_scores
from svg.eval.fvd import FVDAccumulator
from svg.eval.memory import chunk_plan
from svg.eval.registry import Scorer, get_metrics, selection_rule
from models.svg_lp import SVG, eval_mode
from svg.eval.scoring import BestOfN, best_of_n
from svg.timing import duration_words


def check_options(cfg: EvalConfig) -> None:
    """Refuse out-of-range options (their ranges are declared with :class:`EvalConfig`'s fields)
    with a :class:`UserError` naming the option as its command-line flag, and its range.

    0 is a value, never "not given": only None (n_past, n_future, max_videos, max_memory) means
    "use the default". The seed may be any integer.
    """
    bad = out_of_range(cfg)
    if bad is not None:
        key, value, words = bad
        raise UserError(f"--{key.replace('_', '-')} must be {words}, got {value!r}")


def resolve_lengths(cfg: EvalConfig, model: SVG, eval_n_future: int) -> EvalConfig:
    """``cfg`` with n_past / n_future filled in where not given (None): the model's context, the
    dataset's eval length; options are checked once, by the caller (:func:`check_options`)."""
    if cfg.n_future is None and eval_n_future < 1:
        raise UserError(f"data.eval_n_future must be >= 1 (or give --n-future), got {eval_n_future}")
    return dataclasses.replace(cfg, n_past=model.cfg.n_past if cfg.n_past is None else cfg.n_past,
                               n_future=eval_n_future if cfg.n_future is None else cfg.n_future)


def check_eval_config(cfg: EvalConfig, n_available: int, split: str) -> int:
    """The number of videos to score (``max_videos`` of ``n_available``); an empty split raises
    :class:`UserError`."""
    if n_available < 1:
        raise UserError(f"the {split} split holds no videos")
    return n_available if cfg.max_videos is None else min(cfg.max_videos, n_available)


def sequence_noise(seed: int, index: int, n_samples: int, steps: int, seq_len: int, z_dim: int
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The random draws of sequence ``index``: (N, steps, z_dim) for its N rollouts (see
    :meth:`SVG.generate`'s ``eps``) and (seq_len − 1, z_dim) for its teacher-forced likelihood,
    from a CPU generator seeded by (seed, index) through numpy's ``SeedSequence``."""
    state = np.random.SeedSequence(seed % 2 ** 64, spawn_key=(index,)).generate_state(1, np.uint64)
    gen = torch.Generator().manual_seed(int(state[0]))
    return (torch.randn((n_samples, steps, z_dim), generator=gen),
            torch.randn((seq_len - 1, z_dim), generator=gen))


def protocol(cfg: EvalConfig, n_videos: int, source_videos: Optional[int] = None,
             likelihood: Optional[str] = None) -> Dict[str, Any]:
    """The choices behind the numbers, as written into ``metrics.json``: ``videos`` counts the
    sequences scored; ``source_videos``, when given, the videos they are clips of; ``likelihood``,
    when given, names the decoder whose test NLL was measured."""
    seq_len = cfg.n_past + cfg.n_future
    nll = {} if likelihood is None else {"likelihood": (
        f"{likelihood} with its test-time σ (optimal σ: running average from training); NLL summed "
        f"over frames 2..{seq_len} and divided by their values; posterior z, teacher forcing; "
        f"test_sigma is the decoder σ per sequence (root mean σ² for per-pixel σ; the "
        f"equivalent σ for mse), averaged over sequences")}
    text = {m.name: m.protocol(cfg) for m in get_metrics(cfg.metrics)}
    clips = {} if source_videos is None else {"source_videos": source_videos}
    return {"videos": n_videos, **clips, "seed": cfg.seed, "n_past": cfg.n_past, "n_future": cfg.n_future,
            "n_samples": cfg.n_samples,
            "frames_scored": f"{cfg.n_past + 1}..{seq_len} (1-based), the predicted frames only",
            "selection": "per sequence and per metric, the sample with the best metric averaged over "
                         f"the predicted frames ({selection_rule(get_metrics(cfg.metrics))}); mean "
                         "over sequences with a 95% Student-t interval",
            "data_range": "frames float in [0, 1]", **text, **nll}


@tf32(False)   # GPU metrics must equal the CPU's; TF32 would move them by ~1e-3
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
    ``protocol``, ``chunking`` (:func:`svg.eval.memory.chunk_plan`), the :class:`BestOfN`
    results under ``results``, the floor beside them (``copy_last_frame``,
    ``beats_copy_last_frame``: see :func:`svg.eval.baselines.beside_the_floor`), ``diversity`` of
    the samples (N ≥ 2), and with ``cfg.likelihood`` ``test_nll_per_dim``, ``kl_per_frame``,
    ``test_sigma``. TF32 is off throughout, on any device.
    """
    from tqdm import tqdm

    check_options(cfg)
    device = next(model.parameters()).device
    n_videos = check_eval_config(cfg, len(dataset), "evaluation")
    metrics = get_metrics(cfg.metrics)
    scorers = {m.name: m.scorer(device, cfg) for m in metrics}
    plan = chunk_plan(model, cfg, device)
    scores: Dict[str, List[torch.Tensor]] = {m.name: [] for m in metrics}
    floor: Dict[str, List[torch.Tensor]] = {m.name: [] for m in metrics}
    diversity: List[torch.Tensor] = []
    terms: Dict[str, List[torch.Tensor]] = {"nll": [], "kl": [], "sigma": []}
    began = time.perf_counter()
    for start in tqdm(range(0, n_videos, plan["sequences"]), disable=not progress, desc="evaluate",
                      dynamic_ncols=True):
        indices = range(start, min(start + plan["sequences"], n_videos))
        x = torch.stack([clip_video(dataset[i], cfg.n_past + cfg.n_future) for i in indices]).to(device)
        noise, lik_noise = _batch_noise(model, cfg, indices)
        spread = SampleSpread() if cfg.n_samples > 1 else None
        for name, value in score_sequences(model, x, noise, cfg, scorers, plan["samples"], fvd,
                                           spread).items():
            scores[name].append(value)
        for name, value in copy_last_scores(x, cfg, scorers).items():
            floor[name].append(value)
        diversity += [spread.per_sequence()] if spread is not None else []
        if cfg.likelihood and x.shape[1] >= model.cfg.n_past + 1:
            _likelihood_terms(model, x, lik_noise.to(device), terms)
        if progress and start == 0:   # measured, so the user can stop a long one at once
            tqdm.write(time_estimate(time.perf_counter() - began, len(indices), n_videos, cfg),
                       file=sys.stderr)
    asked = protocol(cfg, n_videos, _source_videos(dataset, n_videos),
                     model.cfg.likelihood.name if terms["nll"] else None)
    results: Dict[str, BestOfN] = {m.name: best_of_n(torch.cat(scores[m.name], 1), m.higher_is_better)
                                   for m in metrics}
    report: Dict[str, Any] = {
        "metrics": {k: {"mean": r.mean, "ci95": r.ci95} for k, r in results.items()},
        "per_step": {k: r.curve.tolist() for k, r in results.items()},
        "protocol": asked, "chunking": plan, "results": results,
        **beside_the_floor(results, floor, diversity, metrics)}
    if terms["nll"]:
        report.update(test_nll_per_dim=float(torch.cat(terms["nll"]).mean()),
                      kl_per_frame=float(torch.cat(terms["kl"]).mean()),
                      test_sigma=float(torch.cat(terms["sigma"]).mean()))
    return report


def _source_videos(dataset: Dataset, n: int) -> Optional[int]:
    """The videos the first ``n`` items are clips of, when the dataset cuts several from one."""
    count = getattr(dataset, "source_videos", lambda n: None)(n)
    return None if count is None or count == n else count


#: the settings the estimate suggests for a quick look
QUICK = "--max-videos 16 --n-samples 10"


def time_estimate(seconds: float, done: int, total: int, cfg: EvalConfig) -> str:
    """The line shown after the first batch: what ``done`` sequences took, what all ``total``
    will take at that pace, and the options of a quick look."""
    rest = seconds / max(done, 1) * total
    return (f"evaluate: the first {done} sequence(s) took {duration_words(seconds)}: about "
            f"{duration_words(rest)} for all {total} at {cfg.n_samples} samples each; for a quick "
            f"look stop it (Ctrl-C) and give {QUICK}")


def _batch_noise(model: SVG, cfg: EvalConfig, indices: Sequence[int]
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Rollout noise (N, B, n_past − 1 + n_future, z_dim) and likelihood noise (B, T − 1, z_dim)
    of the sequences ``indices``, each from its own generator (:func:`sequence_noise`)."""
    seq_len = cfg.n_past + cfg.n_future
    draws = [sequence_noise(cfg.seed, i, cfg.n_samples, seq_len - 1, seq_len, model.cfg.z_dim)
             for i in indices]
    return torch.stack([d[0] for d in draws], 1), torch.stack([d[1] for d in draws])


def score_sequences(model: SVG, x: torch.Tensor, noise: torch.Tensor, cfg: EvalConfig,
                    scorers: Dict[str, Scorer], chunk: int,
                    fvd: Optional[FVDAccumulator] = None,
                    spread: Optional[SampleSpread] = None) -> Dict[str, torch.Tensor]:
    """Per-frame scores (N, B, n_future) of N rollouts of the sequences x (B, T, C, H, W),
    generated and scored ``chunk`` samples at a time; sample n of sequence b uses noise[n, b]
    (N, B, n_past − 1 + n_future, z_dim), so the scores do not depend on ``chunk``. With ``fvd``,
    it is fed x and sample 0 of each sequence (the samples are i.i.d., so a random one); with
    ``spread``, every chunk of predicted frames (their diversity)."""
    target = x[:, cfg.n_past:]
    parts: Dict[str, List[torch.Tensor]] = {name: [] for name in scorers}
    for first in range(0, noise.shape[0], chunk):
        eps = noise[first:first + chunk]
        samples = model.generate(x[:, :cfg.n_past], cfg.n_future, eps.shape[0], eps=eps)
        pred = samples[:, :, cfg.n_past:]
        for name, score in scorers.items():
            parts[name].append(score(pred, target.unsqueeze(0).expand_as(pred)).cpu())
        if fvd is not None and first == 0:
            fvd.update(x, samples[0])
        if spread is not None:
            spread.add(pred)
        del samples, pred   # freed before the next chunk is generated
    return {name: torch.cat(p, 0) for name, p in parts.items()}


def _likelihood_terms(model: SVG, x: torch.Tensor, eps: torch.Tensor,
                      terms: Dict[str, List[torch.Tensor]]) -> None:
    """Append the batch's NLL per dimension, KL per frame and σ (teacher forcing, noise ``eps``)."""
    with eval_mode(model):
        out = model.loss(x, eps=eps)
    terms["nll"].append((out.nll / out.n_dims).cpu())
    terms["sigma"].append(out.sigma.cpu())
    terms["kl"].append((out.kl / (x.shape[1] - 1)).cpu())


def clip_video(video: torch.Tensor, seq_len: int) -> torch.Tensor:
    """The first ``seq_len`` frames of a dataset item (T, C, H, W), or a ``ValueError`` saying why not."""
    if not torch.is_tensor(video):
        raise UserError(f"dataset items must be (T, C, H, W) tensors, got {type(video).__name__}")
    if video.shape[0] < seq_len:
        raise UserError(f"videos have {video.shape[0]} frames; n_past + n_future = {seq_len} do not fit")
    return video[:seq_len]

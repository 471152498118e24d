"""``svg generate``: per test sequence, a labelled GIF and PNG strip of rollouts.

Columns: ground truth | posterior reconstruction | best sample (highest PSNR over the predicted
frames among N) | a few random samples. Context frames are framed green, predicted frames red.
"""
from __future__ import annotations

import argparse
import os

import torch

from core.owned_files import OVERWRITE_HELP, check_writable, refuse_existing
from core.errors import UserError
from svg.data import make_dataset
from core.devices import pick_device
from svg.eval.evaluate import clip_video
from svg.eval.metrics import psnr
from svg.checkpoints import RAW_WEIGHTS_HELP, load_model
from svg.visualize import labelled_rollout, write_gif, write_png


@torch.no_grad()
def rollout_columns(model, x: torch.Tensor, n_past: int, n_future: int, n_samples: int, show: int,
                    generator: torch.Generator):
    """The columns of one sequence's rollout figure.

    x : (1, T, C, H, W) in [0, 1] with T >= n_past + n_future. Returns videos (3 + show, T, C, H, W)
    on the CPU — truth, posterior reconstruction, best of ``n_samples`` by PSNR over the predicted
    frames, ``show`` random samples — and their labels.
    """
    seq_len = n_past + n_future
    x = x[:, :seq_len]
    samples = model.generate(x[:, :n_past], n_future, n_samples, generator=generator)[:, 0]
    rec = model.reconstruct(x, generator=generator)[0] if seq_len > model.cfg.n_past else x[0]
    score = psnr(samples[:, n_past:], x[0, n_past:].expand_as(samples[:, n_past:])).mean(1)
    best = int(score.argmax())
    videos = torch.stack([x[0], rec, samples[best], *samples[:show]]).cpu()
    labels = ["truth", "posterior", f"best of {n_samples}"] + [f"sample {k + 1}" for k in range(show)]
    return videos, labels


def check_rollout_args(n_samples: int, show, max_videos: int, n_past, n_future, scale: int) -> int:
    """Validate ``svg generate``'s numbers before anything is loaded or created; returns ``show``
    (None → min(3, n_samples))."""
    show = min(3, n_samples) if show is None else show
    for name, value, low in (("n_samples", n_samples, 1), ("max_videos", max_videos, 1),
                             ("scale", scale, 1), ("show", show, 0), ("n_past", n_past, 1),
                             ("n_future", n_future, 1)):
        if value is not None and value < low:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be at least {low}")
    if show > n_samples:
        raise UserError(f"--show {show} random samples cannot exceed --n-samples {n_samples}")
    return show


@torch.no_grad()
def write_rollouts(run: str, out: str, n_samples: int = 20, show=None, max_videos: int = 8,
                   n_past=None, n_future=None, scale: int = 2, seed: int = 0, split: str = "test",
                   device: str = "auto", raw_weights: bool = False, overwrite: bool = False) -> list:
    """Write ``video_<i>.gif`` and ``video_<i>.png`` for the first test sequences; returns paths.

    ``show`` random samples are shown (default min(3, n_samples)) next to the best of
    ``n_samples``; frames are upscaled ``scale`` times. Bad numbers, and an output folder that
    cannot be written, raise ``UserError`` before anything is loaded or created; so do files
    already at the output names, unless ``overwrite``.
    """
    show = check_rollout_args(n_samples, show, max_videos, n_past, n_future, scale)
    check_writable(out, "--out")
    dev = pick_device(device)
    model, cfg, _, _ = load_model(run, dev, raw_weights)
    n_past = cfg.model.n_past if n_past is None else n_past
    n_future = cfg.data.eval_n_future if n_future is None else n_future
    dataset = make_dataset(cfg.data, split, n_past + n_future)
    n_videos = min(max_videos, len(dataset))
    bases = [os.path.join(out, f"video_{i:04d}") for i in range(n_videos)]
    refuse_existing([base + ext for base in bases for ext in (".gif", ".png")], overwrite)
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator(device=dev).manual_seed(seed)
    written = []
    for i, base in enumerate(bases):
        x = clip_video(dataset[i], n_past + n_future).unsqueeze(0).to(dev)
        videos, labels = rollout_columns(model, x, n_past, n_future, n_samples, show, gen)
        gif, strip = labelled_rollout(videos, labels, n_past, scale)
        write_gif(base + ".gif", gif)
        write_png(base + ".png", strip)
        written += [base + ".gif", base + ".png"]
    return written


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run folder or checkpoint")
    p.add_argument("--out", required=True, help="folder for the GIFs and PNG strips")
    p.add_argument("--n-samples", type=int, default=20, help="samples drawn to pick the best from")
    p.add_argument("--show", type=int, default=None,
                   help="random samples shown (default: 3, or --n-samples if fewer)")
    p.add_argument("--max-videos", type=int, default=8)
    p.add_argument("--n-past", type=int, default=None)
    p.add_argument("--n-future", type=int, default=None)
    p.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling factor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="test")
    p.add_argument("--device", default="auto")
    p.add_argument("--raw-weights", action="store_true", help=RAW_WEIGHTS_HELP)
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def run(args: argparse.Namespace) -> int:
    paths = write_rollouts(args.run, args.out, args.n_samples, args.show, args.max_videos, args.n_past,
                           args.n_future, args.scale, args.seed, args.split, args.device,
                           args.raw_weights, args.overwrite)
    print(f"wrote {len(paths) // 2} GIFs and PNG strips to {args.out}")
    return 0

"""A short training loop (the full trainer with configs, checkpoints and logging comes later).

``svg train`` / ``train_svg.py`` train SVG-LP for a number of steps, print the terms of the
objective with a progress bar, and write a GIF of prior rollouts (ground truth | samples).
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Callable, Dict, List

import numpy as np
import torch
from tqdm import tqdm

from data_loaders.moving_squares import moving_squares
from models import BACKBONES

from .config import LikelihoodConfig, ModelConfig
from .likelihoods import LIKELIHOODS
from .model import SVG


def pick_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; any other name is passed to torch.device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train_steps(model: SVG, optimizer: torch.optim.Optimizer, next_batch: Callable[[], torch.Tensor],
                steps: int, progress: bool = True) -> List[Dict[str, float]]:
    """Run ``steps`` Adam steps on batches from ``next_batch()`` ((B, T, C, H, W) in [0, 1]).

    Returns one dict per step with the batch means of total, nll_per_dim, kl and sigma.
    """
    model.train()
    history = []
    bar = tqdm(range(steps), disable=not progress, desc="train", dynamic_ncols=True)
    for _ in bar:
        out = model.loss(next_batch())
        optimizer.zero_grad(set_to_none=True)
        out.objective().backward()
        optimizer.step()
        row = {"total": out.total.mean().item(), "nll_per_dim": out.nll.mean().item() / out.n_dims,
               "kl": out.kl.mean().item(), "sigma": out.sigma.mean().item()}
        history.append(row)
        bar.set_postfix(loss=f"{row['total']:.1f}", nll=f"{row['nll_per_dim']:.3f}",
                        kl=f"{row['kl']:.2f}", sigma=f"{row['sigma']:.3f}")
    return history


def rollout_gif(path: str, truth: torch.Tensor, samples: torch.Tensor, n_past: int, fps: int = 4) -> None:
    """Write an animated GIF: one row per sequence, columns ground truth | samples.

    truth : (B, T, C, H, W) in [0, 1]; samples : (N, B, T, C, H, W) in [0, 1]. Context frames get a
    green border, predicted frames a red one. Written to a temporary name, then renamed.
    """
    import imageio.v2 as imageio

    videos = torch.cat([truth.unsqueeze(0), samples], 0).detach().float().cpu()   # (1+N, B, T, C, H, W)
    if videos.shape[3] == 1:
        videos = videos.expand(-1, -1, -1, 3, -1, -1)
    videos = torch.nn.functional.pad(videos, (2, 2, 2, 2), value=0.0)
    t_len = videos.shape[2]
    colour = torch.tensor([[0.0, 0.8, 0.0] if t < n_past else [0.9, 0.0, 0.0] for t in range(t_len)])
    border = torch.ones_like(videos[0, 0, 0, 0], dtype=torch.bool)
    border[2:-2, 2:-2] = False
    videos = torch.where(border, colour.view(1, 1, t_len, 3, 1, 1), videos)
    # (cols, rows, T, 3, h, w) → frames (T, rows·h, cols·w, 3)
    cols, rows, _, _, h, w = videos.shape
    grid = videos.permute(2, 1, 4, 0, 5, 3).reshape(t_len, rows * h, cols * w, 3)
    frames = (grid.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    tmp = f"{path}.tmp-{os.getpid()}.gif"
    imageio.mimsave(tmp, list(frames), duration=1000 / fps, loop=0)
    os.replace(tmp, path)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help="the CPU demo: a small SVG-LP on bouncing squares, ~3 minutes on 2 cores")
    p.add_argument("--steps", type=int, default=None, help="training steps (demo: 400)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--n-past", type=int, default=5)
    p.add_argument("--n-future", type=int, default=5)
    p.add_argument("--backbone", default="dcgan64", choices=sorted(BACKBONES))
    p.add_argument("--likelihood", default="optimal", choices=sorted(LIKELIHOODS))
    p.add_argument("--width", type=int, default=64, help="backbone width (paper: 64)")
    p.add_argument("--g-dim", type=int, default=128)
    p.add_argument("--z-dim", type=int, default=10)
    p.add_argument("--rnn-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/demo", help="folder for the rollout GIF")


def run(args: argparse.Namespace) -> int:
    if args.demo:
        args.width, args.g_dim, args.rnn_size = 32, 64, 128
    steps = args.steps if args.steps is not None else (400 if args.demo else 1000)
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    cfg = ModelConfig(backbone=args.backbone, width=args.width, g_dim=args.g_dim, z_dim=args.z_dim, rnn_size=args.rnn_size,
                      n_past=args.n_past, likelihood=LikelihoodConfig(name=args.likelihood))
    model = SVG(cfg).to(device)
    size, seq_len = model.image_size, args.n_past + args.n_future
    gen = torch.Generator().manual_seed(args.seed)
    print(f"device {device} ({torch.get_num_threads()} threads), backbone {cfg.backbone}, likelihood "
          f"{cfg.likelihood.name}, data: bouncing squares {size}px, {seq_len} frames, batch "
          f"{args.batch_size}, {steps} steps")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999))
    start = time.perf_counter()
    hist = train_steps(model, opt, lambda: moving_squares(args.batch_size, seq_len, size,
                                                          generator=gen).to(device), steps)
    elapsed = time.perf_counter() - start
    first, last = hist[0], np.mean([h["total"] for h in hist[-20:]])
    print(f"loss {first['total']:.1f} → {last:.1f} (mean of last 20 steps); "
          f"{steps * args.batch_size / elapsed:.1f} sequences/s")
    os.makedirs(args.out, exist_ok=True)
    test = moving_squares(4, seq_len, size, generator=torch.Generator().manual_seed(12345)).to(device)
    samples = model.generate(test[:, :args.n_past], args.n_future, n_samples=3,
                             generator=torch.Generator(device=device).manual_seed(0))
    path = os.path.join(args.out, "rollouts.gif")
    rollout_gif(path, test, samples, args.n_past)
    print(f"wrote {path} (rows: sequences; columns: ground truth | 3 prior samples; "
          f"green = context, red = predicted)")
    return 0

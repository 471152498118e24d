"""``svg train`` / ``train_svg.py``: train SVG-LP from a YAML config plus ``key=value`` overrides.

    python train_svg.py --config configs/smmnist.yaml train.batch_size=32 run_dir=runs/sm
    torchrun --nproc_per_node=4 train_svg.py --config configs/bair.yaml run_dir=runs/bair

Re-running with the same ``run_dir`` resumes from its latest checkpoint.
"""
from __future__ import annotations

import argparse
import logging
import os

from .checkpoint import latest_checkpoint
from .config import load_config

DEMO_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs",
                           "smmnist_demo.yaml")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config (see configs/); defaults apply to missing keys")
    p.add_argument("--demo", action="store_true", help=f"use the CPU demo config ({DEMO_CONFIG})")
    p.add_argument("--resume", action="store_true",
                   help="require a checkpoint in run_dir to continue from (re-running resumes anyway)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="dotted config overrides, e.g. train.lr=1e-3 model.likelihood.name=mse")


def run(args: argparse.Namespace) -> int:
    from .trainer import train

    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.demo and args.config:
        raise SystemExit("give either --demo or --config, not both")
    cfg = load_config(DEMO_CONFIG if args.demo else args.config, args.overrides)
    if args.resume and latest_checkpoint(cfg.run_dir) is None:
        raise SystemExit(f"--resume: no checkpoint in {cfg.run_dir}")
    summary = train(cfg, progress=not args.no_progress)
    if rank == 0:
        print(f"run folder {cfg.run_dir}: checkpoints, config.yaml, tensorboard/, gifs/, "
              f"rollouts.gif, summary.json")
        if "metrics" in summary:
            m = summary["metrics"]
            print(f"best-of-{summary['protocol']['samples_per_sequence']} on "
                  f"{summary['protocol']['sequences']} test sequences: PSNR {m['psnr']['mean']:.2f} "
                  f"± {m['psnr']['ci95']:.2f} dB, SSIM {m['ssim']['mean']:.4f} ± {m['ssim']['ci95']:.4f}")
    return 0

"""``svg train`` / ``train_svg.py``: train SVG-LP from a YAML config plus ``key=value`` overrides.

    python train_svg.py --config configs/smmnist.yaml train.batch_size=32 run_dir=runs/sm
    torchrun --nproc_per_node=4 train_svg.py --config configs/bair.yaml run_dir=runs/bair

Re-running with the same ``run_dir`` resumes from its newest intact checkpoint. The loop itself
is :func:`svg.train.loop.train`.
"""
from __future__ import annotations

import argparse
import logging
import os

from svg.config.read import read_config
from svg.train.log import LOG_FORMAT, kept_records

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_CONFIG = os.path.join(REPO, "configs", "smmnist_demo.yaml")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config (see configs/); defaults apply to missing keys")
    p.add_argument("--demo", action="store_true", help=f"use the CPU demo config ({DEMO_CONFIG})")
    p.add_argument("--resume", action="store_true",
                   help="require a checkpoint in run_dir to continue from (re-running resumes anyway)")
    p.add_argument("--resume-from", metavar="CKPT", default=None,
                   help="restart from this checkpoint with the given settings (e.g. the last good one "
                        "before a divergence); same as train.resume_from")
    p.add_argument("--strict-resume", action="store_true",
                   help="refuse to resume when any setting differs from the checkpoint's")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="train in a folder that is no run folder but holds files the trainer "
                        "writes (config.yaml, best.pt, ...); default: refuse, naming one")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="dotted config overrides, e.g. train.lr=1e-3 model.likelihood.name=mse")


def run(args: argparse.Namespace) -> int:
    from svg.train.loop import train

    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format=LOG_FORMAT)
    if args.demo and args.config:
        raise SystemExit("give either --demo or --config, not both")
    with kept_records() as setup:   # shown now, and written to train.log once it is open
        cfg = read_config(DEMO_CONFIG if args.demo else args.config, args.overrides)
    train(cfg, progress=not args.no_progress, resume_from=args.resume_from,
          strict_resume=args.strict_resume, earlier_log=setup, overwrite=args.overwrite,
          require_checkpoint=args.resume)
    return 0

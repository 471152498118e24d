"""The ``svg`` command: one entry point, one subcommand per job.

Each subcommand lives in the module that does its work; this file only wires names to them, so
importing it stays cheap (heavy modules are imported when their subcommand runs).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

# name -> (module, help). A module provides ``add_arguments(parser)`` and ``run(args) -> int``.
SUBCOMMANDS = {
    "train": ("svg.train", "train SVG-LP (same as train_svg.py)"),
    "evaluate": ("svg.evaluate", "best-of-N PSNR/SSIM/LPIPS of a trained run, with the protocol"),
    "generate": ("svg.rollout_videos", "labelled rollout GIFs and PNG strips of test sequences"),
    "fvd": ("eval_fvd.cli", "Fréchet Video Distance between two sets of videos (I3D, offline)"),
    "convert-bair": ("data_loaders.bair_convert",
                     "convert BAIR softmotion30_44k TFRecords into the fast on-disk format"),
    "convert-kth": ("data_loaders.kth_convert", "decode the KTH videos once into memory-mapped arrays"),
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: lists the subcommands (their own arguments load with them)."""
    parser = argparse.ArgumentParser(
        prog="svg", description="svg-sigma: train, sample and benchmark stochastic video predictors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``svg COMMAND [options]``; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS:
        build_parser().parse_args(argv)  # prints help, or the error naming the valid commands
        return 2
    name = argv[0]
    module = importlib.import_module(SUBCOMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"svg {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

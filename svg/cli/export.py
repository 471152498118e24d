"""``svg export --run RUN OUT``: a trained model as one small file to share or ship.

The file holds the weights (float16 unless ``--fp32``), the config and the step, and nothing of
the optimiser; ``svg evaluate``, ``svg generate``, ``svg predict`` and ``svg.Predictor`` take it
as ``--run`` like a run folder.
"""
from __future__ import annotations

import argparse

from core.owned_files import OVERWRITE_HELP, refuse_existing
from svg.checkpoints import RAW_WEIGHTS_HELP, export_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="run folder (uses best.pt, else the latest "
                                                "checkpoint) or a checkpoint file")
    p.add_argument("out", help="file to write, e.g. smmnist_sigma.pt")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default: float16)")
    p.add_argument("--raw-weights", action="store_true", help=RAW_WEIGHTS_HELP)
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def run(args: argparse.Namespace) -> int:
    refuse_existing([args.out], args.overwrite, "choose another file name")
    info = export_model(args.run, args.out, half=not args.fp32, raw_weights=args.raw_weights)
    print(f"{info['source']} (step {info['step']}) → {args.out}: {info['dtype']} {info['weights']} weights, "
          f"{info['bytes'] / 2**20:.1f} MiB")
    return 0

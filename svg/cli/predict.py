"""``svg predict``: sampled futures of your own clips (videos, GIFs, frame folders, .npy arrays).

For each clip it writes ``OUT/<name>.pred.gif`` — the context, then every sample side by side,
labelled; context frames framed green, predicted ones red — and ``OUT/<name>.pred.npz`` holding
``samples``, uint8 (N, K + T, H, W, C) with the K context frames first, and the settings used.
The ``.pred`` names never collide with a clip's own file, and a file already at one of them is
refused before anything is written, unless ``--overwrite``.
"""
from __future__ import annotations

import argparse
import os
from typing import List

from core.errors import UserError
from core.owned_files import OVERWRITE_HELP, refuse_existing
from data_loaders.videos.files import RESIZE_MODES, read_contexts

from svg.predict import Predictor
from svg.visualize import write_samples
from svg.checkpoints import RAW_WEIGHTS_HELP

DEFAULT_OUT = "predictions"
SCALE = 2   # nearest-neighbour upscaling of the GIFs, as ``svg generate`` draws them
SUFFIX = ".pred"   # <name>.pred.gif: never the name of the clip it was predicted from


def check_numbers(args: argparse.Namespace) -> None:
    """Refuse an out-of-range number in one line naming its option (None = not given)."""
    for name, low in (("n_past", 1), ("n_future", 1), ("n_samples", 1), ("start", 0)):
        value = getattr(args, name)
        if value is not None and value < low:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be at least {low}")


def predict_inputs(args: argparse.Namespace) -> List[str]:
    """Predict every clip of ``args.inputs``; returns the written names (without extension)."""
    check_numbers(args)
    predictor = Predictor.from_run(args.run, args.device, args.raw_weights)
    n_past = predictor.n_past if args.n_past is None else args.n_past
    n_future = predictor.config.data.eval_n_future if args.n_future is None else args.n_future
    n_samples = 1 if args.n_samples is None else args.n_samples
    contexts = read_contexts(args.inputs, n_past, args.start, predictor.image_size,
                             predictor.channels, args.resize)
    seen = {}
    for name, path, *_ in contexts:   # all inputs are read before anything is written
        if name in seen:
            raise UserError(f"{seen[name]} and {path} would both be written as {name}{SUFFIX}.gif "
                            f"and {name}{SUFFIX}.npz; rename one of them")
        seen[name] = path
    bases = [os.path.join(args.out, name + SUFFIX) for name, *_ in contexts]
    refuse_existing([base + ext for base in bases for ext in (".gif", ".npz")], args.overwrite)
    os.makedirs(args.out, exist_ok=True)
    written = []
    for base, (name, path, clip, first, context) in zip(bases, contexts):
        # each clip is seeded alone: its futures do not depend on the other inputs given
        futures = predictor.predict(context, n_future, n_samples, seed=args.seed, n_past=n_past)
        settings = dict(run=args.run, checkpoint=predictor.checkpoint, step=predictor.step,
                        n_past=n_past, n_future=n_future, n_samples=n_samples, start=first,
                        seed=args.seed, input=path, clip=clip, resize=args.resize)
        write_samples(base, futures, n_past, settings, SCALE)
        written.append(base)
    return written


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="a video (.mp4 .avi .mov .mkv .webm), a GIF, a folder of frame images "
                        "(.png/.jpg, ordered by the number in their names) or a .npy array: "
                        "(T, H, W[, C]) is one clip, (N, T, H, W[, C]) N clips; a 4-D array whose "
                        "last axis is 1 or 3 is (T, H, W, C)")
    p.add_argument("--run", required=True, help="run folder (its best.pt, else latest ckpt_*.pt) "
                                                "or checkpoint file")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"folder for <name>{SUFFIX}.gif and <name>{SUFFIX}.npz (default: ./{DEFAULT_OUT})")
    p.add_argument("--n-past", type=int, default=None,
                   help="context frames K (default: the model's n_past)")
    p.add_argument("--n-future", type=int, default=None,
                   help="frames to predict (default: the run's data.eval_n_future)")
    p.add_argument("--n-samples", type=int, default=None, help="futures per clip (default: 1)")
    p.add_argument("--start", type=int, default=None,
                   help="context = frames START .. START+K-1 (0-based; default: the last K frames)")
    p.add_argument("--seed", type=int, default=0, help="seeds every clip's samples alike (default: 0)")
    p.add_argument("--resize", choices=RESIZE_MODES, default="crop",
                   help="crop: shorter side to the model's size, centre kept (default); squash: "
                        "both sides scaled, aspect ratio not kept")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--raw-weights", action="store_true", help=RAW_WEIGHTS_HELP)
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def run(args: argparse.Namespace) -> int:
    written = predict_inputs(args)
    print(f"wrote {len(written)} prediction{'' if len(written) == 1 else 's'} ({SUFFIX}.gif and {SUFFIX}.npz) "
          f"to {args.out}")
    return 0

"""The ``svg`` command: one entry point, one subcommand per job.

Each subcommand lives in the module that does its work; this file only wires names to them, so
importing it stays cheap (heavy modules are imported when their subcommand runs).

How errors reach the user
-------------------------
By type, not by where or how an exception was raised: bad input (a config key or value, an
argument, a data file, a checkpoint) raises :class:`core.errors.UserError` (or a subclass:
``MissingFile``, ``MissingEntry``, ``TrainingDiverged``, ``CorruptCheckpoint``) with a plain
message naming the file, key or value, in ``svg``, ``models``, ``data_loaders`` and ``eval_fvd``
alike. A UserError — also one raised in a DataLoader worker, which :mod:`svg.train.batches` carries back
to the main process as the original exception — or a ``SystemExit`` carrying a message is printed
as ``svg COMMAND: error: MESSAGE`` plus a hint line on stderr, without a traceback, and the exit
status is 2 (as for argparse's own errors). Every other exception, including a ``ValueError`` or
``OSError`` raised by a library (torch, numpy, ...) or by a bug, keeps its full traceback.
``--debug`` (before or after the command) or ``SVG_DEBUG=1`` shows the traceback of user errors
too. Warnings written for the user (:class:`core.errors.InputWarning`) print as one plain line,
``svg COMMAND: warning: MESSAGE``. The handling itself is :func:`core.errors.run_command`,
shared with ``python -m eval_fvd`` (which must not import ``svg``).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from core.errors import EXIT_USER_ERROR, debug_requested, run_command

# name -> (module, help). A module provides ``add_arguments(parser)`` and ``run(args) -> int``.
SUBCOMMANDS = {
    "train": ("svg.cli.train", "train SVG-LP (same as train_svg.py)"),
    "evaluate": ("svg.cli.evaluate", "best-of-N PSNR/SSIM/LPIPS of a trained run, with the protocol"),
    "report": ("svg.cli.report", "the HTML page of an evaluation folder, or of several side by side"),
    "generate": ("svg.cli.generate", "labelled rollout GIFs and PNG strips of test sequences"),
    "predict": ("svg.cli.predict", "sampled futures of your own videos, GIFs, frame folders or .npy clips"),
    "export": ("svg.cli.export", "a trained model as one small file (weights and config) to share"),
    "fvd": ("eval_fvd.cli", "Fréchet Video Distance between two sets of videos (I3D, offline)"),
    "download": ("svg.cli.download",
                 "fetch BAIR, KTH or MNIST (resumable, verified), unpack and convert it into DIR"),
    "convert-bair": ("data_loaders.bair.convert",
                     "convert BAIR softmotion30_44k TFRecords into the fast on-disk format"),
    "check-data": ("data_loaders.bair.check",
                   "verify every record checksum of BAIR TFRecords up front, listing each bad one"),
    "convert-kth": ("data_loaders.kth.convert", "decode the KTH videos once into memory-mapped arrays"),
    "convert-videos": ("data_loaders.videos.convert",
                       "decode and resize a folder of your own videos once into memory-mapped arrays"),
}


def version_text() -> str:
    """``svg-sigma X.Y.Z (torch A.B.C, Python D.E.F)`` from the installed metadata (no imports)."""
    from importlib import metadata

    try:
        ours = metadata.version("svg-sigma")
    except metadata.PackageNotFoundError:   # running from a source tree that is not installed
        from svg import __version__ as ours
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return f"svg-sigma {ours} (torch {torch_version}, Python {sys.version.split()[0]})"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: lists the subcommands (their own arguments load with them)."""
    parser = argparse.ArgumentParser(
        prog="svg", description="svg-sigma: train, sample and benchmark stochastic video predictors",
        epilog="User errors print one line and exit with status 2; --debug or SVG_DEBUG=1 shows "
               "their traceback.")
    parser.add_argument("--version", action="version", version=version_text())
    parser.add_argument("--debug", action="store_true", help="show tracebacks of user errors too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _run_subcommand(name: str, argv: list) -> int:
    module = importlib.import_module(SUBCOMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"svg {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(sub)
    sub.add_argument("--debug", action="store_true",
                     help="show the traceback of user errors (also: SVG_DEBUG=1)")
    sub.add_argument("--version", action="version", version=version_text())
    # intermixed: options may sit between positionals, e.g. ``a=1 --no-progress b=2``
    args = sub.parse_intermixed_args(argv)
    return int(module.run(args) or 0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``svg [--debug] COMMAND [options]``; returns the process exit code.

    0 on success, 2 for a user error (message on stderr, no traceback; see the module docstring),
    130 after Ctrl-C outside training. Unexpected exceptions propagate with their traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    pos = next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))
    top, rest = argv[:pos], argv[pos:]
    if not rest or rest[0] not in SUBCOMMANDS or any(a not in ("--debug",) for a in top):
        build_parser().parse_args(argv)  # --version, help, or the error naming the valid commands
        return EXIT_USER_ERROR
    name, sub_argv = rest[0], rest[1:]
    return run_command(f"svg {name}", lambda: _run_subcommand(name, sub_argv),
                        debug=debug_requested(top + sub_argv))


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``svg`` command: one entry point, one subcommand per job.

Each subcommand lives in the module that does its work; this file only wires names to them, so
importing it stays cheap (heavy modules are imported when their subcommand runs).

How errors reach the user
-------------------------
The project's rule is that bad input (config, data, arguments) raises ``ValueError`` or an
``OSError`` such as ``FileNotFoundError`` with a plain message naming the file, key or value.
So a **user error** is recognised by type *and origin*: a ``ValueError`` raised by a ``raise``
statement, or an ``OSError`` raised by a call (``open``, ``os.*``), in this project's own packages
(``svg``, ``models``, ``data_loaders``, ``eval_fvd``) — including one raised there inside a
DataLoader worker and re-raised by torch — or a ``SystemExit`` carrying a message. It is printed
as ``svg COMMAND: error: MESSAGE`` plus a hint line on stderr, without a traceback, and the exit
status is 2 (as for argparse's own errors). The same types raised inside a library (torch,
numpy, ...), or by a failed operation in our code (a bad unpacking, ``int("x")``), are not
messages written for the user, so they — and every other exception — keep their full traceback.
No exception class is shared between packages, so ``data_loaders``, ``models`` and ``eval_fvd``
stay free of ``svg``. ``--debug`` (before or after the command) or ``SVG_DEBUG=1`` shows the
traceback of user errors too.
"""
from __future__ import annotations

import argparse
import dis
import importlib
import os
import re
import sys
import traceback
from typing import Optional, Sequence

# name -> (module, help). A module provides ``add_arguments(parser)`` and ``run(args) -> int``.
SUBCOMMANDS = {
    "train": ("svg.cli.train", "train SVG-LP (same as train_svg.py)"),
    "evaluate": ("svg.cli.evaluate", "best-of-N PSNR/SSIM/LPIPS of a trained run, with the protocol"),
    "generate": ("svg.cli.generate", "labelled rollout GIFs and PNG strips of test sequences"),
    "predict": ("svg.cli.predict", "sampled futures of your own videos, GIFs, frame folders or .npy clips"),
    "fvd": ("eval_fvd.cli", "Fréchet Video Distance between two sets of videos (I3D, offline)"),
    "convert-bair": ("data_loaders.bair_convert",
                     "convert BAIR softmotion30_44k TFRecords into the fast on-disk format"),
    "check-data": ("data_loaders.bair_check",
                   "verify every record checksum of BAIR TFRecords up front, listing each bad one"),
    "convert-kth": ("data_loaders.kth_convert", "decode the KTH videos once into memory-mapped arrays"),
}
PROJECT_PACKAGES = ("svg", "models", "data_loaders", "eval_fvd")
USER_ERROR_TYPES = (ValueError, OSError)
EXIT_USER_ERROR = 2
DEBUG_HINT = "(run with --debug or SVG_DEBUG=1 to see the traceback)"


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


def _package_dirs() -> list:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return [os.path.join(root, p) + os.sep for p in PROJECT_PACKAGES]


def _in_project(filename: str) -> bool:
    path = os.path.abspath(filename)
    return any(path.startswith(d) for d in _package_dirs())


_WORKER_FILE = re.compile(r'^\s*File "([^"]+)", line \d+')


def _explicit_raise(tb) -> bool:
    """Whether the innermost frame of ``tb`` stopped at a ``raise`` statement (not, say, at an
    unpacking or an ``int()`` that failed: those are bugs, even in the project's own code)."""
    code, lasti = tb.tb_frame.f_code, tb.tb_lasti
    return any(ins.offset == lasti and ins.opname == "RAISE_VARARGS" for ins in dis.get_instructions(code))


def _from_worker(exc: BaseException, text: str) -> Optional[str]:
    """The message of a user error raised in a DataLoader worker, from the traceback text torch
    puts in the re-raised exception's message; None if it is not one."""
    lines = text.rstrip().splitlines()
    where = [i for i, line in enumerate(lines) if _WORKER_FILE.match(line)]
    if not where or not _in_project(_WORKER_FILE.match(lines[where[-1]]).group(1)):
        return None
    source = lines[where[-1] + 1].strip() if where[-1] + 1 < len(lines) else ""
    if not isinstance(exc, OSError) and not source.startswith("raise "):
        return None
    last = lines[-1]
    return last.split(": ", 1)[1] if last.startswith(type(exc).__name__ + ": ") else last


def user_error_message(exc: BaseException) -> Optional[str]:
    """The message to print for a user error (see the module docstring), else None."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, str) else None
    if not isinstance(exc, USER_ERROR_TYPES):
        return None
    text = str(exc)
    if "Original Traceback (most recent call last):" in text:   # re-raised from a DataLoader worker
        return _from_worker(exc, text)
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    if not _in_project(tb.tb_frame.f_code.co_filename):
        return None
    # OSErrors come from calls such as open() and name their file; a ValueError must be raised
    return text if isinstance(exc, OSError) or _explicit_raise(tb) else None


def _debug_requested(argv: list) -> bool:
    env = os.environ.get("SVG_DEBUG", "").strip().lower()
    return "--debug" in argv or env not in ("", "0", "false", "no")


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
    debug = _debug_requested(top + sub_argv)
    try:
        return _run_subcommand(name, sub_argv)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"svg {name}: interrupted", file=sys.stderr)
        return 130
    except (Exception, SystemExit) as exc:
        message = user_error_message(exc)
        if message is None:
            raise                              # unexpected: the traceback is the useful part
        if debug and not isinstance(exc, SystemExit):
            traceback.print_exc()
        else:
            print(f"svg {name}: error: {message}", file=sys.stderr)
            if not isinstance(exc, SystemExit):
                print(DEBUG_HINT, file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    raise SystemExit(main())

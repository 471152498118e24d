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
    "convert-bair": ("data_loaders.bair_convert",
                     "convert BAIR softmotion30_44k TFRecords into the fast on-disk format"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="svg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        # Arguments are added lazily in main(), after the subcommand is known.
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in SUBCOMMANDS:
        parser.parse_args(argv)  # prints help or the error for an unknown subcommand
        return 2
    name = argv[0]
    module = importlib.import_module(SUBCOMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"svg {name}", description=SUBCOMMANDS[name][1])
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

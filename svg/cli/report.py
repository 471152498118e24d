"""``svg report``: the HTML page of one evaluation folder, or of several side by side.

    svg report runs/a/eval_test_5to10_N100                 # rebuilds its report.html
    svg report runs/a/eval_test_5to10_N100 runs/b/eval_test_5to10_N100 --out compare.html

One folder (``svg evaluate`` writes one per evaluation) gives its own ``report.html`` again, say
for a folder evaluated before the page existed; several give one page: a table with a row per
evaluation beside its copy-last-frame floor, one per-frame plot per metric with every evaluation
on it, then each evaluation in full. The page is self-contained (:mod:`svg.eval.html_report`).
"""
from __future__ import annotations

import argparse
import os

from core.owned_files import OVERWRITE_HELP, check_writable, refuse_existing
from core.errors import UserError

#: the page written for several folders when no --out is given (in the current folder)
COMPARISON = "comparison.html"


def output_path(dirs, out=None) -> str:
    """Where the page goes: ``out``, else ``DIR/report.html`` for one folder, else
    ``comparison.html`` in the current folder."""
    if out is not None:
        return out
    return os.path.join(dirs[0], "report.html") if len(dirs) == 1 else COMPARISON


def build_report(dirs, out=None, overwrite: bool = False) -> str:
    """Read the evaluation folders ``dirs`` and write their page; returns its path.

    Everything is checked before anything is written: each folder must hold a ``metrics.json``
    (:func:`svg.eval.html_report.load_evaluation`), the page may not replace one of the files it
    reads (not even with ``overwrite``), its folder must be writable, and a file already at its
    name is refused unless ``overwrite`` (:func:`core.owned_files.refuse_existing`).
    """
    from svg.eval.html_report import load_evaluation, write_html
    from svg.eval.report import REPORT_FILES

    path = output_path(dirs, out)
    evaluations = [load_evaluation(d) for d in dirs]
    inputs = {os.path.realpath(os.path.join(d, f)) for d in dirs for f in REPORT_FILES if f != "report.html"}
    if os.path.realpath(path) in inputs:
        raise UserError(f"--out {path} is one of the files the report reads; choose another --out")
    if os.path.isdir(path):
        raise UserError(f"--out {path} is a folder; give the page's file name, e.g. {os.path.join(path, 'report.html')}")
    what = ("the folder of --out" if out is not None else
            "the evaluation folder (--out FILE writes the page elsewhere)" if len(dirs) == 1 else
            "the current folder (--out FILE writes the page elsewhere)")
    check_writable(os.path.dirname(os.path.abspath(path)), what)
    refuse_existing([path], overwrite, "choose another --out")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_html(path, evaluations)
    return path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="evaluation folders (each holds the metrics.json svg evaluate wrote)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the page to write (default: DIR/report.html for one folder, "
                        f"{COMPARISON} in the current folder for several)")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def run(args: argparse.Namespace) -> int:
    path = build_report(args.dirs, args.out, args.overwrite)
    print(f"wrote {path} ({len(args.dirs)} evaluation{'' if len(args.dirs) == 1 else 's'})")
    return 0

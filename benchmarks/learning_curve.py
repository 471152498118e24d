"""A run's learning curve against the copy-last-frame floor: every kept checkpoint scored on the
validation split with ``svg evaluate``'s own code.

    python benchmarks/learning_curve.py --run runs/smmnist_demo --every 1500 \\
        --out docs/learning_curve/demo.json --plot docs/learning_curve/demo.png

Keep the checkpoints to score with ``train.keep_last`` (the default keeps 3). Each point is
best-of-N PSNR / SSIM / LPIPS on the first ``--videos`` validation sequences (never the test split:
this curve is what a step count is chosen on), with the floor measured on the same sequences and
frames. Minutes are the run's own wall time at that step: from the first line of its ``train.log`` to
the checkpoint's file time (validation and checkpoint writes included; the log names the threads). Points already in ``--out`` are kept, so re-running after
more checkpoints appear scores only the new ones. ``--also fp32=docs/learning_curve/demo_fp32.json``
draws other curves (e.g. a twin run in another precision) on the same axes.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from core.atomic_files import atomic_path, write_text
from svg.cli.evaluate import evaluate_run
from svg.config import EvalConfig
from svg.eval.report import headline
from svg.train.log import log_lines

METRICS = ("psnr", "ssim", "lpips")


def checkpoints(run: str, every: int) -> Dict[int, str]:
    """Step → ``ckpt_<step>.pt`` of the run's kept checkpoints at multiples of ``every``."""
    found = {}
    for path in glob.glob(os.path.join(run, "ckpt_*.pt")):
        step = int(re.search(r"ckpt_(\d+)\.pt$", path).group(1))
        if step % every == 0:
            found[step] = path
    return dict(sorted(found.items()))


def minutes_at(run: str, ckpts: Dict[int, str]) -> Dict[int, float]:
    """Step → minutes from the run's start (the first line of its ``train.log``) to the time its
    checkpoint was written; empty without a log. Includes validation and checkpoint writing."""
    first = next(log_lines(run), None)
    if first is None:
        return {}
    t0 = first[0].timestamp()
    return {s: (os.path.getmtime(c) - t0) / 60 for s, c in ckpts.items()}


def score(ckpt: str, args: argparse.Namespace) -> Dict[str, Any]:
    cfg = EvalConfig(n_samples=args.n_samples, max_videos=args.videos, n_future=args.n_future,
                     seed=0, device=args.device)
    scratch = os.path.join(args.scratch, ("raw_" if args.raw_weights else "") + os.path.basename(ckpt))
    rep = evaluate_run(ckpt, cfg, split="val", out_dir=scratch, progress=False,
                       raw_weights=args.raw_weights, overwrite=True)   # its own scratch folder
    return {**headline(rep), "protocol": rep["protocol"]}


def other_curve(spec: str) -> Tuple[str, List[Dict[str, Any]]]:
    """``LABEL=JSON`` → (label, the points of that curve file)."""
    label, sep, path = spec.partition("=")
    if not sep or not os.path.isfile(path):
        raise SystemExit(f"learning_curve: --also {spec!r}: expected LABEL=PATH to a curve JSON written by --out")
    with open(path) as f:
        return label, json.load(f)["points"]


def plot(points: List[Dict[str, Any]], path: str, title: str, label: str = "SVG-LP, best of N",
         others: Sequence[Tuple[str, List[Dict[str, Any]]]] = ()) -> None:
    """Draw the run's validation metrics against steps, the floor dashed, and any ``others``
    (label, points) curves, e.g. a twin run, on the same axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [p["step"] for p in points]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, m in zip(axes, METRICS):
        ax.plot(steps, [p["metrics"][m] for p in points], "o-", label=label)
        for other_label, other in others:
            ax.plot([p["step"] for p in other], [p["metrics"][m] for p in other], "s-", label=other_label)
        ax.plot(steps, [p["copy_last_frame"][m] for p in points], "--", color="tab:red", label="copy last frame")
        ax.set_title(f"{m.upper()} {'↓' if m == 'lpips' else '↑'} (validation)")
        ax.set_xlabel("training step")
        minutes = [p.get("minutes") for p in points]
        if all(x is not None for x in minutes):
            top = ax.secondary_xaxis("top", functions=(lambda s: s * minutes[-1] / steps[-1],
                                                       lambda t: t * steps[-1] / minutes[-1]))
            top.set_xlabel("minutes (this run's pace)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", default=None, help="run folder holding ckpt_<step>.pt files (not with --plot-only)")
    p.add_argument("--every", type=int, default=1500, help="score checkpoints at multiples of this step")
    p.add_argument("--videos", type=int, default=128)
    p.add_argument("--n-samples", type=int, default=10)
    p.add_argument("--n-future", type=int, default=10)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True, help="JSON of the points (kept points are not re-scored)")
    p.add_argument("--plot", help="PNG of the curve")
    p.add_argument("--label", default="SVG-LP, best of N", help="this run's name in the plot")
    p.add_argument("--also", nargs="*", default=[], metavar="LABEL=JSON",
                   help="other curves (this script's --out files) to draw on the same axes, e.g. a twin run")
    p.add_argument("--raw-weights", action="store_true",
                   help="score the live weights, not their moving average (runs with train.ema)")
    p.add_argument("--plot-only", action="store_true",
                   help="draw --out (and --also) as they are, scoring nothing (the run folder may be gone)")
    p.add_argument("--scratch", default=None, help="where evaluate writes its reports (default: RUN/curve)")
    args = p.parse_args(argv)
    if args.run is None and not args.plot_only:
        p.error("--run is needed to score checkpoints (or --plot-only to draw --out as it is)")
    args.scratch = args.scratch or (os.path.join(args.run, "curve") if args.run else None)
    done = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            done = {pt["step"]: pt for pt in json.load(f)["points"]}
    ckpts = {} if args.plot_only else checkpoints(args.run, args.every)
    minutes = minutes_at(args.run, ckpts) if ckpts else {}
    for step, ckpt in ckpts.items():
        if step not in done:
            done[step] = {"step": step, **score(ckpt, args)}
        done[step]["minutes"] = round(minutes[step], 1) if step in minutes else done[step].get("minutes")
        pt = done[step]
        print(f"step {step:6d} ({pt['minutes']} min): " + ", ".join(
            f"{m} {pt['metrics'][m]:.3f} (floor {pt['copy_last_frame'][m]:.3f})" for m in METRICS))
        points = [done[s] for s in sorted(done)]
        write_text(args.out, json.dumps({"run": os.path.abspath(args.run), "points": points}, indent=1))
    points = [done[s] for s in sorted(done)]
    if args.plot and points:
        plot(points, args.plot, f"best of {args.n_samples}, first {args.videos} validation sequences, "
             f"{points[0]['protocol']['n_past']} → {args.n_future} frames; floor on the same frames",
             args.label, [other_curve(spec) for spec in args.also])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Does bf16 autocast train as well as fp32? The demo's setting, same seed and steps, both ways.

    python benchmarks/bf16_parity.py --seeds 1 2 3 --steps 500 --out runs/bf16_parity

Per seed it trains ``configs/smmnist_demo.yaml`` twice, with ``train.amp=bf16`` and
``train.amp=none`` (same initial weights and training sequences), then compares the final
validation loss (the trainer's, on its fixed validation batches), the decoder σ (the optimal σ is
computed from an MSE, the quantity most exposed to bf16's 8-bit mantissa) and best-of-N
PSNR / SSIM / LPIPS on the first ``--videos`` validation and test sequences. Wall time per run is
that of its first training session in ``train.log`` (it includes the end-of-run report); on a
shared machine it is indicative only. Finished runs and evaluations are reused on re-running.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, List, Optional

from core.atomic_files import write_text
from svg.cli.evaluate import evaluate_run
from svg.config import EvalConfig, load_config
from svg.eval.report import headline
from svg.checkpoints import latest_checkpoint, load_checkpoint
from svg.train.log import log_lines
from svg.train.loop import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AMPS = ("bf16", "none")
METRICS = ("psnr", "ssim", "lpips")


def run_dir(args: argparse.Namespace, amp: str, seed: int) -> str:
    return os.path.join(args.out, f"{amp}_s{seed}")


def train_once(args: argparse.Namespace, amp: str, seed: int) -> str:
    overrides = [f"train.amp={amp}", f"train.seed={seed}", f"train.steps_per_epoch={args.steps}",
                 "train.epochs=1", f"train.ckpt_every={max(1, args.steps // 2)}", "train.gif_every=100000",
                 f"train.device={args.device}", f"run_dir={run_dir(args, amp, seed)}"]
    cfg = load_config(os.path.join(ROOT, "configs", "smmnist_demo.yaml"), overrides)
    train(cfg, progress=False)
    return cfg.run_dir


def scores(run: str, split: str, args: argparse.Namespace) -> Dict[str, float]:
    out = os.path.join(run, f"eval_{split}")
    path = os.path.join(out, "metrics.json")
    if not os.path.exists(path):
        evaluate_run(run, EvalConfig(n_samples=args.n_samples, max_videos=args.videos, n_future=10,
                                     device=args.device), split=split, out_dir=out, progress=False)
    with open(path) as f:
        rep = json.load(f)
    return {**headline(rep)["metrics"], "sigma": rep.get("test_sigma")}


def wall_minutes(run: str) -> Optional[float]:
    """Minutes from the first line of ``train.log`` to the end of its first session (the line
    that lists the run folder, after the end-of-run report); later sessions append to the log."""
    lines = log_lines(run)
    first = next(lines, None)
    for t, line in lines:
        if "svg.train INFO run folder" in line:
            return (t - first[0]).total_seconds() / 60
    return None


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--out", default="runs/bf16_parity")
    p.add_argument("--videos", type=int, default=64)
    p.add_argument("--n-samples", type=int, default=10)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    rows: List[Dict[str, Any]] = []
    for seed in args.seeds:
        for amp in AMPS:
            run = train_once(args, amp, seed)
            last = load_checkpoint(latest_checkpoint(run), mmap=True)
            rows.append({"seed": seed, "amp": amp, "val_loss": last["val_loss"],
                         "val": scores(run, "val", args), "test": scores(run, "test", args),
                         "minutes": wall_minutes(run)})
    print("| seed | amp | val loss | σ | val PSNR / SSIM / LPIPS | test PSNR / SSIM / LPIPS | min |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        v, t = r["val"], r["test"]
        print(f"| {r['seed']} | {r['amp']} | {r['val_loss']:.0f} | {t['sigma']:.4f} | "
              f"{v['psnr']:.2f} / {v['ssim']:.3f} / {v['lpips']:.3f} | "
              f"{t['psnr']:.2f} / {t['ssim']:.3f} / {t['lpips']:.3f} | {r['minutes']:.1f} |")
    print("\nbf16 − fp32 per seed:")
    for seed in args.seeds:
        b, f = (next(r for r in rows if r["seed"] == seed and r["amp"] == a) for a in AMPS)
        print(f"seed {seed}: val loss {b['val_loss'] - f['val_loss']:+.0f} "
              f"({(b['val_loss'] - f['val_loss']) / abs(f['val_loss']):+.2%}), σ "
              f"{b['test']['sigma'] - f['test']['sigma']:+.4f}, test " + ", ".join(
                  f"{m} {b['test'][m] - f['test'][m]:+.3f}" for m in METRICS)
              + (f", wall {f['minutes'] / b['minutes']:.2f}× faster" if b["minutes"] and f["minutes"] else ""))
    write_text(os.path.join(args.out, "parity.json"), json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

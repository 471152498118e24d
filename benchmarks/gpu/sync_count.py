"""Host synchronisations per training step on a GPU, counted two ways.

    python benchmarks/gpu/sync_count.py --out sync.json                       # this tree
    PYTHONPATH=.carry/before python benchmarks/gpu/sync_count.py --label before --out before.json

1. ``train_step`` alone, on the demo's network with the optimal-σ decoder: torch.profiler's CUDA
   runtime calls that wait for the device (``cudaStreamSynchronize``, ``cudaDeviceSynchronize``,
   ``cudaEventSynchronize``, and blocking ``cudaMemcpy``), per step, over ``--steps`` steps.
2. The whole training loop (``svg.train.loop.train``: data, step, EMA when asked, log) under
   ``torch.cuda.set_sync_debug_mode("warn")``: synchronising calls counted from its warnings in
   a short and a long run of the demo; their difference over the extra steps is the loop's
   count per step (validation, the last checkpoint and the end-of-run report cancel).

Only APIs that the trees before and after the change both have are used, so the same script
counts both (the 'before' tree is carried by ``prepare_carry.py``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings

import torch

WAITS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy")


def profiled_step_syncs(steps: int, amp: str, device: torch.device) -> dict:
    from torch.profiler import ProfilerActivity, profile

    from svg import SVG, LikelihoodConfig, ModelConfig
    from svg.train.step import train_step

    torch.manual_seed(0)
    cfg = ModelConfig(width=32, g_dim=64, z_dim=10, rnn_size=128, n_past=5, skip="previous",
                      likelihood=LikelihoodConfig(name="optimal", axes="sequence"))
    model = SVG(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, fused=True)
    scaler = torch.amp.GradScaler(device.type, enabled=False)
    x = torch.rand(16, 15, 1, 64, 64, device=device)
    noise = torch.Generator(device=device).manual_seed(0)
    for _ in range(3):
        train_step(model, model, opt, scaler, x, noise, amp=amp)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(steps):
            train_step(model, model, opt, scaler, x, noise, amp=amp)
        sync()
    counts = {}
    for ev in prof.key_averages():
        if ev.key.startswith(WAITS) and "Async" not in ev.key:
            counts[ev.key] = counts.get(ev.key, 0) + ev.count
        elif ev.key.startswith("cudaMemcpyAsync"):
            counts[ev.key] = counts.get(ev.key, 0) + ev.count
    waits = sum(v for k, v in counts.items() if not k.startswith("cudaMemcpyAsync"))
    return {"steps": steps, "calls": counts, "waiting_calls_per_step": max(waits - 1, 0) / steps,
            "note": "one cudaDeviceSynchronize after the steps is not counted"}


def loop_syncs(short: int, long: int, ema: bool, device: str) -> dict:
    """Synchronisations per step of the whole loop: the difference between a ``long`` and a
    ``short`` run, over the steps between them (validation, checkpoints and the end-of-run report
    are the same in both and cancel)."""
    a, b = count_loop(short, ema, device), count_loop(long, ema, device)
    return {"short": a, "long": b,
            "per_step": (b["synchronisations"] - a["synchronisations"]) / (long - short)}


def count_loop(steps: int, ema: bool, device: str) -> dict:
    from svg.config import load_config
    from svg.train.loop import train

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"train.device={device}", "train.epochs=1", f"train.steps_per_epoch={steps}",
                     "train.ckpt_every=100000", "train.gif_every=100000", "train.log_every=10",
                     "data.num_workers=2", f"run_dir={tmp}/run"] + (["train.ema=0.999"] if ema else [])
        cfg = load_config(os.path.join(root, "configs", "smmnist_demo.yaml"), overrides)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if device == "cuda":
                torch.cuda.set_sync_debug_mode("warn")
            try:
                train(cfg, progress=False)
            finally:
                if device == "cuda":
                    torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchronizing" in str(w.message)]
    where = {}
    for w in syncs:
        key = f"{os.path.basename(w.filename)}:{w.lineno}"
        where[key] = where.get(key, 0) + 1
    return {"steps": steps, "synchronisations": len(syncs), "by_place": dict(sorted(where.items(), key=lambda kv: -kv[1])[:20])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--loop-steps", type=int, nargs=2, default=[30, 130], metavar=("SHORT", "LONG"))
    p.add_argument("--amp", default="bf16")
    p.add_argument("--label", default="after")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda", help="cpu: a dry run of the script (counts nothing)")
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("sync_count: needs a CUDA GPU (--device cpu for a dry run)")
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else None
    result = {"label": args.label, "torch": torch.__version__, "gpu": gpu,
              "train_step": profiled_step_syncs(args.steps, args.amp, torch.device(args.device)),
              "loop": loop_syncs(*args.loop_steps, ema=args.label != "before", device=args.device)}
    print(json.dumps(result, indent=1))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

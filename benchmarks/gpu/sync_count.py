"""Host synchronisations per training step on a GPU, counted two ways.

    python benchmarks/gpu/sync_count.py --out sync.json                       # this tree
    PYTHONPATH=.carry/before python benchmarks/gpu/sync_count.py --label before --out before.json

1. ``train_step`` alone, on the demo's network with the optimal-σ decoder: torch.profiler's CUDA
   runtime calls that wait for the device (``cudaStreamSynchronize``, ``cudaDeviceSynchronize``,
   ``cudaEventSynchronize``, and blocking ``cudaMemcpy``), per step, over ``--steps`` steps.
2. The whole training loop (``svg.train.loop.train``: data, step, EMA when the config asks, log)
   under ``torch.cuda.set_sync_debug_mode("warn")``: synchronising calls counted from its
   warnings in a short and a long run of the demo (each tree's own ``configs/smmnist_demo.yaml``);
   their difference over the extra steps is the loop's count per step (validation, the last
   checkpoint and the end-of-run report cancel). The trainer logs its warnings, so they are
   caught where every shown warning passes (:class:`SyncWarnings`), and a canary warning from
   inside the loop must be seen, or the script fails rather than report 0.

Only APIs that the trees before and after the change both have are used, so the same script
counts both (the 'before' tree is carried by ``prepare_carry.py``). The JSON is rewritten after
each part, so a part that fails leaves the earlier ones. ``--device cpu`` runs it all on the CPU
(the device script's dry run), where nothing synchronises.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from typing import Dict

import torch

SYNC_TEXT = "synchronizing"   # torch's warning: "called a synchronizing CUDA operation"
CANARY = "sync_count canary"
WAITS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize", "cudaMemcpy")


def profiled_step_syncs(steps: int, amp: str, device: torch.device, batch: int = 16) -> dict:
    from torch.profiler import ProfilerActivity, profile

    from svg import SVG, LikelihoodConfig, ModelConfig
    from svg.train.step import train_step

    torch.manual_seed(0)
    cfg = ModelConfig(width=32, g_dim=64, z_dim=10, rnn_size=128, n_past=5, skip="previous",
                      likelihood=LikelihoodConfig(name="optimal", axes="sequence"))
    model = SVG(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, fused=True)
    scaler = torch.amp.GradScaler(device.type, enabled=False)
    x = torch.rand(batch, 15, 1, 64, 64, device=device)
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


def loop_syncs(short: int, long: int, device: str, batch: int, save) -> dict:
    """Synchronisations per step of the whole loop: the difference between a ``long`` and a
    ``short`` run, over the steps between them (validation, checkpoints and the end-of-run report
    are the same in both and cancel). ``save(partial)`` is called after each run."""
    out = {"short": count_loop(short, device, batch)}
    save(out)
    out["long"] = count_loop(long, device, batch)
    out["per_step"] = (out["long"]["synchronisations"] - out["short"]["synchronisations"]) / (long - short)
    save(out)
    return out


class SyncWarnings:
    """Counts torch's synchronisation warnings, however the code under count shows its warnings.

    The trainer sends Python warnings to its log (``svg.train.log.warnings_logged`` replaces
    ``warnings.showwarning`` inside its own ``catch_warnings``), so an outer
    ``catch_warnings(record=True)`` sees none of them. Every warning that passes the filters
    reaches ``warnings._showwarnmsg`` (CPython's C ``warn`` calls it too, 3.9 to 3.13), which no
    ``catch_warnings`` saves or replaces: that is wrapped here. Synchronisation warnings are
    counted by place and not shown (thousands would flood ``train.log``); others pass on.
    ``canaries`` counts the warnings carrying :data:`CANARY`.
    """

    def __init__(self):
        self.places: Dict[str, int] = {}
        self.canaries = 0

    def __enter__(self) -> "SyncWarnings":
        self._filters = warnings.catch_warnings()
        self._filters.__enter__()
        warnings.simplefilter("always")   # the same place warns on every step, not once
        self._show = warnings._showwarnmsg
        warnings._showwarnmsg = self._seen
        return self

    def _seen(self, msg) -> None:
        text = str(msg.message)
        if CANARY in text:
            self.canaries += 1
        elif SYNC_TEXT in text:
            key = f"{os.path.basename(msg.filename)}:{msg.lineno}"
            self.places[key] = self.places.get(key, 0) + 1
        else:
            self._show(msg)

    def __exit__(self, *exc) -> None:
        warnings._showwarnmsg = self._show
        self._filters.__exit__(*exc)

    @property
    def count(self) -> int:
        return sum(self.places.values())


def demo_config_path() -> str:
    """``configs/smmnist_demo.yaml`` of the tree whose ``svg`` is imported (before or after: each
    tree's own demo, which its own config code accepts)."""
    import svg

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(svg.__file__))), "configs",
                        "smmnist_demo.yaml")
    if not os.path.exists(path):
        raise SystemExit(f"sync_count: {path} is missing (prepare_carry.py carries configs/ in before/)")
    return path


def count_loop(steps: int, device: str, batch: int = 0) -> dict:
    """The synchronisation warnings of a ``steps``-step run of the demo (the imported tree's own
    config) under ``torch.cuda.set_sync_debug_mode("warn")``. A canary warning issued from inside
    the trainer's first step must be seen, or the count is refused (it would read 0)."""
    import svg.train.loop as loop
    from svg.config import load_config

    overrides = [f"train.device={device}", "train.epochs=1", f"train.steps_per_epoch={steps}",
                 "train.ckpt_every=100000", "train.gif_every=100000", "train.log_every=10",
                 "data.num_workers=2"] + ([f"train.batch_size={batch}"] if batch else [])
    step, issued = loop.train_step, []

    def step_with_canary(*a, **k):
        if not issued:
            issued.append(True)
            warnings.warn(CANARY)
        return step(*a, **k)

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(demo_config_path(), overrides + [f"run_dir={tmp}/run"])
        with SyncWarnings() as counter:
            loop.train_step = step_with_canary
            # the end-of-run scores (16 videos, best of 10, LPIPS) are the same in both runs and
            # cancel; without them a count costs seconds less on a GPU and 35 s less on a CPU
            report, loop.final_report = loop.final_report, lambda *a, **k: {}
            if device == "cuda":
                torch.cuda.set_sync_debug_mode("warn")
            try:
                loop.train(cfg, progress=False)
            finally:
                if device == "cuda":
                    torch.cuda.set_sync_debug_mode("default")
                loop.train_step, loop.final_report = step, report
    if counter.canaries != 1:
        raise RuntimeError(f"sync_count: the canary warning from inside the training loop was seen "
                           f"{counter.canaries} times, not once: the count cannot be trusted")
    return {"steps": steps, "synchronisations": counter.count, "canary_seen": True,
            "by_place": dict(sorted(counter.places.items(), key=lambda kv: -kv[1])[:20])}


def write_json(path: str, result: dict) -> None:
    """``result`` to ``path`` whole or not at all (rewritten after each part, so a later part
    that fails or runs out of time leaves the earlier ones)."""
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--loop-steps", type=int, nargs=2, default=[30, 130], metavar=("SHORT", "LONG"))
    p.add_argument("--amp", default="bf16")
    p.add_argument("--batch", type=int, default=16, help="batch of both counts (a dry run: less)")
    p.add_argument("--label", default="after")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda", help="cpu: a dry run of the script (counts nothing)")
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("sync_count: needs a CUDA GPU (--device cpu for a dry run)")
    import svg

    result = {"label": args.label, "torch": torch.__version__, "tree": os.path.dirname(svg.__file__),
              "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None}
    write_json(args.out, result)
    result["train_step"] = profiled_step_syncs(args.steps, args.amp, torch.device(args.device), args.batch)
    write_json(args.out, result)

    def save(loop: dict) -> None:
        result["loop"] = loop
        write_json(args.out, result)

    loop_syncs(*args.loop_steps, device=args.device, batch=args.batch, save=save)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

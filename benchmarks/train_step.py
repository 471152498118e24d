"""Training-step speed: the time-batched SVG-LP against the original SVG code, side by side.

The baseline (``svg/testing/original_svg.py``) is written the way the original SVG training code
is: its own networks with concatenated skips, stacked ``LSTMCell``s, a Python loop over time
with two encoder calls per step, BatchNorm over each frame's batch of B, in-place activations,
the loss summed over steps. Ours is ``SVG.loss`` with ``model.skip: original`` (skip maps frozen
where the original froze them) and the ``mse`` likelihood (the original objective). Weights are
copied, so both sides have the same parameters and compute the same loss in eval mode
(``tests/test_original_baseline.py``).

Per case and device it prints, for each side: GFLOP per step (torch.utils.flop_counter), median
wall seconds and process CPU seconds per full training step (forward, backward, Adam), achieved
GFLOP/s, the speed-up; with ``--profile`` the torch.profiler split of one step into convolutions
(forward + backward) and everything else, with the costliest other operators; with ``--memory``
the peak memory of one step (CPU: peak RSS of a fresh process over its RSS just before the step;
CUDA: ``max_memory_allocated``). Each side runs in its own process, as each side's training
does (so neither inherits the other's heap), and the two step in turn (A B A B ...) so machine
noise hits both alike.
Optimisers as each side's training code builds them: the original's per-module ``Adam``, ours the
trainer's fused ``Adam``. Host memory (``--host-memory``): ``keep`` (default) applies the trainer's
``svg.runtime.keep_freed_memory`` in both sides' processes; ``default`` leaves glibc as it is.

    python benchmarks/train_step.py                          # both cases, fp32, 3 repeats
    python benchmarks/train_step.py --case vgg64 --repeats 5 --profile --memory
    python benchmarks/train_step.py --case demo --heads      # the motion heads against pixels

``--heads`` compares our model with each decoder head instead (``models.heads``): ``batched``
(SVG's pixels head), ``composite`` and ``warp``, the same network and batch otherwise, so the
ratios are the heads' own cost per step.
"""
from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import traceback

import torch
from torch.utils.flop_counter import FlopCounterMode

from data_loaders.moving_squares.dataset import moving_squares
from svg import SVG, LikelihoodConfig, ModelConfig
from core.devices import autocast_context, tf32
from svg.runtime import keep_freed_memory
from svg.testing.original_svg import OriginalSVG, copy_weights

BETA = 1e-4   # the original objective's KL weight; our mse likelihood uses the same β
# name: (backbone, channels, batch, n_past, n_future, z_dim, other ModelConfig fields)
CASES = {
    "dcgan64": ("dcgan64", 1, 16, 5, 10, 10, {}),
    "vgg64": ("vgg64", 3, 16, 2, 10, 64, {}),
    # configs/smmnist_demo.yaml's network (half width)
    "demo": ("dcgan64", 1, 16, 5, 10, 10, dict(width=32, g_dim=64, rnn_size=128)),
}
#: --precision: autocast dtype, and whether CUDA may use TF32 for fp32 matmuls and convolutions
PRECISIONS = {"fp32": ("none", False), "tf32": ("none", True), "bf16": ("bf16", False),
              "fp16": ("fp16", False)}
SIDES = ("original", "batched")
#: --heads: our model with each decoder head (batched is the pixels head)
HEAD_SIDES = ("batched", "composite", "warp")


def build(name: str, device: torch.device, batch: int = 0, head: str = "pixels"):
    """Both models with identical weights and the batch (B, T, C, 64, 64); batch 0: the case's.
    With a motion ``head``, ours alone (under the head's name): the original has no such head."""
    backbone, channels, case_batch, n_past, n_future, z_dim, extra = CASES[name]
    batch = batch or case_batch
    torch.manual_seed(0)
    cfg = ModelConfig(backbone=backbone, channels=channels, z_dim=z_dim, n_past=n_past,
                      skip="original", likelihood=LikelihoodConfig(name="mse", mse_beta=BETA),
                      head=head, **extra)
    ours = SVG(cfg)
    if head != "pixels":
        models = {head: ours.to(device)}
    else:
        base = OriginalSVG(cfg)
        copy_weights(ours, base)
        models = {"original": base.to(device), "batched": ours.to(device)}
    x = moving_squares(batch, n_past + n_future, ours.image_size, channels,
                       generator=torch.Generator().manual_seed(0)).to(device)
    return models, x


def make_optimizer(side: str, model):
    """The original trains with plain Adam (one per module: the same update); ours fused, as
    ``svg.train.loop`` builds it."""
    return torch.optim.Adam(model.parameters(), lr=1e-6, fused=side != "original")


def build_side(name: str, side: str, device: torch.device, batch: int):
    """One side's model (the other dropped), its optimiser and the batch."""
    models, x = build(name, device, batch, side if side in HEAD_SIDES[1:] else "pixels")
    model = models.pop(side)
    models.clear()
    gc.collect()
    return model, make_optimizer(side, model), x


def objective(side: str, model, x):
    return model.loss(x, BETA) if side == "original" else model(x).objective()   # forward = loss


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(side, model, opt, x, device, precision) -> None:
    amp, allow_tf32 = PRECISIONS[precision]
    with tf32(allow_tf32):
        with autocast_context(device, amp):
            loss = objective(side, model, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def count_flops(fn):
    """(total, convolution) FLOPs of one call, forward and backward."""
    with FlopCounterMode(display=False) as counter:
        fn()
    per_op = counter.get_flop_counts().get("Global", {})
    return counter.get_total_flops(), sum(v for k, v in per_op.items() if "convolution" in str(k))


def profile_split(fn, top: int = 6) -> dict:
    """Self CPU (and CUDA) time of one call, split into convolution operators and the rest."""
    from torch.profiler import ProfilerActivity, profile
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=acts) as prof:
        fn()
    conv, other = 0.0, {}
    for ev in prof.key_averages():
        t = (ev.self_cpu_time_total + getattr(ev, "self_device_time_total", 0)) / 1e6
        if "conv" in ev.key.lower():
            conv += t
        else:
            other[ev.key] = other.get(ev.key, 0.0) + t
    ranked = sorted(other.items(), key=lambda kv: -kv[1])[:top]
    return dict(conv_s=conv, other_s=sum(other.values()), top_other=ranked)


def memory_of_step(name: str, side: str, device: torch.device, precision: str, batch: int,
                   host_memory: str) -> dict:
    """Peak memory of one training step. CPU: in a fresh process (peak RSS − RSS before)."""
    if device.type == "cuda":
        model, opt, x = build_side(name, side, device, batch)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        train_step(side, model, opt, x, device, precision)
        return dict(peak_mb=(torch.cuda.max_memory_allocated(device) - before) / 2**20)
    cmd = [sys.executable, __file__, "--memory-child", side, "--case", name,
           "--threads", str(torch.get_num_threads()), "--host-memory", host_memory,
           "--precision", precision, "--batch", str(batch)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def memory_child(name: str, side: str, precision: str, batch: int) -> None:
    """Runs in a fresh process: peak RSS of one step over the RSS before it (Linux /proc)."""
    device = torch.device("cpu")
    model, opt, x = build_side(name, side, device, batch)
    with open("/proc/self/clear_refs", "w") as f:   # reset the high-water mark VmHWM to now
        f.write("5")
    rss0 = _status_kb("VmRSS")
    train_step(side, model, opt, x, device, precision)
    peak = _status_kb("VmHWM")
    print(json.dumps(dict(peak_mb=(peak - rss0) / 1024, rss_before_mb=rss0 / 1024)))


def side_worker(conn, side, name, device, precision, batch, compile_batched, host_memory, threads):
    """One side in its own process, as each side's training runs: builds, counts FLOPs (also the
    warm-up), then answers "step" (wall and CPU seconds of one step) and "profile" until "stop"."""
    try:
        if threads:
            torch.set_num_threads(threads)
        if host_memory == "keep":
            keep_freed_memory()
        device = torch.device(device)
        model, opt, x = build_side(name, side, device, batch)
        net = model

        def step():
            train_step(side, net, opt, x, device, precision)
        flops, conv_flops = count_flops(step)
        info = dict(params=sum(p.numel() for p in model.parameters()), flops=flops,
                    conv_flops=conv_flops)
        if compile_batched and side == "batched":   # time the first call: compilation + one step
            net = torch.compile(model)
            t0 = time.perf_counter()
            step()
            info["compile_s"] = time.perf_counter() - t0
        conn.send(info)
        for cmd in iter(conn.recv, "stop"):
            if cmd == "profile":
                conn.send(profile_split(step))
                continue
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            sync(device)
            conn.send((time.perf_counter() - t0, time.process_time() - c0))
    except Exception:   # reported by the parent, which then stops
        conn.send({"error": traceback.format_exc()})


class Side:
    """The parent's handle on a :func:`side_worker` process."""

    def __init__(self, side, *args):
        ctx = multiprocessing.get_context("spawn")
        self.name = side
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=side_worker, args=(child, side, *args), daemon=True)
        self.proc.start()
        self.info = self._recv()

    def ask(self, cmd: str):
        self.conn.send(cmd)
        return self._recv()

    def _recv(self):
        msg = self.conn.recv()
        if isinstance(msg, dict) and "error" in msg:
            raise RuntimeError(f"the {self.name} side's process failed:\n{msg['error']}")
        return msg

    def close(self) -> None:
        self.conn.send("stop")
        self.proc.join()


def time_case(name, device, precision, repeats, batch, compile_batched, host_memory, threads,
              names=SIDES):
    """Every side, each in its own process: one untimed step each, then timed steps in turn."""
    sides = {s: Side(s, name, str(device), precision, batch, compile_batched, host_memory, threads)
             for s in names}
    if "compile_s" in sides["batched"].info:
        print(f"   torch.compile of the batched model: first step "
              f"{sides['batched'].info['compile_s']:.1f} s (compilation + one step)", flush=True)
    for s in names:   # untimed: with kept host memory the heap settles over the first steps
        sides[s].ask("step")
    wall, cpu = {s: [] for s in names}, {s: [] for s in names}
    for _ in range(repeats):
        for s in names:
            w, c = sides[s].ask("step")
            wall[s].append(w)
            cpu[s].append(c)
    return sides, wall, cpu


def run_case(name, device, precision, repeats, profile, memory, batch, compile_batched,
             host_memory, names=SIDES) -> None:
    sides, wall, cpu = time_case(name, device, precision, repeats, batch, compile_batched,
                                 host_memory, torch.get_num_threads(), names)
    info = {s: sides[s].info for s in names}
    flops = {s: info[s]["flops"] for s in names}
    conv_flops = {s: info[s]["conv_flops"] for s in names}
    med = {s: statistics.median(wall[s]) for s in names}
    med_cpu = {s: statistics.median(cpu[s]) for s in names}
    print("   parameters: " + ", ".join(f"{s} {info[s]['params']:,}" for s in names))
    for s in names:
        print(f"   {s:9s} {flops[s] / 1e9:8.1f} GFLOP  {med[s]:8.2f} s/step wall "
              f"(runs {', '.join(f'{t:.2f}' for t in wall[s])})  {med_cpu[s]:8.2f} s/step CPU  "
              f"{flops[s] / 1e9 / med[s]:6.1f} GFLOP/s", flush=True)
    if names == SIDES:
        print(f"   speed-up (median wall): ×{med['original'] / med['batched']:.2f}; "
              f"(median CPU time): ×{med_cpu['original'] / med_cpu['batched']:.2f}; "
              f"FLOP ratio ×{flops['original'] / flops['batched']:.2f}", flush=True)
    else:
        print("   cost against the pixels head (median wall; CPU time): " + "; ".join(
            f"{s} ×{med[s] / med['batched']:.3f}; ×{med_cpu[s] / med_cpu['batched']:.3f}"
            for s in names[1:]), flush=True)
    if profile:
        for s in names:
            p = sides[s].ask("profile")
            others = ", ".join(f"{k} {v:.2f}" for k, v in p["top_other"])
            print(f"   profile {s:9s}: convolutions {p['conv_s']:.2f} s "
                  f"({conv_flops[s] / 1e9 / max(p['conv_s'], 1e-9):.0f} GFLOP/s), "
                  f"other {p['other_s']:.2f} s; top other: {others}", flush=True)
    for side in sides.values():
        side.close()
    if memory:
        mem = {s: memory_of_step(name, s, device, precision, batch, host_memory)["peak_mb"]
               for s in names}
        print("   peak memory of one step: " + ", ".join(f"{s} {mem[s]:.0f} MB" for s in names)
              + f" (×{mem[names[1]] / mem[names[0]]:.2f})", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", choices=sorted(CASES), action="append", help="default: all")
    p.add_argument("--device", action="append",
                   help="default: cpu, and cuda when present")
    p.add_argument("--precision", default="fp32", choices=sorted(PRECISIONS),
                   help="tf32: fp32 with TF32 matmuls and convolutions on CUDA (same as fp32 on a CPU)")
    p.add_argument("--repeats", type=int, default=3, help="timed steps per side (interleaved)")
    p.add_argument("--profile", action="store_true", help="torch.profiler split of one step")
    p.add_argument("--memory", action="store_true", help="peak memory of one step per side")
    p.add_argument("--batch", type=int, default=0, help="B (default: the case's, 16)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the batched model (prints the compile time; not for --memory)")
    p.add_argument("--host-memory", choices=["keep", "default"], default="keep",
                   help="keep: glibc keeps freed memory (svg.runtime), as the trainer does on CPU")
    p.add_argument("--heads", action="store_true",
                   help="compare our model's decoder heads (pixels, composite, warp), not the original")
    p.add_argument("--memory-child", choices=SIDES + HEAD_SIDES[1:], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    kept = args.host_memory == "keep" and keep_freed_memory()
    if args.memory_child:
        return memory_child(args.case[0], args.memory_child, args.precision, args.batch)
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; paper widths; "
          f"skip=original, mse likelihood (β = {BETA}); Adam; {args.precision}; median of "
          f"{args.repeats} interleaved steps per side; host memory "
          f"{'kept (glibc mmap and trimming off)' if kept else 'glibc default'}")
    for dev in devices:
        device = torch.device(dev)
        for name in args.case or list(CASES):
            b, c, bs, n_past, n_future, z, _ = CASES[name]
            print(f"-- {name} on {device}: {c} channel(s), B={args.batch or bs}, {n_past}+{n_future}"
                  f" frames, z_dim={z}; load average {os.getloadavg()[0]:.1f}", flush=True)
            run_case(name, device, args.precision, args.repeats, args.profile, args.memory,
                     args.batch, args.compile, args.host_memory, HEAD_SIDES if args.heads else SIDES)


if __name__ == "__main__":
    main()

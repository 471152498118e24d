"""Training-step speed: the time-batched SVG-LP against a step-by-step loop, side by side.

The step-by-step implementation below follows the original SVG training code: a Python loop over
time, two encoder calls per step (one for x_{t−1}, one for the target x_t), one call of each LSTM
and of the decoder per step. Both use the same model, weights and likelihood. Each repeat times a
few full training steps (forward, backward, Adam); the two implementations alternate repeats so
that machine noise hits both alike; medians are reported.

Also prints achieved FLOP/s (counted with torch.utils.flop_counter) as a fraction of a plain
convolution — the model's costliest encoder layer over the same B·T frames, forward and backward —
timed in the same run.

    python benchmarks/train_step.py                 # both cases, fp32 and bf16 autocast
    python benchmarks/train_step.py --case dcgan64 --repeats 3
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from data_loaders.moving_squares import moving_squares
from svg import SVG, LikelihoodConfig, ModelConfig
from svg.kl import gaussian_kl

# name: (backbone, channels, batch, n_past, n_future, z_dim)
CASES = {
    "dcgan64": ("dcgan64", 1, 16, 5, 10, 10),
    "vgg64": ("vgg64", 3, 16, 2, 10, 64),
}


def step_by_step_objective(model: SVG, x: torch.Tensor) -> torch.Tensor:
    """The original SVG loop over time (same maths as SVG.loss, frame by frame)."""
    cfg = model.cfg
    post_state = prior_state = pred_state = None
    x_hats, kl, skip = [], 0.0, None
    for t in range(1, x.shape[1]):
        h, skip_prev = model.encoder(x[:, t - 1])
        h_target, _ = model.encoder(x[:, t])
        if t <= cfg.n_past:
            skip = skip_prev
        mu_q, lv_q, post_state = model.posterior.step(h_target, post_state)
        z = mu_q + torch.exp(0.5 * lv_q) * torch.randn_like(mu_q)
        mu_p, lv_p, prior_state = model.prior.step(h, prior_state)
        g, pred_state = model.predictor.step(torch.cat([h, z], 1), pred_state)
        x_hats.append(torch.sigmoid(model.decoder(g, skip)[:, :cfg.channels]))
        kl = kl + gaussian_kl(mu_q.float(), lv_q.float(), mu_p.float(), lv_p.float()).sum(1)
    nll = model.likelihood.nll(x[:, 1:], torch.stack(x_hats, 1)).nll
    return (nll + kl).mean()


def batched_objective(model: SVG, x: torch.Tensor) -> torch.Tensor:
    return model.loss(x).objective()


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(model, opt, objective, x, device, precision):
    with autocast(device, precision):
        loss = objective(model, x)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def reference_conv(model: SVG, n_frames: int, device, precision, repeats: int):
    """FLOP/s of the costliest encoder convolution alone over n_frames (forward + backward)."""
    x = torch.rand(n_frames, model.cfg.channels, model.image_size, model.image_size, device=device)
    best = (0, None, None)
    feats = {}   # each encoder convolution → its input shape, found with forward hooks

    def hook(mod, inp, out):
        feats[mod] = inp[0].shape
    handles = [m.register_forward_hook(hook) for m in model.encoder.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model.encoder(x[:2])
    for h in handles:
        h.remove()
    for conv, shape in feats.items():
        f = count_flops(lambda: conv(torch.zeros(shape, device=device)))
        if f > best[0]:
            best = (f, conv, shape)
    _, conv, shape = best
    conv = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                           conv.padding).to(device)
    inp = torch.rand(n_frames, *shape[1:], device=device, requires_grad=True)

    def step():
        with autocast(device, precision):
            out = conv(inp)
        out.float().sum().backward()
    flops = count_flops(step)
    times = []
    step()
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append(time.perf_counter() - t0)
    desc = (f"Conv2d({conv.in_channels}→{conv.out_channels}, k{conv.kernel_size[0]}"
            f" s{conv.stride[0]}) on {n_frames}×{tuple(shape[1:])}")
    return flops / statistics.median(times), desc


def run_case(name: str, device: torch.device, precisions, repeats: int, steps: int) -> list:
    backbone, channels, batch, n_past, n_future, z_dim = CASES[name]
    torch.manual_seed(0)
    model = SVG(ModelConfig(backbone=backbone, channels=channels, z_dim=z_dim, n_past=n_past,
                            likelihood=LikelihoodConfig(name="optimal"))).to(device)
    x = moving_squares(batch, n_past + n_future, model.image_size, channels,
                       generator=torch.Generator().manual_seed(0)).to(device)
    rows = []
    for precision in precisions:
        impls = {"batched": batched_objective, "step-by-step": step_by_step_objective}
        opts = {k: torch.optim.Adam(model.parameters(), lr=1e-6) for k in impls}
        flops = {k: count_flops(lambda: train_step(model, opts[k], f, x, device, precision))
                 for k, f in impls.items()}   # doubles as warm-up
        times = {k: [] for k in impls}
        for _ in range(repeats):
            for k, f in impls.items():
                sync(device)
                t0 = time.perf_counter()
                for _ in range(steps):
                    train_step(model, opts[k], f, x, device, precision)
                sync(device)
                times[k].append((time.perf_counter() - t0) / steps)
        conv_flops, conv_desc = reference_conv(model, batch * (n_past + n_future), device, precision,
                                               max(3, repeats))
        med = {k: statistics.median(v) for k, v in times.items()}
        for k in impls:
            rows.append(dict(case=name, precision=precision, impl=k, s_per_step=med[k],
                             seq_per_s=batch / med[k], speedup=med["step-by-step"] / med[k],
                             gflops=flops[k] / 1e9, frac=flops[k] / med[k] / conv_flops,
                             conv=conv_desc, conv_gflops_s=conv_flops / 1e9))
        print_rows(rows[-2:])
    return rows


def print_rows(rows) -> None:
    for r in rows:
        print(f"{r['case']:8s} {r['precision']:5s} {r['impl']:13s} {r['s_per_step']:8.3f} s/step "
              f"{r['seq_per_s']:8.2f} seq/s  ×{r['speedup']:5.2f} vs step-by-step  "
              f"{r['gflops']:8.1f} GFLOP/step  {r['frac']:6.1%} of conv FLOP/s "
              f"({r['conv_gflops_s']:.1f} GFLOP/s: {r['conv']})", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", choices=sorted(CASES), action="append", help="default: all")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", action="append", choices=["fp32", "bf16", "fp16"],
                   help="default: fp32 and bf16 (CPU: bf16 autocast)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per implementation")
    p.add_argument("--steps", type=int, default=1, help="training steps per repeat")
    args = p.parse_args()
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                          if args.device == "auto" else args.device)
    precisions = args.precision or ["fp32", "bf16"]
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads; "
          f"paper widths; Adam; optimal σ per sequence; median of {args.repeats} repeats × "
          f"{args.steps} steps")
    for name in args.case or list(CASES):
        b, c, bs, n_past, n_future, z = CASES[name]
        print(f"-- {name}: {c} channel(s), B={bs}, {n_past}+{n_future} frames, z_dim={z}")
        run_case(name, device, precisions, args.repeats, args.steps)


if __name__ == "__main__":
    main()

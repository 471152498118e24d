"""Evaluation speed: batched best-of-N against the original SVG protocol, side by side.

The baseline follows the original SVG evaluation code: for each test sequence, one rollout per
sample in a Python loop, then PSNR and SSIM from scikit-image for every frame and channel. Ours:
all N samples of a batch of sequences roll out as one batch (skip maps decoded once per sequence)
and the metrics are computed in torch over (N, B, T) at once. Both use the same model and weights.
"Equal results" is checked on the baseline's own samples: our PSNR/SSIM of those samples must
match scikit-image's to 1e-4 and pick the same best sample.

    python benchmarks/eval_speed.py                       # SM-MNIST setting: dcgan64, 5 → 20, N = 100
    python benchmarks/eval_speed.py --videos 4 --n-samples 100 --backbone vgg64 --channels 3 --n-past 2 --n-future 28
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from data_loaders.moving_squares.dataset import moving_squares
from svg import SVG, ModelConfig
from svg.runtime import keep_freed_memory
from svg.eval.metrics import psnr, ssim
from svg.eval.scoring import best_of_n


def original_protocol(model, x, n_past, n_future, n_samples):
    """Per sequence: N rollouts one at a time, then scikit-image per frame and channel."""
    best_psnr, best_ssim, all_samples = [], [], []
    for b in range(x.shape[0]):
        ctx = x[b:b + 1, :n_past]
        samples = [model.generate(ctx, n_future, 1)[0, 0] for _ in range(n_samples)]   # (T, C, H, W)
        truth = x[b, n_past:].cpu().numpy()
        p = np.zeros((n_samples, n_future))
        s = np.zeros((n_samples, n_future))
        for i, sample in enumerate(samples):
            pred = sample[n_past:].cpu().numpy()
            for t in range(n_future):
                p[i, t] = np.mean([peak_signal_noise_ratio(truth[t, c], pred[t, c], data_range=1.0)
                                   for c in range(truth.shape[1])])
                s[i, t] = np.mean([structural_similarity(truth[t, c], pred[t, c], data_range=1.0)
                                   for c in range(truth.shape[1])])
        best_psnr.append(p.mean(1).max())
        best_ssim.append(s.mean(1).max())
        all_samples.append(torch.stack(samples))
    return np.array(best_psnr), np.array(best_ssim), torch.stack(all_samples, 1), (p, s)


def batched_protocol(model, x, n_past, n_future, n_samples):
    samples = model.generate(x[:, :n_past], n_future, n_samples)
    pred, truth = samples[:, :, n_past:], x[:, n_past:].unsqueeze(0).expand(n_samples, -1, -1, -1, -1, -1)
    return best_of_n(psnr(pred, truth), True), best_of_n(ssim(pred, truth, window="uniform"), True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(args, device: torch.device) -> None:
    torch.manual_seed(0)
    model = SVG(ModelConfig(backbone=args.backbone, channels=args.channels, n_past=args.n_past)
                ).to(device).eval()
    x = moving_squares(args.videos, args.n_past + args.n_future, model.image_size, args.channels,
                       generator=torch.Generator().manual_seed(0)).to(device)
    print(f"-- {device}: {args.backbone} (paper widths), {args.videos} videos, {args.n_past} → "
          f"{args.n_future} frames, N = {args.n_samples}", flush=True)

    sync(device)
    t0 = time.perf_counter()
    base_psnr, base_ssim, base_samples, (p_last, s_last) = original_protocol(
        model, x, args.n_past, args.n_future, args.n_samples)
    t_base = time.perf_counter() - t0

    times = []
    for _ in range(args.repeats):
        sync(device)
        t0 = time.perf_counter()
        batched_protocol(model, x, args.n_past, args.n_future, args.n_samples)
        sync(device)
        times.append(time.perf_counter() - t0)
    t_ours = float(np.median(times))

    # Equal results: our metrics on the baseline's own samples.
    pred = base_samples[:, :, args.n_past:]
    truth = x[:, args.n_past:].unsqueeze(0).expand_as(pred)
    ours_p, ours_s = best_of_n(psnr(pred, truth), True), best_of_n(ssim(pred, truth, window="uniform"), True)
    last = x.shape[0] - 1
    dp = np.abs(ours_p.per_sample[:, last].cpu().numpy() - p_last).max()
    ds = np.abs(ours_s.per_sample[:, last].cpu().numpy() - s_last).max()
    same_best = np.allclose(ours_p.best.cpu().numpy(), base_psnr, atol=1e-4) and np.allclose(
        ours_s.best.cpu().numpy(), base_ssim, atol=1e-4)
    per_video = lambda t: t / args.videos   # noqa: E731
    print(f"original protocol : {t_base:8.2f} s  ({per_video(t_base):.2f} s per video)")
    print(f"batched (median of {args.repeats}): {t_ours:8.2f} s  ({per_video(t_ours):.2f} s per video)"
          f"  runs: {', '.join(f'{t:.2f}' for t in times)}")
    print(f"speed-up          : ×{t_base / t_ours:.1f}")
    print(f"equal results     : max |PSNR − skimage| {dp:.2e} dB, max |SSIM − skimage| {ds:.2e}, "
          f"same best-of-N values: {same_best}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--n-samples", type=int, default=100)
    p.add_argument("--backbone", default="dcgan64")
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--n-past", type=int, default=5)
    p.add_argument("--n-future", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3, help="timed repeats of the batched side")
    p.add_argument("--device", action="append", help="default: cpu, and cuda when present")
    p.add_argument("--host-memory", choices=["keep", "default"], default="keep",
                   help="keep: glibc keeps freed memory (svg.runtime), as svg evaluate does on CPU")
    args = p.parse_args()
    kept = args.host_memory == "keep" and keep_freed_memory()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; host memory "
          f"{'kept' if kept else 'glibc default'} (both sides, one process)")
    for dev in args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else [])):
        run(args, torch.device(dev))


if __name__ == "__main__":
    main()

"""How much the metric protocol moves the numbers, measured side by side on the same frame pairs.

    python benchmarks/metric_protocols.py [--videos 64] [--frames 25]

Pairs: SM-MNIST test videos (the fixed set of the bundled digits, 5 → 20) against the simplest
real predictor, "repeat the last context frame", and against the true frames blurred by a 3×3
box filter (a typical blurry prediction). For each, SSIM with the standard 11×11 Gaussian window
(σ = 1.5), with scikit-image's default 7×7 uniform window, and with the 7×7 window at data range
2, which is what old scikit-image's ``compare_ssim`` used on floats (the original SVG code).
Colour: PSNR as the mean of per-channel PSNRs against the PSNR of the joint MSE, on 3-channel
bouncing squares with channel-dependent noise. All values are means over frames (± one standard
deviation over videos).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from skimage.metrics import structural_similarity

from data_loaders import build_dataset
from data_loaders.moving_squares.dataset import moving_squares
from svg.eval.metrics import psnr, ssim


def old_compare_ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """scikit-image's 7×7 uniform SSIM with data range 2 (old ``compare_ssim`` on floats), per frame."""
    out = [np.mean([structural_similarity(p[c].numpy(), t[c].numpy(), data_range=2.0)
                    for c in range(p.shape[0])]) for p, t in zip(pred.double(), target.double())]
    return torch.tensor(out)


def summary(name: str, per_video: torch.Tensor) -> str:
    return f"{name:40s} {per_video.mean().item():8.4f} ± {per_video.std().item():.4f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=int, default=64)
    p.add_argument("--frames", type=int, default=25)
    args = p.parse_args()
    x = torch.stack([build_dataset("smmnist", "test", None, args.frames)[i] for i in range(args.videos)]).double()
    target = x[:, 5:]                                                    # (V, 20, 1, 64, 64)
    preds = {"repeat last context frame": x[:, 4:5].expand_as(target),
             "3x3 box blur of the truth": torch.nn.functional.avg_pool2d(
                 target.flatten(0, 1), 3, 1, 1, count_include_pad=False).view_as(target)}
    print(f"SM-MNIST (bundled test digits), {args.videos} videos, 5 → {args.frames - 5}; mean SSIM per video")
    for label, pred in preds.items():
        g = ssim(pred, target, window="gaussian").mean(1)
        u = ssim(pred, target, window="uniform").mean(1)
        old = old_compare_ssim(pred.flatten(0, 1), target.flatten(0, 1)).view(args.videos, -1).mean(1)
        print(f"-- prediction: {label}")
        print(summary("SSIM Gaussian 11x11 (standard)", g))
        print(summary("SSIM uniform 7x7 (scikit-image default)", u))
        print(summary("SSIM uniform 7x7, data range 2 (old)", old))
        print(summary("  Gaussian − uniform", g - u))
        print(summary("  old (range 2) − uniform (range 1)", old - u))
    gen = torch.Generator().manual_seed(0)
    truth = moving_squares(args.videos, 20, 64, 3, generator=gen).double()
    scale = torch.tensor([0.02, 0.1, 0.3], dtype=torch.float64).view(1, 1, 3, 1, 1)
    noisy = (truth + scale * torch.randn(truth.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    per_channel = psnr(noisy, truth).mean(1)
    joint = (10 * torch.log10(1 / (noisy - truth).pow(2).flatten(2).mean(-1))).mean(1)
    print(f"\nColour squares, {args.videos} videos × 20 frames, noise σ = 0.02 / 0.1 / 0.3 per channel; PSNR dB")
    print(summary("mean of per-channel PSNRs (standard)", per_channel))
    print(summary("PSNR of the joint MSE", joint))
    print(summary("  per-channel − joint", per_channel - joint))


if __name__ == "__main__":
    main()

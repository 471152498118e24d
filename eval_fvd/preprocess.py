"""Video pre-processing of the reference FVD: 224×224 bilinear resize, values in [−1, 1], RGB."""
from __future__ import annotations

import torch

from core.errors import UserError

SIZE = 224


def legacy_bilinear_matrix(n_in: int, n_out: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(n_out, n_in) weights of TensorFlow 1's ``resize_bilinear`` (align_corners=False,
    half_pixel_centers=False), which the reference FVD uses: output i samples input i·n_in/n_out."""
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = src.floor().long().clamp(max=n_in - 1)
    hi = (lo + 1).clamp(max=n_in - 1)
    frac = src - lo
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m[torch.arange(n_out), lo] += 1 - frac
    m[torch.arange(n_out), hi] += frac
    return m.to(dtype=dtype, device=device)


def preprocess(videos: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """(N, T, C, H, W) float in [0, 1] with C = 1 or 3 → I3D input (N, 3, T, size, size) in [−1, 1]."""
    if videos.dim() != 5 or videos.shape[2] not in (1, 3):
        raise UserError(f"expected videos (N, T, C, H, W) with C = 1 or 3, got {tuple(videos.shape)}")
    if not videos.is_floating_point():
        raise UserError(f"expected float videos in [0, 1], got dtype {videos.dtype} (divide uint8 by 255)")
    lo, hi = torch.aminmax(videos)
    if not (lo >= 0 and hi <= 1):
        raise UserError(f"video values must lie in [0, 1], got [{lo.item():.4g}, {hi.item():.4g}]")
    h, w = videos.shape[-2:]
    mh = legacy_bilinear_matrix(h, size, videos.dtype, videos.device)
    mw = legacy_bilinear_matrix(w, size, videos.dtype, videos.device)
    resized = mh @ videos @ mw.T                                   # (N, T, C, size, size)
    if resized.shape[2] == 1:
        resized = resized.expand(-1, -1, 3, -1, -1)
    return (2 * resized - 1).permute(0, 2, 1, 3, 4).contiguous()

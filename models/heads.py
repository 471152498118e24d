"""Decoder heads: how the decoder's output becomes the predicted frame x̂_t.

``pixels`` is SVG's own: x̂_t = sigmoid(o), every pixel redrawn from the frame code and skips.
The motion heads reuse the previous frame x_{t−1} (the ground truth under teacher forcing, the
model's own frame when it generates), as SLAMP (Akan et al., ICCV 2021) does:

- ``composite``: x̂_t = m_t ⊙ x_{t−1} + (1 − m_t) ⊙ a_t
- ``warp``:      x̂_t = m_t ⊙ W(x_{t−1}, f_t) + (1 − m_t) ⊙ a_t

with the appearance a_t = sigmoid(o_a), the mask m_t = sigmoid(o_m + MASK_OFFSET) (one channel)
and the flow f_t = o_f in pixels (two channels, x then y). W samples x_{t−1} bilinearly at
p + f_t(p) (a backward flow: each output pixel says where it comes from), replicating the border
for points outside. The decoder gives the extra channels after the frame's own (and after the
per-pixel log σ, where the likelihood has one).

Initialisation: the head's channels of the decoder's final layer start at zero weight and bias
(:func:`zero_head_channels`), so at step 0 the flow is exactly 0 and the mask exactly
sigmoid(MASK_OFFSET) ≈ 0.88 everywhere: the model starts near copy-last-frame (the floor), and
learns where to move pixels and where to draw new ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .config import HEADS  # noqa: F401 (the heads' names, declared with model.head)
from .likelihood_base import at_least_float32

#: the mask's logit offset: sigmoid(2) ≈ 0.88 of the previous frame at initialisation
MASK_OFFSET = 2.0

_EXTRA = {"pixels": 0, "composite": 1, "warp": 3}


def head_channels(head: str) -> int:
    """Output channels the head adds to the decoder's: 0 (pixels), 1 (mask), 3 (mask, flow x, y)."""
    return _EXTRA[head]


@dataclass
class HeadOutput:
    """The predicted frames and what made them; N frames (at least float32 for the motion heads).

    mean : (N, C, H, W) x̂ in [0, 1], the frame the likelihood scores.
    log_sigma : (N, C, H, W) per-pixel log σ, or None when the likelihood has none.
    appearance : (N, C, H, W) a in [0, 1] (for ``pixels``, the frame itself).
    mask : (N, 1, H, W) m in [0, 1], the share of the (warped) previous frame; None for ``pixels``.
    flow : (N, 2, H, W) f in pixels (x, y), backward; None unless ``warp``.
    warped : (N, C, H, W) W(x_{t−1}, f_t) in [0, 1]; None unless ``warp``.
    """
    mean: torch.Tensor
    log_sigma: Optional[torch.Tensor]
    appearance: torch.Tensor
    mask: Optional[torch.Tensor] = None
    flow: Optional[torch.Tensor] = None
    warped: Optional[torch.Tensor] = None

    def branches(self) -> list:
        """The branch predictions that :attr:`models.config.ModelConfig.score_branches` scores
        beside the frame: the appearance (motion heads) and the warped previous frame (``warp``)."""
        if self.mask is None:
            return []
        return [self.appearance] + ([self.warped] if self.warped is not None else [])


def warp(prev: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: out[p] = prev[p + flow[p]], bilinear, border replicated.

    prev : (N, C, H, W) float; flow : (N, 2, H, W) displacement in pixels, channel 0 along x
    (width), channel 1 along y (height). Returns (N, C, H, W) in flow's dtype. A constant flow of
    (−dx, −dy) translates the image by (dx, dy).

    The same as ``F.grid_sample(..., padding_mode="border", align_corners=True)``, written with
    gathers so that a zero (or integer) flow returns pixels exactly: grid_sample's round trip
    through [−1, 1] coordinates moves them by up to 1e-5 in float32.
    """
    n, c, h, w = prev.shape
    # border padding is the sampling point clamped into the image (its gradient is then zero)
    xs = (torch.arange(w, device=flow.device, dtype=flow.dtype) + flow[:, 0]).clamp(0, w - 1)
    ys = (torch.arange(h, device=flow.device, dtype=flow.dtype).view(h, 1) + flow[:, 1]).clamp(0, h - 1)
    x0, y0 = xs.floor(), ys.floor()
    wx, wy = (xs - x0).unsqueeze(1), (ys - y0).unsqueeze(1)              # (N, 1, H, W)
    x0, y0 = x0.long(), y0.long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    flat = prev.to(flow.dtype).flatten(2)                                 # (N, C, H·W)

    def at(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        index = (yi * w + xi).flatten(1).unsqueeze(1).expand(n, c, h * w)
        return flat.gather(2, index).view(n, c, h, w)

    top = (1 - wx) * at(y0, x0) + wx * at(y0, x1)
    bottom = (1 - wx) * at(y1, x0) + wx * at(y1, x1)
    return (1 - wy) * top + wy * bottom


def compose(head: str, out: torch.Tensor, prev: Optional[torch.Tensor], channels: int,
            per_pixel_sigma: bool) -> HeadOutput:
    """The frame from the decoder's pre-activation output.

    head : one of :data:`HEADS`. out : (N, C·(1 + per_pixel_sigma) + head_channels(head), H, W).
    prev : (N, C, H, W) x_{t−1} in [0, 1] (needed unless ``pixels``). channels : C.
    """
    c = channels
    if head == "pixels":   # SVG's own, in the autocast precision as before
        appearance = torch.sigmoid(out[:, :c])
        return HeadOutput(appearance, out[:, c:] if per_pixel_sigma else None, appearance)
    # sigmoid, blend and sampling in fp32 at least, whatever the autocast precision
    out = at_least_float32(out)
    appearance = torch.sigmoid(out[:, :c])
    log_sigma = out[:, c:2 * c] if per_pixel_sigma else None
    extra = out[:, c * (2 if per_pixel_sigma else 1):]
    mask = torch.sigmoid(extra[:, :1] + MASK_OFFSET)
    prev = prev.to(out.dtype)
    flow = warped = None
    if head == "warp":
        flow = extra[:, 1:3]
        prev = warped = warp(prev, flow)
    mean = mask * prev + (1 - mask) * appearance
    return HeadOutput(mean, log_sigma, appearance, mask, flow, warped)


def zero_head_channels(decoder: nn.Module, first: int) -> None:
    """Zero the weights and biases that make output channels ``first:`` of ``decoder.out``.

    Every built-in decoder ends in a (transposed) convolution named ``out``; a decoder without one
    keeps its own initialisation (the head then starts away from copy-last-frame).
    """
    layer = getattr(decoder, "out", None)
    if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        return
    with torch.no_grad():
        # Conv2d stores (out, in, k, k); ConvTranspose2d stores (in, out, k, k)
        weight = layer.weight if isinstance(layer, nn.Conv2d) else layer.weight.transpose(0, 1)
        weight[first:].zero_()
        if layer.bias is not None:
            layer.bias[first:].zero_()

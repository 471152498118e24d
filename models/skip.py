"""Skip-connected convolutions that evaluate a shared skip map once, without gathering it.

A convolution is linear in its input channels, so ``conv(cat([x, skip]))`` splits into
``conv_x(x) + conv_skip(skip)``. SVG decodes many frames with the same skip maps (every predicted
frame of a sequence after the context, every sample of a rollout), so the skip half is computed
once per distinct map and added by broadcasting, never copied out per frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class SharedSkips:
    """Which skip map each decoded frame reads, without an index tensor.

    The N decoded frames are laid out as (repeats, maps, steps) and the M skip maps as
    (maps, used): frame (r, b, t) reads map (b, min(t, used − 1)). Training with teacher forcing:
    repeats = 1, maps = B sequences, steps = T − 1, ``used`` = frames whose maps are used (the
    maps freeze at frame used − 1). A rollout of N samples: repeats = N, steps = used = 1.
    """
    repeats: int
    steps: int
    used: int

    def rows(self, n_maps: int, device=None) -> torch.Tensor:
        """The same choice as an (N,) long index into the M maps (for reference and tests)."""
        t = torch.clamp(torch.arange(self.steps, device=device), max=self.used - 1)
        per_rep = (torch.arange(n_maps // self.used, device=device)[:, None] * self.used + t).flatten()
        return per_rep.repeat(self.repeats)


Rows = Optional[Union[torch.Tensor, SharedSkips]]


class _AddSharedSkips(torch.autograd.Function):
    """``out += term`` broadcast over a :class:`SharedSkips` layout, with a copy-free backward.

    Done with plain in-place adds on views of ``out``, autograd would record them as
    ``CopySlices`` and clone the whole output gradient once per view in backward; here the
    gradient of ``out`` passes through unchanged and that of ``term`` is a sum over the frames
    that read each map.
    """

    @staticmethod
    def forward(ctx, out, term, layout: SharedSkips):
        ctx.layout = layout
        maps = term.shape[0] // layout.used
        o = out.view(layout.repeats, maps, layout.steps, *out.shape[1:])
        s = term.view(1, maps, layout.used, *term.shape[1:])
        f = layout.used - 1   # steps 0..f−1 read their own map, steps f.. all read map f
        if f:
            o[:, :, :f].add_(s[:, :, :f])
        o[:, :, f:].add_(s[:, :, f:])
        ctx.mark_dirty(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        layout, grad_term = ctx.layout, None
        if ctx.needs_input_grad[1]:
            maps = grad.shape[0] // (layout.repeats * layout.steps)
            g = grad.view(layout.repeats, maps, layout.steps, *grad.shape[1:])
            f = layout.used - 1
            grad_term = grad.new_empty(maps, layout.used, *grad.shape[1:])
            if f:
                torch.sum(g[:, :, :f], 0, out=grad_term[:, :f])
            torch.sum(g[:, :, f:], (0, 2), out=grad_term[:, f])
            grad_term = grad_term.flatten(0, 1)
        return grad, grad_term, None


def add_skip_term(out: torch.Tensor, term: torch.Tensor, rows: Rows) -> torch.Tensor:
    """``out + term[rows]`` for out (N, C, H, W), term (M, C, H, W); ``out`` is overwritten.

    ``out`` must be a fresh result that autograd does not keep (a convolution's output), so the
    in-place add is safe. A :class:`SharedSkips` layout adds by broadcasting views (no copy of
    the maps per frame, forward or backward); an index tensor falls back to ``index_select``.
    """
    if rows is None:
        return out.add_(term)
    if isinstance(rows, torch.Tensor):
        return out.add_(term.index_select(0, rows))
    return _AddSharedSkips.apply(out, term, rows)


def _split_weight(conv: Union[nn.Conv2d, nn.ConvTranspose2d], c: int):
    if conv.groups != 1 or getattr(conv, "padding_mode", "zeros") != "zeros":
        raise ValueError("conv_cat needs groups=1 and zero padding")
    if isinstance(conv, nn.ConvTranspose2d):   # weight (in, out, kH, kW)
        return conv.weight[:c], conv.weight[c:]
    return conv.weight[:, :c], conv.weight[:, c:]   # weight (out, in, kH, kW)


def _apply(conv, inp, w, b):
    if isinstance(conv, nn.ConvTranspose2d):
        return F.conv_transpose2d(inp, w, b, conv.stride, conv.padding, conv.output_padding,
                                  conv.groups, conv.dilation)
    return F.conv2d(inp, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)


def conv_cat(conv: Union[nn.Conv2d, nn.ConvTranspose2d], x: torch.Tensor, skip: torch.Tensor,
             rows: Rows = None) -> torch.Tensor:
    """``conv(cat([x, skip[rows]], dim=1))``, with the skip term computed once per skip map.

    Parameters
    ----------
    conv : the layer whose input channels are ``x``'s followed by ``skip``'s (groups = 1).
    x : (N, Cx, H, W) input.
    skip : (M, Cs, H, W) skip maps; M = N when ``rows`` is None.
    rows : None (aligned), a :class:`SharedSkips` layout, or an (N,) long index of maps.
    """
    if rows is None:
        return conv(torch.cat([x, skip], 1))
    w_x, w_s = _split_weight(conv, x.shape[1])
    return add_skip_term(_apply(conv, x, w_x, conv.bias), _apply(conv, skip, w_s, None), rows)


# Nearest 2× upsampling then a 3×3 convolution (padding 1) is one stride-2 transposed
# convolution with a 4×4 kernel: along each axis, output 2m reads inputs m−1 (tap 0) and m
# (taps 1 + 2), output 2m + 1 reads m (taps 0 + 1) and m + 1 (tap 2). Row k of _FOLD lists the
# 3×3 taps summed into transposed-kernel index k. 2.25× fewer multiply-adds, no upsampled copy.
_FOLD = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))


def upsampled_conv_weight(w: torch.Tensor) -> torch.Tensor:
    """3×3 conv weight (out, in, 3, 3) → the equivalent stride-2 transposed weight (in, out, 4, 4)."""
    a = torch.tensor(_FOLD, dtype=w.dtype, device=w.device)
    return torch.einsum("ak,oikl,bl->ioab", a, w, a)


def upsample_conv_cat(conv: nn.Conv2d, x: torch.Tensor, skip: torch.Tensor,
                      rows: Rows = None) -> torch.Tensor:
    """``conv(cat([upsample_nearest_2x(x), skip[rows]], dim=1))`` for a 3×3, stride-1, padding-1
    convolution, computed without upsampling: the x half as a stride-2 transposed convolution.

    x : (N, Cx, H, W); skip : (M, Cs, 2H, 2W); rows as in :func:`conv_cat`. → (N, out, 2H, 2W).
    """
    if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.padding != (1, 1) \
            or conv.dilation != (1, 1):
        raise ValueError(f"upsample_conv_cat needs a 3×3 convolution with stride 1 and padding 1, "
                         f"got {conv}")
    w_x, w_s = _split_weight(conv, x.shape[1])
    out = F.conv_transpose2d(x, upsampled_conv_weight(w_x), conv.bias, stride=2, padding=1)
    return add_skip_term(out, F.conv2d(skip, w_s, None, 1, 1), rows)

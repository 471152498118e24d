"""Skip-connected convolutions that evaluate a shared skip map once."""
from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn
from torch.nn import functional as F


def conv_cat(conv: Union[nn.Conv2d, nn.ConvTranspose2d], x: torch.Tensor, skip: torch.Tensor,
             rows: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``conv(cat([x, skip[rows]], dim=1))``, with the skip term computed once per skip map.

    A convolution is linear in its input channels, so the concatenation splits into
    ``conv_x(x) + conv_skip(skip)[rows]``. When many frames share a skip map (SVG decodes every
    predicted frame with the last context frame's maps, and every sample of a rollout with its
    sequence's maps), this computes the skip half once per distinct map instead of once per frame.

    Parameters
    ----------
    conv : the layer whose input channels are ``x``'s followed by ``skip``'s (groups = 1).
    x : (N, Cx, H, W) input.
    skip : (M, Cs, H, W) skip maps; M = N when ``rows`` is None.
    rows : optional (N,) long, the skip map of each of the N frames.
    """
    if rows is None:
        return conv(torch.cat([x, skip], 1))
    if conv.groups != 1 or getattr(conv, "padding_mode", "zeros") != "zeros":
        raise ValueError("conv_cat needs groups=1 and zero padding")
    c = x.shape[1]
    if isinstance(conv, nn.ConvTranspose2d):   # weight (in, out, kH, kW)
        w_x, w_s = conv.weight[:c], conv.weight[c:]

        def op(inp, w, b):
            return F.conv_transpose2d(inp, w, b, conv.stride, conv.padding, conv.output_padding,
                                      conv.groups, conv.dilation)
    else:                                      # weight (out, in, kH, kW)
        w_x, w_s = conv.weight[:, :c], conv.weight[:, c:]

        def op(inp, w, b):
            return F.conv2d(inp, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    return op(x, w_x, conv.bias) + op(skip, w_s, None).index_select(0, rows)

"""The backbone contract: what a frame encoder/decoder pair must do to plug into SVG.

One file, one registry line: a new backbone is a module of ``models`` with an encoder and a
decoder subclassing these, and one ``register_backbone(name, Backbone(encoder, decoder,
image_size, skip_shapes[, Options]))`` line (:mod:`models.backbones`). The registry imports the
module by itself, and the model tests, parametrised over the registry, check it (shapes against
its declared ``skip_shapes``, loss, gradients) the moment it is there.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import nn


class FrameEncoder(nn.Module):
    """Encodes frames into a vector code and skip feature maps.

    Constructed as ``Encoder(g_dim, channels, image_size, width, **options)`` (options: the
    backbone's declared ``Options``, none for the built-in ones).
    ``forward(x)``: x (N, channels, S, S) float in [0, 1] → ``(h, skips)``:
    h (N, g_dim) in (−1, 1) (tanh), and skips, a list of feature maps (N, c_k, h_k, w_k) ordered
    finest (largest) first, one per decoder block. N is any number of frames: SVG folds time into
    the batch, so a layer must treat frames independently (BatchNorm statistics aside).
    """

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        raise NotImplementedError


class FrameDecoder(nn.Module):
    """Decodes a vector code plus the encoder's skip maps into a frame's pre-activations.

    Constructed as ``Decoder(g_dim, out_channels, image_size, width, **options)``.
    ``forward(g, skips, rows=None)``: g (N, g_dim); skips, the encoder's maps finest first, each
    (M, c_k, h_k, w_k); rows says which map each frame reads: None (M = N, aligned), an (N,) long
    index, or a :class:`models.skip.SharedSkips` layout. Many frames share skip maps (every
    predicted frame of SVG reads the last context frame's), so a decoder computes the
    skip-dependent part once per distinct map: use :func:`models.skip.conv_cat` for each
    convolution that reads a skip map. Returns (N, out_channels, S, S) *pre-activation* values:
    the model applies the sigmoid and reads any extra channels (a per-pixel log σ).
    """

    def forward(self, g: torch.Tensor, skips: Sequence[torch.Tensor], rows=None) -> torch.Tensor:
        raise NotImplementedError

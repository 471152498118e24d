"""DCGAN frame encoder/decoder with skip connections (SVG's ``dcgan_64`` and ``dcgan_128``)."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import nn

from .base import FrameDecoder, FrameEncoder
from .backbones import Backbone, register_backbone
from .skip import Rows, conv_cat

# Channels of the strided blocks in units of ``width`` (64 in the paper); the 128-pixel variant
# adds one block.
DCGAN_MULTIPLIERS = {64: (1, 2, 4, 8), 128: (1, 2, 4, 8, 8)}


def dcgan_widths(image_size: int, width: int) -> tuple:
    return tuple(m * width for m in DCGAN_MULTIPLIERS[image_size])


def dcgan_skip_shapes(image_size: int, width: int) -> list:
    """(channels, side) of each skip map, finest first: every strided block halves the side."""
    return [(c, image_size // 2 ** (i + 1)) for i, c in enumerate(dcgan_widths(image_size, width))]


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.2, inplace=True))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.2, inplace=True))


class DCGANEncoder(FrameEncoder):
    """Strided 4×4 convolutions down to a 4×4 map, then a 4×4 convolution to a ``g_dim`` vector.

    Input (N, C, S, S) float in [0, 1] with S = ``image_size``; output ``h`` (N, g_dim) in (-1, 1)
    (tanh) and the list of block outputs, finest first, for the decoder's skips.
    """

    def __init__(self, g_dim: int, channels: int, image_size: int = 64, width: int = 64):
        super().__init__()
        widths = dcgan_widths(image_size, width)
        ins = (channels,) + widths[:-1]
        self.blocks = nn.ModuleList(_down(i, o) for i, o in zip(ins, widths))
        self.head = nn.Sequential(nn.Conv2d(widths[-1], g_dim, 4, 1, 0), nn.BatchNorm2d(g_dim), nn.Tanh())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)
        return self.head(x).flatten(1), skips


class DCGANDecoder(FrameDecoder):
    """Mirror of :class:`DCGANEncoder`; each block sees its input concatenated with the skip map.

    Returns pre-activation outputs (N, out_channels, S, S); the caller applies the sigmoid (or reads
    extra channels, e.g. a per-pixel log σ).
    """

    def __init__(self, g_dim: int, out_channels: int, image_size: int = 64, width: int = 64):
        super().__init__()
        widths = dcgan_widths(image_size, width)
        self.g_dim = g_dim
        self.head = nn.Sequential(nn.ConvTranspose2d(g_dim, widths[-1], 4, 1, 0),
                                  nn.BatchNorm2d(widths[-1]), nn.LeakyReLU(0.2, inplace=True))
        rev = widths[::-1]                     # e.g. 512, 256, 128, 64
        self.blocks = nn.ModuleList(_up(2 * rev[i], rev[i + 1]) for i in range(len(rev) - 1))
        self.out = nn.ConvTranspose2d(2 * rev[-1], out_channels, 4, 2, 1)

    def forward(self, h: torch.Tensor, skips: Sequence[torch.Tensor],
                rows: Rows = None) -> torch.Tensor:
        """h (N, g_dim); skips: the encoder's maps, finest first, each (M, c, h, w); rows: which
        map each frame reads (None: M = N, aligned; see models.skip). → (N, out_channels, S, S)."""
        x = self.head(h.view(-1, self.g_dim, 1, 1))
        for block, skip in zip(self.blocks, reversed(skips[1:])):
            x = block[1:](conv_cat(block[0], x, skip, rows))
        return conv_cat(self.out, x, skips[0], rows)


register_backbone("dcgan64", Backbone(DCGANEncoder, DCGANDecoder, 64, dcgan_skip_shapes))
register_backbone("dcgan128", Backbone(DCGANEncoder, DCGANDecoder, 128, dcgan_skip_shapes))

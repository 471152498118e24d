"""VGG frame encoder/decoder with skip connections (SVG's ``vgg_64`` and ``vgg_128``)."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .base import FrameDecoder, FrameEncoder
from .backbones import Backbone, register_backbone
from .skip import Rows, upsample_conv_cat

# Output widths of the 3×3 layers in each encoder block, finest resolution first, in units of
# ``width`` (64 in the paper); max-pooling between blocks. The 128-pixel variant adds one block.
VGG_MULTIPLIERS = {
    64: ((1, 1), (2, 2), (4, 4, 4), (8, 8, 8)),
    128: ((1, 1), (2, 2), (4, 4, 4), (8, 8, 8), (8, 8, 8)),
}


def vgg_blocks(image_size: int, width: int) -> tuple:
    return tuple(tuple(m * width for m in block) for block in VGG_MULTIPLIERS[image_size])


def vgg_skip_shapes(image_size: int, width: int) -> list:
    """(channels, side) of each skip map, finest first: block outputs before pooling."""
    return [(b[-1], image_size // 2 ** i) for i, b in enumerate(vgg_blocks(image_size, width))]


def _layer(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1), nn.BatchNorm2d(c_out),
                         nn.LeakyReLU(0.2, inplace=True))


def _stack(c_in: int, widths: Sequence[int]) -> nn.Sequential:
    layers = []
    for w in widths:
        layers.append(_layer(c_in, w))
        c_in = w
    return nn.Sequential(*layers)


class VGGEncoder(FrameEncoder):
    """VGG blocks with 2×2 max-pooling down to 4×4, then a 4×4 convolution to a ``g_dim`` vector.

    Input (N, C, S, S) float in [0, 1]; output ``h`` (N, g_dim) in (-1, 1) and the block outputs
    (before pooling), finest first.
    """

    def __init__(self, g_dim: int, channels: int, image_size: int = 64, width: int = 64):
        super().__init__()
        blocks = vgg_blocks(image_size, width)
        ins = (channels,) + tuple(b[-1] for b in blocks[:-1])
        self.blocks = nn.ModuleList(_stack(i, b) for i, b in zip(ins, blocks))
        self.head = nn.Sequential(nn.Conv2d(blocks[-1][-1], g_dim, 4, 1, 0), nn.BatchNorm2d(g_dim),
                                  nn.Tanh())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        skips = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        return self.head(F.max_pool2d(x, 2)).flatten(1), skips


class VGGDecoder(FrameDecoder):
    """Mirror of :class:`VGGEncoder`: each block reads the coarser result at twice its size
    together with the skip map of its encoder block.

    Each block mirrors an encoder block in reverse: its first layer is, as a function, a 3×3
    convolution of [nearest 2× upsampled input, skip] (computed without either copy, see
    :meth:`forward`), and (but for the finest) its last layer narrows to the next finer block's
    width. A 3×3 transposed convolution maps to ``out_channels`` (pre-activation).
    """

    def __init__(self, g_dim: int, out_channels: int, image_size: int = 64, width: int = 64):
        super().__init__()
        blocks = vgg_blocks(image_size, width)
        self.g_dim = g_dim
        top = blocks[-1][-1]
        self.head = nn.Sequential(nn.ConvTranspose2d(g_dim, top, 4, 1, 0), nn.BatchNorm2d(top),
                                  nn.LeakyReLU(0.2, inplace=True))
        self.blocks = nn.ModuleList()
        c_in = top
        for level in range(len(blocks) - 1, -1, -1):
            enc = blocks[level]                      # widths of the mirrored encoder block
            widths = tuple(reversed(enc[:-1])) + ((blocks[level - 1][-1],) if level else ())
            self.blocks.append(_stack(c_in + enc[-1], widths))
            c_in = widths[-1]
        self.out = nn.ConvTranspose2d(c_in, out_channels, 3, 1, 1)

    def forward(self, h: torch.Tensor, skips: Sequence[torch.Tensor],
                rows: Rows = None) -> torch.Tensor:
        """h (N, g_dim); skips: the encoder's maps, finest first, each (M, c, h, w); rows: which
        map each frame reads (None: M = N, aligned; see models.skip). → (N, out_channels, S, S).

        Nothing is upsampled or concatenated: each block's first layer computes what a 3×3
        convolution of [upsample(x), skip] would give with :func:`models.skip.upsample_conv_cat`:
        the x part as one stride-2 transposed convolution of the coarse map (2.25× fewer
        multiply-adds, no upsampled copy) and the skip part once per distinct skip map (``rows``),
        added together; then that layer's BatchNorm and LeakyReLU, and the block's other layers."""
        x = self.head(h.view(-1, self.g_dim, 1, 1))
        for block, skip in zip(self.blocks, reversed(skips)):
            first = block[0]
            x = block[1:](first[1:](upsample_conv_cat(first[0], x, skip, rows)))
        return self.out(x)


register_backbone("vgg64", Backbone(VGGEncoder, VGGDecoder, 64, vgg_skip_shapes))
register_backbone("vgg128", Backbone(VGGEncoder, VGGDecoder, 128, vgg_skip_shapes))

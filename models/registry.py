"""Config names → frame encoder/decoder pairs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from torch import nn

from .dcgan import DCGANDecoder, DCGANEncoder
from .errors import UserError
from .vgg import VGGDecoder, VGGEncoder


@dataclass(frozen=True)
class Backbone:
    """A frame encoder/decoder family at one resolution (the contract: :mod:`models.base`)."""
    encoder: Callable[..., nn.Module]   # (g_dim, channels, image_size, width) -> encoder
    decoder: Callable[..., nn.Module]   # (g_dim, out_channels, image_size, width) -> decoder
    image_size: int


BACKBONES: Dict[str, Backbone] = {
    "dcgan64": Backbone(DCGANEncoder, DCGANDecoder, 64),
    "dcgan128": Backbone(DCGANEncoder, DCGANDecoder, 128),
    "vgg64": Backbone(VGGEncoder, VGGDecoder, 64),
    "vgg128": Backbone(VGGEncoder, VGGDecoder, 128),
}


def get_backbone(name: str) -> Backbone:
    """Look up a backbone by config name; unknown names raise ``ValueError`` listing valid ones."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise UserError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None


def build_backbone(name: str, g_dim: int, channels: int, out_channels: int, width: int = 64
                   ) -> Tuple[nn.Module, nn.Module]:
    """Build (encoder, decoder) for ``name``; the decoder emits ``out_channels`` pre-activations.

    ``width`` is the channel count of the finest block (64 in the paper); the others scale with it.
    """
    bb = get_backbone(name)
    if width < 1:
        raise UserError(f"backbone width must be >= 1, got {width}")
    return (bb.encoder(g_dim, channels, bb.image_size, width),
            bb.decoder(g_dim, out_channels, bb.image_size, width))

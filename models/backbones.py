"""Config names → frame encoder/decoder pairs (the backbone registry).

One file, one registry line: a new backbone is a module of ``models`` with an encoder and a
decoder following :mod:`models.base` and one ``register_backbone(name, Backbone(...))`` line; the
registry finds the module by itself, and the model tests, parametrised over it, take their
expectations (image size, skip map shapes) from the entry.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from torch import nn

from core.registry import NoOptions, Registry
from core.errors import UserError


@dataclass(frozen=True)
class Backbone:
    """A frame encoder/decoder family at one resolution (the contract: :mod:`models.base`).

    encoder : (g_dim, channels, image_size, width, **options) → encoder.
    decoder : (g_dim, out_channels, image_size, width, **options) → decoder.
    image_size : S of the (C, S, S) frames it reads and writes.
    skip_shapes : (image_size, width) → the encoder's skip maps as (channels, side), finest first.
    Options : the options it declares (``model.backbone_options``), a dataclass with defaults.
    """
    encoder: Callable[..., nn.Module]
    decoder: Callable[..., nn.Module]
    image_size: int
    skip_shapes: Callable[[int, int], List[Tuple[int, int]]]
    Options: type = NoOptions


#: Config name → backbone; finds the backbones in every module of ``models``.
BACKBONES: Registry[Backbone] = Registry("backbone", ["models"])


def register_backbone(name: str, backbone: Backbone) -> Backbone:
    """Make ``backbone`` selectable as ``model.backbone: <name>``."""
    return BACKBONES.add(name, backbone)


def get_backbone(name: str) -> Backbone:
    """Look up a backbone by config name; unknown names raise ``UserError`` listing valid ones."""
    return BACKBONES.lookup(name)


def build_backbone(name: str, g_dim: int, channels: int, out_channels: int, width: int = 64,
                   options: Optional[Any] = None) -> Tuple[nn.Module, nn.Module]:
    """Build (encoder, decoder) for ``name``; the decoder emits ``out_channels`` pre-activations.

    ``width`` is the channel count of the finest block (64 in the paper); the others scale with it.
    ``options`` : the backbone's options, a dict (``model.backbone_options``) or its ``Options``.
    """
    bb = get_backbone(name)
    if width < 1:
        raise UserError(f"backbone width must be >= 1, got {width}")
    opts = options if dataclasses.is_dataclass(options) else bb.Options(**(options or {}))
    kw = dataclasses.asdict(opts)
    return (bb.encoder(g_dim, channels, bb.image_size, width, **kw),
            bb.decoder(g_dim, out_channels, bb.image_size, width, **kw))

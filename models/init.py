"""Weight initialisation used by SVG (DCGAN style)."""
from __future__ import annotations

from torch import nn


def init_weights(module: nn.Module) -> None:
    """Conv/linear weights ~ N(0, 0.02), biases 0; BatchNorm weights ~ N(1, 0.02), biases 0.

    Apply with ``model.apply(init_weights)``. LSTM weights keep PyTorch's default (as in SVG).
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)

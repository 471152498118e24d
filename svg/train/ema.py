"""An exponential moving average (EMA) of a model's weights, the copy that is validated,
checkpointed, evaluated and shipped when ``train.ema`` is set.

Each update moves every floating-point parameter and buffer of the average towards the live
model's: ``avg ← d·avg + (1 − d)·live``, with ``d = min(decay, (1 + n) / (10 + n))`` after ``n``
updates (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``), so a short run's average is
not dominated by the initial weights. BatchNorm's running statistics are averaged with the same
decay (as timm's ``ModelEmaV2`` does), so they follow the averaged weights rather than the last
iterate; integer buffers (``num_batches_tracked``) are copied.

Written here rather than with ``torch.optim.swa_utils.AveragedModel``: that class reads its update
count back from the device (``bool(n_averaged == 0)``) on every update, a host synchronisation per
step on a GPU, and takes no step-dependent decay.
"""
from __future__ import annotations

import copy
from typing import Any, Dict

import torch
from torch import nn


class EMA:
    """The averaged copy of ``model`` (same class, same device, never trained directly).

    Parameters
    ----------
    model : the live model; its weights at construction start the average.
    decay : the long-run decay ``d`` in (0, 1), e.g. 0.999 (a horizon of about 1/(1 − d) steps).
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = float(decay)
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights (one optimiser step's worth)."""
        d = self.current_decay()
        avg, live = [], []
        for a, b in zip(self.model.state_dict().values(), model.state_dict().values()):
            if a.is_floating_point():
                avg.append(a)
                live.append(b.detach())
            else:
                a.copy_(b)
        torch._foreach_lerp_(avg, live, 1.0 - d)
        self.updates += 1

    def state_dict(self) -> Dict[str, Any]:
        return {"model": self.model.state_dict(), "decay": self.decay, "updates": self.updates}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore the average and its update count (the decay is the one asked for now)."""
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])

"""The learning rate of each step: an optional linear warm-up, then constant, cosine or linear
decay to a final fraction of ``train.lr``, defined over the whole run.

The rate is a pure function of the step, so a resumed run continues the schedule exactly (nothing
about it is stored in a checkpoint).
"""
from __future__ import annotations

import math

from svg.config.schema import LR_SCHEDULES as SCHEDULES


def learning_rate(step: int, base_lr: float, total: int, schedule: str = "constant",
                  warmup: int = 0, final_fraction: float = 0.0) -> float:
    """The rate of the update made at (0-based) ``step`` of a ``total``-step run.

    Parameters
    ----------
    step : 0 … total − 1; the update that turns step ``step`` into ``step + 1``.
    base_lr : the peak rate (``train.lr``).
    schedule : constant | cosine | linear.
    warmup : steps of linear warm-up from ``base_lr / warmup`` to ``base_lr`` (0: none).
    final_fraction : the rate reached at the end of the decay, as a fraction of ``base_lr``
        (cosine and linear only; constant ignores it).

    After the warm-up the decay's progress is ``p = (step − warmup) / (total − warmup)`` in
    [0, 1): cosine gives ``f + (1 − f)·(1 + cos πp)/2``, linear ``1 − (1 − f)·p``, times
    ``base_lr``.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; choose one of {SCHEDULES}")
    if step < warmup:
        return base_lr * (step + 1) / warmup
    if schedule == "constant":
        return base_lr
    p = (step - warmup) / max(1, total - warmup)
    f = final_fraction
    if schedule == "cosine":
        return base_lr * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * p)))
    return base_lr * (1 - (1 - f) * p)

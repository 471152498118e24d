"""The learning rate of each step: an optional linear warm-up, then constant, cosine or linear
decay to a final fraction of ``train.lr``, defined over the whole run.

The rate is a pure function of the step and of the run's length, so a resumed run with the same
settings continues the schedule exactly (nothing about it is stored in a checkpoint); one whose
length or schedule changed takes the new schedule's rate at once, which
:func:`resume_rate_change` puts into words.
"""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Mapping, Optional, Union

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


def rate_of(step: int, train: Any) -> float:
    """The rate of ``step`` under a ``train`` config section (a TrainConfig or anything with its
    fields): :func:`learning_rate` over ``epochs × steps_per_epoch`` steps."""
    return learning_rate(step, train.lr, train.epochs * train.steps_per_epoch, train.lr_schedule,
                         train.lr_warmup, train.lr_final_fraction)


def _described(train: Any) -> str:
    total = train.epochs * train.steps_per_epoch
    warm = f", {train.lr_warmup} warm-up" if train.lr_warmup else ""
    return f"{train.lr_schedule} from {train.lr:.3g} over {total} steps{warm}"


def resume_rate_change(saved: Union[Mapping[str, Any], Any], train: Any, step: int) -> Optional[str]:
    """What a resume at ``step`` does to the rate, or None when it continues unchanged.

    saved : the checkpoint's ``train`` section (a dict or a TrainConfig); train : today's.
    The rate of the last update (``step`` − 1) and of the next under the checkpoint's settings
    are compared with the next under today's: lengthening a cosine run from 40 to 60 steps at
    step 40 moves it from about 5e-6 back up to 6.9e-4, which the settings' diff alone does not say.
    """
    old = SimpleNamespace(**saved) if isinstance(saved, Mapping) else saved
    would, now = rate_of(step, old), rate_of(step, train)
    if math.isclose(would, now, rel_tol=1e-9, abs_tol=0.0):
        return None
    last = f"the last update used {rate_of(step - 1, old):.3g}; " if step > 0 else ""
    return (f"the learning rate jumps on resume at step {step}: {last}the checkpoint's schedule "
            f"({_described(old)}) goes on at {would:.3g}, today's ({_described(train)}) at "
            f"{now:.3g}; a schedule is a function of the step and of the run's length, so "
            f"lengthening a decaying run raises its rate again (docs/training.md, Resuming)")

"""Per-frame quality metrics by name, each with its direction, its options and its protocol text.

This registry is the only place evaluation code learns about metrics: ``svg evaluate`` (its
``--metrics`` choices and each metric's option flags), the trainer's end-of-run report and the
written protocol all read it. One file, one registry line: a new metric is a scoring function
and one ``register_metric(Metric(...))`` line in any module of :mod:`svg.eval` (the built-in
ones: :mod:`svg.eval.metrics`); the registry imports those modules on its first lookup, and the
metric tests loop over it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, List, Tuple

import torch

from core.registry import NoOptions, Registry
from core.errors import UserError
from svg.config import EvalConfig

#: pred, target (..., C, H, W) in [0, 1] → per-frame scores (...)
Scorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Metric:
    """A per-frame metric.

    name : its key in reports and the registry.
    higher_is_better : the direction best-of-N selects by (max PSNR/SSIM, min LPIPS).
    build : (device, options) → scorer; may load a network once (LPIPS).
    describe : options → one line stating exactly what is computed, written next to the number.
    Options : its options, a dataclass with defaults (``EvalConfig.metric_options[name]``).
        ``svg evaluate`` gets a flag for each: ``--<metric>-<option>`` unless the field's
        metadata names another ``flag``; metadata ``choices`` limits the values, ``help``
        explains it, and ``off`` is a value that leaves the metric out (``--lpips none``).
    """
    name: str
    higher_is_better: bool
    build: Callable[[torch.device, Any], Scorer]
    describe: Callable[[Any], str]
    Options: type = NoOptions

    def options(self, cfg: EvalConfig) -> Any:
        """This metric's options in ``cfg.metric_options``, checked against :attr:`Options`."""
        from svg.config.entries import checked_options

        given = checked_options(self.Options, cfg.metric_options.get(self.name, {}),
                                "the evaluation options", f"metric_options.{self.name}.")
        return self.Options(**given)

    def scorer(self, device: torch.device, cfg: EvalConfig) -> Scorer:
        """The scoring function with ``cfg``'s options for this metric."""
        return self.build(device, self.options(cfg))

    def protocol(self, cfg: EvalConfig) -> str:
        """What is computed with ``cfg``'s options, in one line."""
        return self.describe(self.options(cfg))


#: Config name → metric; finds the metrics in every module of ``svg.eval``.
METRICS: Registry[Metric] = Registry("metric", ["svg.eval"])


def register_metric(metric: Metric) -> Metric:
    """Make ``metric`` selectable by name (``--metrics``, ``EvalConfig.metrics``)."""
    return METRICS.add(metric.name, metric)


def get_metrics(names: List[str]) -> List[Metric]:
    """The registry entries for ``names``, in order; unknown names raise ``UserError``."""
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise UserError(f"unknown metric(s) {unknown}; choose from {sorted(METRICS)}")
    if not names:
        raise UserError(f"no metric asked for; choose from {sorted(METRICS)}")
    return [METRICS[n] for n in names]


def selection_rule(metrics: List[Metric]) -> str:
    """How best-of-N picks per metric, e.g. "max PSNR/SSIM, min LPIPS"."""
    parts = [f"{word} {'/'.join(m.name.upper() for m in metrics if m.higher_is_better == up)}"
             for word, up in (("max", True), ("min", False))
             if any(m.higher_is_better == up for m in metrics)]
    return ", ".join(parts)


def option_flags(metric: Metric) -> List[Tuple[str, dataclasses.Field]]:
    """The option fields of ``metric`` with their command-line flag names, as (flag, field)."""
    return [(f.metadata.get("flag", f"--{metric.name}-{f.name.replace('_', '-')}"), f)
            for f in dataclasses.fields(metric.Options)]

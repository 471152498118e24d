"""The options each registry entry declares, checked when a config is read.

A likelihood, backbone, dataset or metric declares its options as a small dataclass (``Options``)
next to its code; a config gives them where users always wrote them::

    model:
      likelihood: {name: optimal, axes: frame}   # the likelihood's options next to its name
      backbone_options: {}                       # the backbone's
    data:
      options: {num_digits: 3}                   # the dataset's

:func:`svg.config.read_config` checks them here against the chosen entry, with the same plain
errors as every other key ("unknown config key 'K' in WHERE; valid keys here: ..." and "bad value
for config key 'K' in WHERE: ..."), so no shared config class grows for a new entry.

When a config switches to another likelihood, the options both have carry over and the old
one's own options are dropped, with a warning for any that was not at its default.

This module is the config reader's part that knows the registries: merging a layer with plain
errors, each entry's options, the datasets' default horizons and frame shapes.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Dict, List, Mapping

from data_loaders import DATASETS
from core.registry import option_names
from core.errors import UserError
from models.likelihood_base import LIKELIHOODS
from models.backbones import BACKBONES

log = logging.getLogger(__name__)

def section_keys(node: Any, path: str) -> List[str]:
    """The keys that the config section holding dotted ``path`` accepts (``node``: a Config)."""
    for part in [p for p in path.split(".")[:-1] if p]:
        node = getattr(node, part, None)
    if node is None or not dataclasses.is_dataclass(node):
        return []
    return [f.name for f in dataclasses.fields(node)]


def merge_or_explain(cfg: Any, src: Any, where: str, valid_keys: Callable[[str], List[str]],
                     prefix: str = "", stored: bool = False) -> Any:
    """``OmegaConf.merge(cfg, src)``; an unknown key or a badly typed value raises ``ValueError``
    naming the key (``prefix`` + its path in ``cfg``), ``where`` it came from, and for an unknown
    key ``valid_keys(path)``. ``stored``: ``src`` was written by an earlier version (a
    checkpoint's config), and the message says it does not fit this one."""
    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

    # ValueError, as these messages always were (tests/test_cli_errors.py reads the class name)
    try:
        return OmegaConf.merge(cfg, src)
    except OmegaConfBaseException as e:
        if stored:
            raise UserError(f"config stored in {where} does not fit this version: key "
                            f"{e.full_key!r}: {str(e).splitlines()[0]}") from None
        if not isinstance(e, ConfigKeyError):
            raise UserError(f"bad value for config key {prefix + e.full_key!r} in {where}: "
                            f"{str(e).splitlines()[0]}") from None
        raise UserError(f"unknown config key {prefix + e.full_key!r} in {where}; valid keys here: "
                        f"{', '.join(valid_keys(e.full_key))}") from None


def _lookup(registry: Any, name: Any, key: str, where: str) -> Any:
    try:
        return registry.lookup(name)
    except UserError as e:
        raise UserError(f"bad value for config key {key!r} in {where}: {e}") from None


def checked_options(options_class: type, given: Mapping[str, Any], where: str, prefix: str
                    ) -> Dict[str, Any]:
    """The ``given`` options, type-checked and converted against the ``options_class`` dataclass;
    only the keys given (the entry's defaults stay implicit)."""
    from omegaconf import OmegaConf

    node = merge_or_explain(OmegaConf.structured(options_class), dict(given), where,
                            lambda key: option_names(options_class), prefix)
    values = OmegaConf.to_container(node)
    return {k: values[k] for k in given}


def _warn_unused(options: Mapping[str, Any], defaults: Mapping[str, Any], message: str) -> None:
    unused = {k: v for k, v in options.items() if k in defaults and v != defaults[k]}
    if unused:
        log.warning(message, unused)


def likelihood_config(current: Mapping[str, Any], given: Mapping[str, Any], where: str) -> Any:
    """``model.likelihood`` after ``given`` (a mapping from ``where``) is applied to ``current``:
    an instance of the chosen likelihood's ``Config`` (its name and options)."""
    from omegaconf import OmegaConf

    name = given.get("name", current.get("name"))
    entry = _lookup(LIKELIHOODS, name, "model.likelihood.name", where)
    valid = option_names(entry.Config)
    carried = {k: v for k, v in current.items() if k in valid}
    if name != current.get("name"):
        old = LIKELIHOODS.get(current.get("name"))
        _warn_unused({k: v for k, v in current.items() if k not in valid},
                     dataclasses.asdict(old.Config()) if old else {},
                     f"{where} switches model.likelihood.name to {name}: dropping the options of "
                     f"{current.get('name')} that {name} does not have, %s")
    node = merge_or_explain(OmegaConf.structured(entry.Config(**carried)), dict(given), where,
                            lambda key: valid, "model.likelihood.")
    return OmegaConf.to_object(node)


def pop_likelihood(src: Any) -> Any:
    """Take ``model.likelihood`` out of a layer's mapping: it is checked against the chosen
    likelihood (:func:`resolve_entries`), not merged as it stands."""
    model = src.get("model") if isinstance(src, dict) else None
    return model.pop("likelihood", None) if isinstance(model, dict) else None


def resolve_entries(cfg: Any, likelihood: Any, where: str) -> Any:
    """The OmegaConf config ``cfg`` with ``likelihood`` (a layer's ``model.likelihood`` mapping
    from ``where``, or None) applied, and the options of the chosen likelihood, dataset and
    backbone checked against what each declares."""
    from omegaconf import OmegaConf

    if likelihood is not None:
        if not isinstance(likelihood, dict):
            raise UserError(f"model.likelihood in {where} must be a mapping (name and options), "
                            f"not {likelihood!r}")
        cfg.model.likelihood = OmegaConf.structured(likelihood_config(
            OmegaConf.to_container(cfg.model.likelihood), likelihood, where))
    check_entry_options(cfg, where)
    return cfg


def check_entry_options(cfg: Any, where: str) -> None:
    """Check (and convert in place) ``data.options`` and ``model.backbone_options`` of the
    OmegaConf config ``cfg`` against the chosen dataset's and backbone's ``Options``."""
    dataset = _lookup(DATASETS, cfg.data.name, "data.name", where)
    refuse_item_dicts(cfg.data.options)
    cfg.data.options = checked_options(dataset.Options, cfg.data.options, where, "data.options.")
    backbone = _lookup(BACKBONES, cfg.model.backbone, "model.backbone", where)
    cfg.model.backbone_options = checked_options(backbone.Options, cfg.model.backbone_options, where,
                                                 "model.backbone_options.")


def check_frame_shape(cfg: Any, where: str, model_fixed: bool = False) -> None:
    """Refuse a dataset whose frames the model of ``cfg`` (a Config) cannot read, naming the keys
    that set each side (a colour dataset with a grey model is the common case). Called before
    training or scoring starts, not when a config is read: a config may be edited in steps.
    ``model_fixed``: the model is a trained one (``svg evaluate``), so only ``data.*`` keys are
    offered as fixes."""
    dataset = DATASETS.lookup(cfg.data.name)
    image_size = BACKBONES.lookup(cfg.model.backbone).image_size
    channels, size = dataset.frame_shape(dataset.options(dict(cfg.data.options)))
    names = option_names(dataset.Options)
    trained = " (the model is the checkpoint's)" if model_fixed else ""
    if channels != cfg.model.channels:
        fixes = ([] if model_fixed else [f"model.channels={channels}"]) + (
            [f"data.options.channels={cfg.model.channels}"] if "channels" in names else [])
        raise UserError(f"{where}: dataset {cfg.data.name!r} gives {channels}-channel frames but "
                        f"model.channels is {cfg.model.channels}{trained}"
                        + (f"; set {' or '.join(fixes)}" if fixes else ""))
    if size != image_size:
        fitting = [b for b in BACKBONES if BACKBONES.lookup(b).image_size == size]
        fixes = ([f"model.backbone={' or '.join(fitting)}"] if fitting and not model_fixed else []) + (
            [f"data.options.image_size={image_size}"] if "image_size" in names else [])
        raise UserError(f"{where}: dataset {cfg.data.name!r} gives {size}×{size} frames but backbone "
                        f"{cfg.model.backbone!r} reads {image_size}×{image_size}{trained}"
                        + (f"; set {' or '.join(fixes)}" if fixes else ""))


def refuse_item_dicts(options: Mapping[str, Any]) -> None:
    """svg's commands train and score frames: a dataset option asking for dict items is refused."""
    if options.get("with_actions"):
        raise UserError("data.options.with_actions=true gives dict items (frames, actions, "
                        "endeffector) for your own code; svg train / evaluate / generate use frames "
                        "only, so remove that option")


def with_default_horizons(data: Any) -> Any:
    """``data`` (a DataConfig) with ``n_future`` / ``eval_n_future`` left out (None) set to the
    dataset's declared defaults."""
    entry = DATASETS.lookup(data.name)
    return dataclasses.replace(
        data, n_future=entry.n_future if data.n_future is None else data.n_future,
        eval_n_future=entry.eval_n_future if data.eval_n_future is None else data.eval_n_future)

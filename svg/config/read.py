"""A run's configuration, read in one pass from top to bottom by :func:`read_config`.

Every entry point reads its config here: ``svg train`` and ``train_svg.py`` (a YAML file and the
command line), ``svg evaluate`` (the checkpoint's config and ``data.*`` overrides), a
checkpoint's stored config (``svg generate``, ``svg predict``, ``Predictor``, resume), and code
that builds a config from overrides alone.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import entries, sources
from .schema import Config, check_ranges

#: a config source: None (the defaults), a YAML file's path, a stored mapping, or a Config
Source = Union[None, str, Mapping[str, Any], Config]


def read_config(source: Source = None, overrides: Sequence[str] = (), *,
                where: str = "a checkpoint", allowed: Sequence[str] = ()) -> Config:
    """Defaults ← ``source`` ← ``key=value`` overrides, checked, as a typed :class:`Config`.

    Parameters
    ----------
    source : None (the defaults); a YAML file's path; a mapping stored by this or an earlier
        version (a checkpoint's ``dataclasses.asdict`` of its Config), named ``where`` in
        messages; or a Config to change.
    overrides : dotted ``key=value`` strings (``train.lr=1e-3``), applied last.
    allowed : key prefixes the overrides may touch (``["data."]``); any other is refused.

    Types are checked against the dataclasses, and the options of the chosen likelihood, backbone
    and dataset against the ``Options`` each declares (:mod:`svg.config.entries`). A stored
    config of an earlier version is translated where a checkpoint is read
    (:func:`svg.checkpoints.translate_stored_config`). An unknown key, a badly typed value or a value
    out of range raises ``UserError`` naming the key and where it came from. When the overrides
    set ``data.name`` to another dataset than a YAML file's or a given Config's, their
    ``data.options`` are dropped with a warning. Frame shapes (dataset against model) are checked where a run starts
    (:func:`svg.config.entries.check_frame_shape`): a config may be edited in steps.
    """
    from omegaconf import OmegaConf

    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    # 1. read the YAML file (or take the stored mapping, or the Config) and the command line
    command_line = sources.read_overrides(overrides, allowed)
    if isinstance(source, Config):   # e.g. a checkpoint's config scored on another dataset
        source = sources.without_options_of_replaced_dataset(source, command_line)
    base, layers = _source_layers(source, where)

    if isinstance(source, str):   # a dataset replaced on the command line takes its options along
        sources.drop_options_of_replaced_dataset(layers[0][1], command_line, source)

    # 2. merge the layers in turn, and 3. resolve each registry entry's options as they come
    cfg = base
    for w, mapping, stored in layers + [("the command line", command_line, False)]:
        likelihood = entries.pop_likelihood(mapping)
        cfg = entries.merge_or_explain(cfg, mapping, w, lambda key: entries.section_keys(Config(), key),
                                       stored=stored)
        cfg = entries.resolve_entries(cfg, likelihood, w)
        if w != "the command line":   # a file's ${...} interpolations are resolved within the file
            cfg = OmegaConf.structured(OmegaConf.to_object(cfg))
    typed = OmegaConf.to_object(cfg)
    typed = dataclasses.replace(typed, data=entries.with_default_horizons(typed.data))

    # 4. check the ranges (a stored config is taken as it was written), 5. return the typed config
    return typed if layers and layers[0][2] else check_ranges(typed)


def _source_layers(source: Source, where: str) -> Tuple[Any, List[Tuple[str, Dict[str, Any], bool]]]:
    """(the OmegaConf config to merge onto, [(where, mapping, stored)]) of a source."""
    from omegaconf import OmegaConf

    if isinstance(source, Config):
        return OmegaConf.structured(source), []
    base = OmegaConf.structured(Config)
    if source is None:
        return base, []
    if isinstance(source, str):
        return base, [(source, sources.read_yaml(source), False)]
    return base, [(where, dict(source), True)]


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults ← YAML file ``path`` ← ``key=value`` overrides (:func:`read_config`)."""
    return read_config(path, overrides)


def apply_overrides(cfg: Config, overrides: Sequence[str], allowed: Sequence[str] = ()) -> Config:
    """A copy of ``cfg`` with ``key=value`` overrides, limited to the ``allowed`` key prefixes
    (:func:`read_config`)."""
    return read_config(cfg, overrides, allowed=allowed)


def config_from_dict(d: Mapping[str, Any], where: str = "a checkpoint") -> Config:
    """A :class:`Config` from a mapping stored by this or an earlier version (a checkpoint's
    ``dataclasses.asdict``), keys and types checked like any other but its ranges taken as they
    were written (:func:`read_config`); messages name ``where``."""
    return read_config(d, where=where)

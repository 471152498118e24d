"""A run's configuration, read in one pass from top to bottom by :func:`read_config`.

Every entry point reads its config here: ``svg train`` and ``train_svg.py`` (a YAML file and the
command line), ``svg evaluate`` (the checkpoint's config and ``data.*`` overrides), a
checkpoint's stored config (``svg generate``, ``svg predict``, ``Predictor``, resume), and code
that builds a config from overrides alone.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from core.errors import MissingFile, UserError

from . import entries
from .schema import Config, DataConfig, check_ranges

log = logging.getLogger("svg.config")

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
    command_line = read_overrides(overrides, allowed)
    if isinstance(source, Config):   # e.g. a checkpoint's config scored on another dataset
        source = without_options_of_replaced_dataset(source, command_line)
    base, layers = _source_layers(source, where)

    if isinstance(source, str):   # a dataset replaced on the command line takes its options along
        drop_options_of_replaced_dataset(layers[0][1], command_line, source)

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
        return base, [(source, read_yaml(source), False)]
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


# Where a configuration's layers come from: a YAML file, the command line's ``key=value`` pairs,
# a checkpoint's stored config (translated by svg.checkpoints); and the config written back as YAML.

def read_yaml(path: str) -> Dict[str, Any]:
    """The mapping of a YAML config file; a missing or unreadable file names ``path``."""
    import yaml
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not os.path.exists(path):
        raise MissingFile(f"config file {path} does not exist")
    try:
        loaded = OmegaConf.load(path)
    except (UnicodeDecodeError, yaml.YAMLError, OmegaConfBaseException) as e:
        mark = getattr(e, "problem_mark", None)
        detail = (f"line {mark.line + 1}, column {mark.column + 1}: {e.problem}" if mark is not None
                  else (str(e).strip().splitlines() or [type(e).__name__])[0])
        raise UserError(f"config file {path} is not readable YAML ({detail})") from None
    if not isinstance(loaded, DictConfig):
        raise UserError(f"config file {path} must hold a mapping (model:, data:, train:, run_dir:), "
                        f"not a {type(loaded).__name__}")
    return OmegaConf.to_container(loaded)


def read_overrides(overrides: Sequence[str], allowed: Sequence[str] = ()) -> Dict[str, Any]:
    """``key=value`` strings (dotted keys) as a nested mapping; ``allowed`` (key prefixes such as
    ``"data."``) limits which keys may change, with an error naming any other."""
    from omegaconf import OmegaConf

    for item in overrides:
        if "=" not in item:
            raise UserError(f"command-line override {item!r} must look like key=value")
        if allowed and not item.startswith(tuple(allowed)):
            raise UserError(f"override {item!r} is not allowed here; only keys under "
                            f"{', '.join(allowed)} may change")
    return OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides)))


def drop_options_of_replaced_dataset(from_file: Dict[str, Any], command_line: Dict[str, Any],
                                     path: str) -> None:
    """``data.options`` are keyword options of one dataset; when the command line switches
    ``data.name`` to another dataset, the file's options do not apply to it and are dropped
    (with a warning naming them). Options given on the command line still apply."""
    new_name = (command_line.get("data") or {}).get("name")
    file_data = from_file.get("data") if isinstance(from_file.get("data"), dict) else {}
    old_name = file_data.get("name") or DataConfig.name
    options = file_data.get("options")
    if new_name is None or new_name == old_name or not options:
        return
    log.warning("data.name=%s on the command line replaces %s of %s: dropping that file's "
                "data.options %s, which belong to %s", new_name, old_name, path, options, old_name)
    del file_data["options"]


def without_options_of_replaced_dataset(cfg: Config, command_line: Dict[str, Any]) -> Config:
    """``cfg`` without its ``data.options`` when the command line switches ``data.name`` to
    another dataset (with a warning naming them), as :func:`drop_options_of_replaced_dataset`
    does for a file: the options of a run's dataset (SM-MNIST's ``num_digits``) mean nothing to
    the one a user scores it on, and the user never typed them."""
    new_name = (command_line.get("data") or {}).get("name")
    if new_name is None or new_name == cfg.data.name or not cfg.data.options:
        return cfg
    log.warning("data.name=%s replaces the run's %s: dropping its data.options %s, which belong "
                "to %s", new_name, cfg.data.name, dict(cfg.data.options), cfg.data.name)
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, options={}))


def config_to_yaml(cfg: Config) -> str:
    """The resolved config as YAML text."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.structured(cfg))

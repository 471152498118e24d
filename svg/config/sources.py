"""Where a configuration's layers come from: a YAML file, the command line's ``key=value`` pairs,
a checkpoint's stored config; the config written back as YAML.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Dict, Sequence

from core.errors import MissingFile, UserError

from .schema import Config, DataConfig

log = logging.getLogger("svg.config")


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

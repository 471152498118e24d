"""Registries of named entries (likelihoods, backbones, datasets, metrics) that find their entries.

Every pluggable part of the project follows one contract: **one file, one registry line**. The new
file defines the entry and registers it with one call next to its definition; nothing else has to
change. A :class:`Registry` imports every module of its package(s) on its first lookup (with
:mod:`pkgutil`), so no hand-kept import list can forget the new file. Each entry declares its own
options as a small dataclass (``Options``); :mod:`svg.config` checks what a config gives against
it when the config is read, so a shared config class never grows for a new entry.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any, Dict, Generic, Iterator, Mapping, Sequence, TypeVar

from .errors import UserError

T = TypeVar("T")


@dataclasses.dataclass
class NoOptions:
    """The options of an entry that has none."""


def option_names(options_class: type) -> list:
    """The option names an ``Options`` dataclass declares, in order."""
    return [f.name for f in dataclasses.fields(options_class)]


class Registry(Mapping[str, T], Generic[T]):
    """Config name → entry, filled by each entry's own registration line.

    Parameters
    ----------
    kind : what the entries are, for messages ("likelihood", "dataset", ...).
    packages : packages whose modules are all imported on the first lookup, so that an entry in a
        new module of them registers itself without being imported by hand.

    A registry is a read-only mapping to its users (iteration and lookup trigger the discovery);
    :meth:`add` and :meth:`remove` change it (tests register a toy entry and remove it again).
    """

    def __init__(self, kind: str, packages: Sequence[str]):
        self.kind, self.packages = kind, tuple(packages)
        self._entries: Dict[str, T] = {}
        self._discovered = False

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True   # first, so that lookups while importing do not recurse
        for package_name in self.packages:
            package = importlib.import_module(package_name)
            for info in pkgutil.iter_modules(package.__path__, package_name + "."):
                if not info.name.endswith("__main__"):
                    importlib.import_module(info.name)

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``; a second entry of the same name is an error."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> T:
        """Unregister ``name`` (and return its entry), e.g. a test's toy entry afterwards."""
        return self._entries.pop(name)

    def lookup(self, name: Any) -> T:
        """The entry ``name``; an unknown name raises :class:`UserError` listing the valid ones."""
        self._discover()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UserError(f"unknown {self.kind} {name!r}; choose one of {sorted(self._entries)}"
                            ) from None

    def __getitem__(self, name: str) -> T:
        self._discover()
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        self._discover()
        return iter(dict(self._entries))

    def __len__(self) -> int:
        self._discover()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self)})"

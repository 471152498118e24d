"""The split names every dataset answers to, in one place (SRVP's ``get_fold`` idea).

- ``train``: what the optimiser sees;
- ``val``: disjoint from train and test; the trainer validates and keeps ``best.pt`` on it;
- ``test``: touched only by the evaluation command and the end-of-run report.

How each dataset carves the three (sizes included) is written in its builder's docstring in
``data_loaders/__init__.py`` and in the README's Data section.
"""
from __future__ import annotations

from core.errors import UserError

SPLITS = ("train", "val", "test")


def check_split(split: str) -> str:
    """Return ``split`` if it is a known split name, else raise ``ValueError`` listing them."""
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return split

"""Moved to :mod:`models.svg_lp`; this path re-exports it for this release and will be removed."""
from models.svg_lp import *  # noqa: F401,F403

"""Moved to :mod:`svg.train.checkpoint`; this path re-exports it for this release and will be removed."""
from svg.train.checkpoint import *  # noqa: F401,F403

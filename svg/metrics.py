"""Moved to :mod:`svg.eval.metrics`; this path re-exports it for this release and will be removed."""
from svg.eval.metrics import *  # noqa: F401,F403

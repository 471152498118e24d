"""Moved to :mod:`svg.runtime`; this path re-exports it for this release and will be removed."""
from svg.runtime import *  # noqa: F401,F403

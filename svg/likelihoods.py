"""Moved to :mod:`models.likelihoods`; this path re-exports it for this release and will be removed."""
from models.likelihoods import *  # noqa: F401,F403

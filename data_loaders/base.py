"""Moved to :mod:`data_loaders.common.base`; this path stays importable for this release."""
from data_loaders.common.base import *  # noqa: F401,F403

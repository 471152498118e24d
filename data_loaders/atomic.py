"""Moved to :mod:`data_loaders.common.atomic`; this path stays importable for this release."""
from data_loaders.common.atomic import *  # noqa: F401,F403

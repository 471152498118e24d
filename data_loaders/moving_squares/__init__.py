"""Bouncing squares: a tiny synthetic dataset for tests and benchmarks (:mod:`.dataset`).
``data_loaders.moving_squares`` keeps the names of the former module of that name."""
from .dataset import *  # noqa: F401,F403

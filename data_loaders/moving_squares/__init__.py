"""Bouncing squares: a tiny synthetic dataset for tests and benchmarks (:mod:`.dataset`)."""
from . import dataset  # noqa: F401 (registers the dataset; the registry imports packages only)

"""Moved to :mod:`data_loaders.mnist.smmnist`; this path stays importable for this release."""
from data_loaders.mnist.smmnist import *  # noqa: F401,F403

"""Moved to :mod:`data_loaders.mnist.moving_mnist`; this path stays importable for this release."""
from data_loaders.mnist.moving_mnist import *  # noqa: F401,F403

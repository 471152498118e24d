"""MNIST digits in motion: Stochastic Moving MNIST (SVG's generator and SRVP's test set) and the
standard Moving MNIST file, with the digits they are drawn from."""
from .moving_mnist import MovingMNIST
from .smmnist import StochasticMovingMNIST

__all__ = ["MovingMNIST", "StochasticMovingMNIST"]

"""svg-sigma: SVG-LP stochastic video prediction with σ-VAE calibrated decoders."""
from .config import LikelihoodConfig, ModelConfig
from .kl import gaussian_kl
from .likelihoods import (LIKELIHOODS, DecoderNLL, Likelihood, build_likelihood, gaussian_nll,
                          softclip)
from .model import SVG, SVGOutput, eval_mode

__all__ = ["LikelihoodConfig", "ModelConfig", "gaussian_kl", "LIKELIHOODS", "DecoderNLL",
           "Likelihood", "build_likelihood", "gaussian_nll", "softclip", "SVG", "SVGOutput",
           "eval_mode"]
__version__ = "0.1.0"

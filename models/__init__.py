"""The model: SVG-LP, its decoder likelihoods (σ-VAE) and KL, and the networks it is built from.

- :mod:`models.svg_lp`: the SVG-LP model (:class:`SVG`).
- :mod:`models.likelihood_base` (the contract) and :mod:`models.likelihoods` (the decoders).
- :mod:`models.kl`: the Gaussian KL. :mod:`models.config`: the model's configuration.
- Frame encoders/decoders with skips (:mod:`models.base`, the contract; DCGAN, VGG) and the
  backbone registry; the LSTMs.
"""
from .config import LikelihoodConfig, ModelConfig
from .dcgan import DCGANDecoder, DCGANEncoder
from .init import init_weights
from .kl import gaussian_kl
from .likelihoods import (LIKELIHOODS, DecoderNLL, Likelihood, build_likelihood, gaussian_nll,
                          softclip)
from .lstm import GaussianLSTM, LSTMPredictor
from .registry import BACKBONES, Backbone, build_backbone, get_backbone
from .svg_lp import SVG, SVGOutput, eval_mode
from .vgg import VGGDecoder, VGGEncoder

__all__ = ["SVG", "SVGOutput", "eval_mode", "LikelihoodConfig", "ModelConfig", "LIKELIHOODS",
           "DecoderNLL", "Likelihood", "build_likelihood", "gaussian_nll", "softclip", "gaussian_kl",
           "BACKBONES", "Backbone", "build_backbone", "get_backbone", "init_weights",
           "DCGANEncoder", "DCGANDecoder", "VGGEncoder", "VGGDecoder", "GaussianLSTM", "LSTMPredictor"]

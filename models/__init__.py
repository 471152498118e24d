"""The model: SVG-LP, its decoder likelihoods (σ-VAE) and KL, and the networks it is built from.

- :mod:`models.svg_lp`: the SVG-LP model (:class:`SVG`).
- :mod:`models.likelihood_base` (the contract) and :mod:`models.likelihoods` (the decoders).
- :mod:`models.kl`: the Gaussian KL. :mod:`models.config`: the model's configuration.
- Frame encoders/decoders with skips (:mod:`models.base`, the contract; DCGAN, VGG) and the
  backbone registry (:mod:`models.backbones`); the LSTMs.
- :mod:`core.registry`: the registries' common class. Adding a likelihood or a backbone
  is one file and one registry line; each entry declares its own options.
"""
from .config import LikelihoodConfig, ModelConfig
from .dcgan import DCGANDecoder, DCGANEncoder
from .init import init_weights
from .kl import gaussian_kl
from .likelihoods import (LIKELIHOODS, DecoderNLL, Likelihood, build_likelihood, gaussian_nll,
                          softclip)
from .lstm import GaussianLSTM, LSTMPredictor
from core.registry import NoOptions, Registry
from .backbones import BACKBONES, Backbone, build_backbone, get_backbone, register_backbone
from .svg_lp import SVG, SVGOutput, eval_mode
from .vgg import VGGDecoder, VGGEncoder

__all__ = ["SVG", "SVGOutput", "eval_mode", "LikelihoodConfig", "ModelConfig", "LIKELIHOODS",
           "DecoderNLL", "Likelihood", "build_likelihood", "gaussian_nll", "softclip", "gaussian_kl",
           "BACKBONES", "Backbone", "build_backbone", "get_backbone", "register_backbone", "Registry",
           "NoOptions", "init_weights",
           "DCGANEncoder", "DCGANDecoder", "VGGEncoder", "VGGDecoder", "GaussianLSTM", "LSTMPredictor"]

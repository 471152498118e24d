"""svg-sigma: SVG-LP stochastic video prediction with σ-VAE calibrated decoders.

The model lives in :mod:`models`; this package is what runs it: :mod:`svg.config`, :mod:`svg.data`,
:mod:`svg.train`, :mod:`svg.eval`, :mod:`svg.cli` and :mod:`svg.runtime`. The model's public names
are re-exported here, and :class:`svg.predict.Predictor` (imported on first use, so that
``import svg`` stays light).
"""
from models import (LIKELIHOODS, SVG, DecoderNLL, Likelihood, LikelihoodConfig, ModelConfig,
                    SVGOutput, build_likelihood, eval_mode, gaussian_kl, gaussian_nll, softclip)

__all__ = ["LikelihoodConfig", "ModelConfig", "gaussian_kl", "LIKELIHOODS", "DecoderNLL",
           "Likelihood", "build_likelihood", "gaussian_nll", "softclip", "SVG", "SVGOutput",
           "eval_mode", "Predictor"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Predictor":   # pulls in the checkpoint loader and the video readers
        from svg.predict import Predictor

        return Predictor
    raise AttributeError(f"module 'svg' has no attribute {name!r}")

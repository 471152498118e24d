"""Decoder distributions p(x | z) for VAEs, including the σ-VAE calibrated Gaussian decoders.

Every likelihood is an ``nn.Module`` with ``nll(x, x_hat, log_sigma=None)`` that returns the
negative log-likelihood **summed over every dimension of a sample** (a sequence: T, C, H, W; or an
image: C, H, W), one value per sample, together with the σ it used. Swapping MSE for a calibrated
decoder in any VAE takes a few lines::

    lik = build_likelihood(LikelihoodConfig(name="optimal"))
    out = lik.nll(x, x_hat)                    # x, x_hat: (B, ...) floats
    loss = (out.nll + kl_per_sample).mean()    # β = 1

The Gaussian NLL is ``Σ (x − x̂)² / (2σ²) + D·log σ + (D/2)·log 2π`` over the D values of a sample.
``effective_beta`` is σ² averaged over the sample: the KL weight a unit-variance Gaussian decoder
would need for the same balance of the two terms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .config import LikelihoodConfig
from core.errors import UserError
from .likelihood_base import (HALF_LOG_2PI, LIKELIHOODS, DecoderNLL, Likelihood,  # noqa: F401
                              at_least_float32, gaussian_nll, register, softclip)

# the contract is re-exported so that ``models.likelihoods`` stays the one place to import from
__all__ = ["HALF_LOG_2PI", "LIKELIHOODS", "DecoderNLL", "Likelihood", "at_least_float32", "gaussian_nll",
           "register", "softclip", "FixedGaussian", "MSE", "LearnedSigma", "OptimalSigma", "PerPixelSigma",
           "Bernoulli", "build_likelihood"]
OPTIMAL_AXES = ("sequence", "batch", "frame")


@register
class FixedGaussian(Likelihood):
    """Gaussian with a fixed σ (σ = 1: the plain "Gaussian VAE")."""

    name = "gaussian"

    @dataclass
    class Options:
        sigma: float = 1.0   # the fixed σ (> 0)

    def __init__(self, sigma: float = 1.0):
        super().__init__()
        if not sigma > 0:
            raise UserError(f"gaussian likelihood: sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)

    def _nll(self, x, x_hat, log_sigma):
        ls = x.new_full((), math.log(self.sigma))   # filled on the device: no host copy per step
        return DecoderNLL(gaussian_nll(x, x_hat, ls), ls.exp())


@register
class MSE(Likelihood):
    """The original SVG objective, per-frame mean squared error + β·KL, as a likelihood.

    ``mean_frame((x − x̂)²) + β·KL`` (summed over time) is, up to the factor 1/β and a constant,
    a Gaussian with fixed ``σ² = β·D_frame/2`` (D_frame = values per frame, the last
    ``frame_ndim`` dimensions). This class returns that Gaussian's NLL, so the total ``NLL + KL``
    is the original loss divided by β plus a constant (same optimum, gradients scaled by 1/β),
    and the NLL stays a true likelihood, comparable with the other decoders'.
    """

    name = "mse"

    @dataclass
    class Options:
        mse_beta: float = 1e-4   # the original objective's KL weight (sets σ); model.beta stays 1

    def __init__(self, beta: float = 1e-4, frame_ndim: int = 3):
        super().__init__()
        if not beta > 0:
            raise UserError(f"mse likelihood: mse_beta must be > 0, got {beta}")
        self.beta, self.frame_ndim = float(beta), int(frame_ndim)

    @classmethod
    def from_config(cls, cfg: LikelihoodConfig) -> "MSE":
        return cls(cfg.mse_beta)

    @classmethod
    def check_model_config(cls, model_cfg: Any) -> None:
        """``model.beta`` must stay 1: this decoder's KL weight is its own ``mse_beta``."""
        if model_cfg.beta != 1:
            raise UserError(f"model.beta={model_cfg.beta} with the mse likelihood: its KL weight is "
                            f"model.likelihood.mse_beta ({model_cfg.likelihood.mse_beta}); set "
                            f"model.beta=1 so the two do not multiply")

    def _nll(self, x, x_hat, log_sigma):
        if x.dim() < self.frame_ndim + 1:
            raise ValueError(f"mse likelihood: expected (B, ..., {self.frame_ndim} frame dims), got "
                             f"shape {tuple(x.shape)}")
        d_frame = math.prod(x.shape[-self.frame_ndim:])
        ls = x.new_full((), 0.5 * math.log(self.beta * d_frame / 2))
        return DecoderNLL(gaussian_nll(x, x_hat, ls), ls.exp())


@register
class LearnedSigma(Likelihood):
    """Gaussian with one shared, learned log σ (initialised at 0), soft-clipped from below."""

    name = "learned"

    @dataclass
    class Options:
        log_sigma_min: float = -6.0   # soft lower bound on log σ

    def __init__(self, log_sigma_min: float = -6.0, init_log_sigma: float = 0.0):
        super().__init__()
        self.log_sigma_min = float(log_sigma_min)
        self.log_sigma = nn.Parameter(torch.tensor(float(init_log_sigma)))

    def _nll(self, x, x_hat, log_sigma):
        ls = softclip(self.log_sigma.to(x.dtype), self.log_sigma_min)
        return DecoderNLL(gaussian_nll(x, x_hat, ls), ls.exp())


@register
class OptimalSigma(Likelihood):
    """σ-VAE: σ² set analytically to the mean squared error, σ*² = mean((x − x̂)²).

    ``axes`` chooses what one σ is shared over: ``sequence`` (per sample, over all its values),
    ``batch`` (one σ for the whole batch) or ``frame`` (per sample and time step; x must be
    (B, T, ...)). In training mode σ* is used and a running average of σ*² is kept; in eval mode
    that running average is used (as the paper does for test likelihoods) once any training batch
    has been seen, and σ* otherwise.
    """

    name = "optimal"

    @dataclass
    class Options:
        axes: str = "sequence"        # what one σ is shared over: sequence | batch | frame
        log_sigma_min: float = -6.0   # soft lower bound on log σ
        momentum: float = 0.01        # running σ² update rate in (0, 1]; < 0: cumulative average

    def __init__(self, axes: str = "sequence", log_sigma_min: float = -6.0, momentum: float = 0.01):
        super().__init__()
        if axes not in OPTIMAL_AXES:
            raise UserError(f"optimal likelihood: unknown axes {axes!r}; choose one of {OPTIMAL_AXES}")
        if not (momentum < 0 or 0 < momentum <= 1):
            raise UserError(f"optimal likelihood: momentum must be in (0, 1] or negative "
                            f"(cumulative average), got {momentum}")
        self.axes, self.log_sigma_min, self.momentum = axes, float(log_sigma_min), float(momentum)
        self.register_buffer("running_var", torch.tensor(1.0))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def optimal_log_sigma(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """log σ* = ½ log mean((x − x̂)²) over ``axes``, kept with singleton dims to broadcast."""
        sq = (x - x_hat).pow(2)
        if self.axes == "batch":
            mse = sq.mean()
        elif self.axes == "sequence":
            mse = sq.mean(dim=tuple(range(1, x.dim())), keepdim=True)
        else:
            if x.dim() < 3:
                raise ValueError(f"optimal likelihood with axes='frame' needs (B, T, ...) input, got "
                                 f"shape {tuple(x.shape)}")
            mse = sq.mean(dim=tuple(range(2, x.dim())), keepdim=True)
        return 0.5 * torch.log(mse)

    def _nll(self, x, x_hat, log_sigma):
        if self.training or int(self.num_batches_tracked) == 0:
            raw = self.optimal_log_sigma(x, x_hat)
            if self.training:
                self._track(raw.detach())
        else:
            raw = 0.5 * torch.log(self.running_var.to(x.dtype))
        ls = softclip(raw, self.log_sigma_min)
        return DecoderNLL(gaussian_nll(x, x_hat, ls), ls.exp())

    @torch.no_grad()
    def _track(self, raw_log_sigma: torch.Tensor) -> None:
        # on the device throughout (reading the count back would stall a GPU every step): the
        # first update copies (a weight of 1 lerps exactly onto ``var``)
        var = torch.exp(2 * raw_log_sigma).mean().to(self.running_var.dtype)
        self.num_batches_tracked += 1
        n = self.num_batches_tracked.to(var.dtype)
        weight = 1.0 / n if self.momentum < 0 else torch.where(n == 1, 1.0, self.momentum).to(var.dtype)
        self.running_var.lerp_(var, weight)


@register
class PerPixelSigma(Likelihood):
    """Gaussian whose log σ map is predicted by the decoder (extra output channels), soft-clipped.

    Known to be less stable than a shared σ; kept for comparison.
    """

    name = "per_pixel"
    predicts_log_sigma = True

    @dataclass
    class Options:
        log_sigma_min: float = -6.0   # soft lower bound on log σ

    def __init__(self, log_sigma_min: float = -6.0):
        super().__init__()
        self.log_sigma_min = float(log_sigma_min)

    def _nll(self, x, x_hat, log_sigma):
        ls = softclip(log_sigma, self.log_sigma_min)
        return DecoderNLL(gaussian_nll(x, x_hat, ls), ls.exp())


@register
class Bernoulli(Likelihood):
    """Bernoulli decoder: binary cross-entropy summed over values (targets may be grey levels).

    Its σ is the Bernoulli standard deviation sqrt(x̂(1 − x̂)): a Gaussian with that variance has
    the same curvature at x = x̂, so ``effective_beta`` stays comparable with the Gaussian decoders.
    """

    name = "bernoulli"

    def _nll(self, x, x_hat, log_sigma):
        if x_hat.min() < 0 or x_hat.max() > 1:
            raise ValueError(f"bernoulli likelihood: x_hat must be probabilities in [0, 1], got range "
                             f"[{x_hat.min().item():.4g}, {x_hat.max().item():.4g}]")
        # Written out rather than F.binary_cross_entropy, which refuses to run under CUDA autocast;
        # logs are clamped at -100 as torch does.
        bce = -(x * torch.log(x_hat).clamp(min=-100) + (1 - x) * torch.log1p(-x_hat).clamp(min=-100))
        return DecoderNLL(bce.flatten(1).sum(1), (x_hat * (1 - x_hat)).sqrt().detach())


def build_likelihood(cfg: LikelihoodConfig) -> Likelihood:
    """Build the likelihood named by ``cfg.name`` from its options; an unknown name raises
    :class:`~core.errors.UserError` listing the registered ones."""
    return LIKELIHOODS.lookup(cfg.name).from_config(cfg)

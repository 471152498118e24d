"""The likelihood contract: the base class, its result type, the registry and shared maths.

The decoder distributions themselves are in :mod:`models.likelihoods`. A new likelihood is one
file (any module of ``models``) with a :class:`Likelihood` subclass decorated with
:func:`register`: one file, one registry line (see :class:`Likelihood` for what it declares).
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, Optional, Type

import torch
from torch import nn
from torch.nn import functional as F

from .config import LIKELIHOODS, LikelihoodConfig
from core.registry import NoOptions

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def softclip(log_sigma: torch.Tensor, minimum: float = -6.0) -> torch.Tensor:
    """Bound log σ smoothly from below: ``minimum + softplus(log_sigma − minimum)`` > ``minimum``."""
    return minimum + F.softplus(log_sigma - minimum)


def gaussian_nll(x: torch.Tensor, x_hat: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian NLL summed over all but the first dimension.

    x, x_hat : (B, ...) floats; log_sigma : log σ, broadcastable to x. Returns (B,).
    """
    var = torch.exp(2 * log_sigma)
    per_value = (x - x_hat).pow(2) / (2 * var) + log_sigma + HALF_LOG_2PI
    return per_value.expand_as(x).flatten(1).sum(1)


@dataclass
class DecoderNLL:
    """Result of :meth:`Likelihood.nll`.

    nll : (B,) negative log-likelihood summed over each sample's dimensions (nats).
    sigma : decoder standard deviation, broadcastable to x: a scalar, (B, 1, ...), (B, T, 1, ...)
        or a full map.
    """
    nll: torch.Tensor
    sigma: torch.Tensor

    def _sigma_sq_mean(self) -> torch.Tensor:
        s2 = self.sigma.pow(2)
        if s2.dim() == 0:
            return s2.expand(self.nll.shape[0])
        return s2.expand(self.nll.shape[0], *s2.shape[1:]).flatten(1).mean(1)

    def effective_beta(self) -> torch.Tensor:
        """(B,) mean σ² per sample: the equivalent KL weight of a unit-variance Gaussian decoder."""
        return self._sigma_sq_mean()

    def sigma_per_sample(self) -> torch.Tensor:
        """(B,) root-mean-square σ per sample, a one-number summary for logging."""
        return self._sigma_sq_mean().sqrt()


def at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """t in float32, or in its own dtype if that is wider (float64)."""
    # Sums over tens of thousands of values: never accumulate in half precision.
    return t.to(torch.promote_types(t.dtype, torch.float32))


class Likelihood(nn.Module):
    """Base class of every decoder distribution: the contract a new likelihood fulfils.

    One file, one registry line: a subclass decorated with :func:`register` becomes the config
    choice ``model.likelihood.name: <name>``. It declares

    - :attr:`name`, its config name;
    - :attr:`Options`, a dataclass of its options with defaults (``model.likelihood.<option>``
      in YAML, next to ``name``; checked by type when the config is read; none by default).
      :func:`register` derives :attr:`Config` (``name`` plus these options) from it;
    - :meth:`_nll`, which gets x, x_hat (and log σ when :attr:`predicts_log_sigma`) already
      checked and in at least float32, and returns a :class:`DecoderNLL` summed over every
      dimension of each sample;
    - optionally :meth:`from_config` (default: the options as keyword arguments of ``__init__``)
      and :meth:`check_model_config` (settings of the model it cannot work with).

    The tests are parametrised over the registry. Learned state goes in parameters or buffers (so
    checkpoints carry it); training-only updates happen when ``self.training``.
    """

    name = "base"
    #: True when the decoder must also output a log σ map (one extra channel per image channel).
    predicts_log_sigma = False
    #: The options this likelihood reads (a dataclass with defaults).
    Options: type = NoOptions
    #: ``name`` plus the options: a :class:`~models.config.LikelihoodConfig` subclass (by register).
    Config: type = LikelihoodConfig

    @classmethod
    def from_config(cls, cfg: LikelihoodConfig) -> "Likelihood":
        """Build from ``cfg`` (an instance of :attr:`Config`): by default each option is passed
        as the keyword argument of the same name."""
        return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls.Options)})

    @classmethod
    def check_model_config(cls, model_cfg: Any) -> None:
        """Raise :class:`~core.errors.UserError` for model settings this likelihood cannot be
        combined with (default: none)."""

    def nll(self, x: torch.Tensor, x_hat: torch.Tensor,
            log_sigma: Optional[torch.Tensor] = None) -> DecoderNLL:
        """Negative log-likelihood of x under the decoder.

        Parameters
        ----------
        x : (B, ...) targets, float in [0, 1] for images; a sequence is (B, T, C, H, W).
        x_hat : decoder mean, same shape as x (probabilities in [0, 1] for ``bernoulli``).
        log_sigma : per-value log σ, same shape as x; only for ``per_pixel``.
        """
        if x.shape != x_hat.shape:
            raise ValueError(f"{self.name} likelihood: x has shape {tuple(x.shape)} but x_hat has "
                             f"{tuple(x_hat.shape)}; they must match")
        if x.dim() < 2:
            raise ValueError(f"{self.name} likelihood: expected a batch (B, ...) with at least 2 "
                             f"dimensions, got shape {tuple(x.shape)}")
        if self.predicts_log_sigma:
            if log_sigma is None or log_sigma.shape != x.shape:
                got = None if log_sigma is None else tuple(log_sigma.shape)
                raise ValueError(f"{self.name} likelihood needs log_sigma of shape {tuple(x.shape)}, "
                                 f"got {got}")
        elif log_sigma is not None:
            raise ValueError(f"{self.name} likelihood does not take a log_sigma map; use per_pixel")
        return self._nll(at_least_float32(x), at_least_float32(x_hat),
                         None if log_sigma is None else at_least_float32(log_sigma))

    def _nll(self, x, x_hat, log_sigma) -> DecoderNLL:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"name={self.name}"


def _config_class(cls: Type[Likelihood]) -> type:
    """The dataclass ``name`` + ``cls.Options``, a LikelihoodConfig subclass named ``cls.Config``."""
    hints = typing.get_type_hints(cls.Options)
    fields = [("name", str, dataclasses.field(default=cls.name))]
    for f in dataclasses.fields(cls.Options):
        fields.append((f.name, hints[f.name], dataclasses.field(
            default=f.default, default_factory=f.default_factory, metadata=f.metadata)))
    config = dataclasses.make_dataclass("Config", fields, bases=(LikelihoodConfig,))
    # picklable and readable: models.likelihoods.OptimalSigma.Config
    config.__module__, config.__qualname__ = cls.__module__, f"{cls.__qualname__}.Config"
    config.__doc__ = f"model.likelihood for {cls.name!r}: name and the options of {cls.__name__}."
    return config


def register(cls: Type[Likelihood]) -> Type[Likelihood]:
    """Class decorator: make ``cls`` selectable as ``model.likelihood.name = cls.name``, with the
    options its ``Options`` dataclass declares."""
    cls.Config = _config_class(cls)
    LIKELIHOODS.add(cls.name, cls)
    return cls

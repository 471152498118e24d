"""The model's configuration: SVG-LP's architecture and its decoder likelihood.

Plain dataclasses; :mod:`svg.config` merges them from YAML and the command line with the run's
other settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict

from core.registry import Registry

#: Config name → likelihood class (``models.likelihood_base.Likelihood`` subclasses, each added by
#: its ``register`` line); finds the likelihoods in every module of ``models``. Defined here, with
#: the config whose ``name`` it resolves, so that the config needs nothing from the likelihoods.
LIKELIHOODS: Registry = Registry("likelihood", ["models"])


@dataclass
class LikelihoodConfig:
    """Decoder distribution: ``name``, a likelihood of ``models.likelihoods.LIKELIHOODS``, and the
    options that likelihood declares (its ``Options`` dataclass).

    ``LikelihoodConfig(name="gaussian", sigma=0.5)`` gives an instance of that likelihood's own
    config class, a subclass with the likelihood's options added (made by
    :func:`models.likelihood_base.register`), so this class never grows for a new likelihood.

    An unknown name raises ``UserError``.
    """
    name: str = "optimal"

    def __new__(cls, *args: Any, **kwargs: Any) -> "LikelihoodConfig":
        if cls is LikelihoodConfig:   # the base class stands for "the config of the named entry"
            cls = LIKELIHOODS.lookup(kwargs.get("name", args[0] if args else "optimal")).Config
        return super().__new__(cls)


@dataclass
class ModelConfig:
    """SVG-LP architecture (defaults: the paper's SM-MNIST settings).

    backbone : a backbone of ``models.backbones.BACKBONES`` (dcgan64 | vgg64 | dcgan128 | vgg128;
        the image size is the entry's).
    channels : image channels (1 grey, 3 colour).
    width : channels of the backbone's finest block (64 in the paper; others scale with it).
    g_dim, z_dim, rnn_size : frame code, latent and LSTM widths.
    predictor_layers, prior_layers, posterior_layers : stacked LSTM layers of each network.
    prior : learned (SVG-LP) | fixed (SVG-FP, N(0, I)).
    n_past : context frames; the training loss covers every step 2..T all the same.
    skip : last_context (the paper: skips from the last context frame) | previous (from x_{t-1};
        the original code's --last_frame_skip) | original (frozen at frame n_past-2, as the
        original SVG code did; needs n_past >= 2).
    beta : KL weight; 1 with calibrated decoders.
    head : how the decoder's output becomes the frame (``models.heads``): pixels (SVG's own, every
        pixel redrawn) | composite (a mask blends the previous frame with a drawn appearance) |
        warp (the same with the previous frame warped by a predicted flow).
    score_branches : motion heads only: add to the training loss the likelihood of each branch
        alone (the appearance, and the warped previous frame for ``warp``), as SLAMP does, so that
        the appearance is trained where the mask hides it. The reported ELBO stays the frame's.
    likelihood : the decoder distribution and its options (:class:`LikelihoodConfig`).
    backbone_options : options the backbone declares (its ``Options``; the built-in ones have none).
    """
    backbone: str = "dcgan64"
    channels: int = 1
    width: int = 64
    g_dim: int = 128
    z_dim: int = 10
    rnn_size: int = 256
    predictor_layers: int = 2
    prior_layers: int = 1
    posterior_layers: int = 1
    prior: str = "learned"
    n_past: int = 5
    skip: str = "last_context"
    beta: float = 1.0
    head: str = "pixels"
    score_branches: bool = False
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)
    backbone_options: Dict[str, Any] = field(default_factory=dict)

"""The model's configuration: SVG-LP's architecture and its decoder likelihood.

Plain dataclasses; :mod:`svg.config` merges them from YAML and the command line with the run's
other settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

from core.registry import Registry
from core.settings import at_least, one_of, setting, settings

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


#: the values of ``model.prior``, ``model.skip`` and ``model.head`` (what each means: the docs below,
#: :mod:`models.svg_lp` and :mod:`models.heads`)
PRIORS = ("learned", "fixed")
SKIPS = ("last_context", "previous", "original")
HEADS = ("pixels", "composite", "warp")


@settings
@dataclass
class ModelConfig:
    """SVG-LP's architecture (defaults: the paper's SM-MNIST settings).

    ``skip``: last_context is the paper's (skips from the last context frame), previous the
    original code's ``--last_frame_skip`` (from x_{t-1}), original the original code's frozen
    skips (frame n_past − 2; needs n_past ≥ 2). ``head``: pixels is SVG's (every pixel redrawn),
    composite blends the previous frame with a drawn appearance through a mask, warp does the
    same with the previous frame warped by a predicted flow (:mod:`models.heads`).
    """
    backbone: str = setting("dcgan64", "frame encoder/decoder, a name of models.backbones.BACKBONES "
                            "(dcgan64, vgg64, dcgan128, vgg128); the image size is its")
    channels: int = setting(1, "image channels (1 grey, 3 colour)", at_least(1))
    width: int = setting(64, "channels of the backbone's finest block (64 in the paper; the others "
                         "scale with it)", at_least(1))
    g_dim: int = setting(128, "width of the frame code", at_least(1))
    z_dim: int = setting(10, "width of the latent", at_least(1))
    rnn_size: int = setting(256, "width of the LSTMs", at_least(1))
    predictor_layers: int = setting(2, "stacked LSTM layers of the frame predictor", at_least(1))
    prior_layers: int = setting(1, "stacked LSTM layers of the learned prior", at_least(1))
    posterior_layers: int = setting(1, "stacked LSTM layers of the posterior", at_least(1))
    prior: str = setting("learned", "learned (SVG-LP) or fixed (SVG-FP, N(0, I))", one_of(PRIORS))
    n_past: int = setting(5, "context frames (the training loss covers every step 2..T all the same)",
                          at_least(1))
    skip: str = setting("last_context", "which frame the decoder's skip connections come from (above)",
                        one_of(SKIPS))
    beta: float = setting(1.0, "KL weight; 1 with calibrated decoders", at_least(0))
    head: str = setting("pixels", "how the decoder's output becomes the frame (above)", one_of(HEADS))
    score_branches: bool = setting(False, "motion heads: also score each branch alone in the training "
                                   "loss, as SLAMP does (the reported ELBO stays the frame's)")
    likelihood: LikelihoodConfig = setting(doc="the decoder distribution: its name and its options",
                                           factory=LikelihoodConfig)
    backbone_options: Dict[str, Any] = setting(doc="options the backbone declares (its Options; the "
                                               "built-in ones have none)", factory=dict)

"""The model's configuration: SVG-LP's architecture and its decoder likelihood.

Plain dataclasses; :mod:`svg.config` merges them from YAML and the command line with the run's
other settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LikelihoodConfig:
    """Decoder distribution; see :mod:`models.likelihoods` for the meaning of each field.

    name : a likelihood of ``models.likelihoods.LIKELIHOODS`` (gaussian, mse, learned, optimal,
        per_pixel, bernoulli).
    sigma : fixed σ of ``gaussian``.
    mse_beta : KL weight of the original SVG objective, used by ``mse`` only (it sets that
        decoder's fixed σ; ``model.beta`` stays 1, the two are not meant to be combined).
    axes : what one ``optimal`` σ is shared over: sequence | batch | frame.
    log_sigma_min : soft lower bound on log σ (learned, optimal, per_pixel).
    momentum : update rate of the running σ² that ``optimal`` uses at test time (0 < m ≤ 1);
        a negative value means a cumulative average over all training batches.
    """
    name: str = "optimal"
    sigma: float = 1.0
    mse_beta: float = 1e-4
    axes: str = "sequence"
    log_sigma_min: float = -6.0
    momentum: float = 0.01


@dataclass
class ModelConfig:
    """SVG-LP architecture (defaults: the paper's SM-MNIST settings).

    backbone : dcgan64 | vgg64 | dcgan128 | vgg128 (image size follows from the name).
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
    likelihood: LikelihoodConfig = field(default_factory=LikelihoodConfig)

"""Structured configuration: plain dataclasses, merged from YAML and the command line by OmegaConf."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence


@dataclass
class LikelihoodConfig:
    """Decoder distribution; see :mod:`svg.likelihoods` for the meaning of each field.

    name : gaussian | mse | learned | optimal | per_pixel | bernoulli
    sigma : fixed σ of ``gaussian``.
    beta : KL weight of the original SVG objective, used by ``mse`` only.
    axes : what one ``optimal`` σ is shared over: sequence | batch | frame.
    log_sigma_min : soft lower bound on log σ (learned, optimal, per_pixel).
    momentum : update rate of the running σ² that ``optimal`` uses at test time (0 < m ≤ 1);
        a negative value means a cumulative average over all training batches.
    """
    name: str = "optimal"
    sigma: float = 1.0
    beta: float = 1e-4
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


@dataclass
class DataConfig:
    """Which dataset and how much of each video.

    name : a dataset registered in ``data_loaders`` (smmnist, mmnist, bair, moving_squares).
    root : its folder (MNIST files, BAIR records); None = the default source (bundled digits).
    n_future : frames predicted after the model's n_past context frames in training.
    eval_n_future : frames predicted in evaluation (SVG: 20 on SM-MNIST, 28 on BAIR).
    num_workers : DataLoader worker processes.
    options : dataset-specific keyword options passed to its builder (e.g. num_digits).
    """
    name: str = "smmnist"
    root: Optional[str] = None
    n_future: int = 10
    eval_n_future: int = 20
    num_workers: int = 2
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation, logging and checkpointing (defaults: the SVG paper's settings).

    epochs × steps_per_epoch : training length (300 × 600 in the paper).
    batch_size : sequences per step (per process under torchrun).
    lr, beta1 : Adam settings. grad_clip : max gradient norm (None: no clipping).
    amp : none | bf16 | fp16 — autocast precision (bf16 on CPU or CUDA; fp16 on CUDA only, with a
        gradient scaler).
    compile : wrap the model with torch.compile.
    device : auto | cpu | cuda | cuda:N. seed : seeds every random draw.
    log_every, gif_every, ckpt_every : steps between scalar logs, rollout GIFs and checkpoints.
    keep_last : checkpoints kept besides the best. val_batches : batches per validation.
    max_nonfinite : consecutive non-finite losses before training stops.
    sync_batchnorm : convert BatchNorm to SyncBatchNorm under torchrun.
    """
    epochs: int = 300
    steps_per_epoch: int = 600
    batch_size: int = 100
    lr: float = 2e-3
    beta1: float = 0.9
    grad_clip: Optional[float] = None
    amp: str = "none"
    compile: bool = False
    device: str = "auto"
    seed: int = 0
    log_every: int = 50
    gif_every: int = 1000
    ckpt_every: int = 1000
    keep_last: int = 3
    val_batches: int = 4
    max_nonfinite: int = 20
    sync_batchnorm: bool = False


@dataclass
class Config:
    """Everything a run needs; written resolved to ``<run_dir>/config.yaml``."""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    run_dir: str = "runs/default"


def _valid_keys(node: Any, path: str) -> List[str]:
    for part in [p for p in path.split(".")[:-1] if p]:
        node = getattr(node, part, None)
    if node is None or not dataclasses.is_dataclass(node):
        return []
    return [f.name for f in dataclasses.fields(node)]


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults ← YAML file ← ``key=value`` overrides (dotted keys, e.g. ``train.lr=1e-3``).

    Types are checked against the dataclasses; an unknown key or a badly typed value raises
    ``ValueError`` naming the key, where it came from, and the valid keys.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

    cfg = OmegaConf.structured(Config)
    sources = []
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(f"config file {path} does not exist")
        sources.append((path, OmegaConf.load(path)))
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"command-line override {item!r} must look like key=value")
    sources.append(("the command line", OmegaConf.from_dotlist(list(overrides))))
    for where, src in sources:
        try:
            cfg = OmegaConf.merge(cfg, src)
        except ConfigKeyError as e:
            valid = ", ".join(_valid_keys(Config(), e.full_key))
            raise ValueError(f"unknown config key {e.full_key!r} in {where}; valid keys here: "
                             f"{valid}") from None
        except OmegaConfBaseException as e:
            raise ValueError(f"bad value for config key {e.full_key!r} in {where}: "
                             f"{str(e).splitlines()[0]}") from None
    return OmegaConf.to_object(cfg)


def config_to_yaml(cfg: Config) -> str:
    """The resolved config as YAML text."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def config_from_dict(d: Dict[str, Any], where: str = "a checkpoint") -> Config:
    """Rebuild a :class:`Config` from ``dataclasses.asdict`` output, with the same type checks."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), d))
    except OmegaConfBaseException as e:
        raise ValueError(f"config stored in {where} does not fit this version: {e}") from None

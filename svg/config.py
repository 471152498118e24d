"""Structured configuration: plain dataclasses, merged from YAML and the command line by OmegaConf."""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from models.config import LikelihoodConfig, ModelConfig  # noqa: F401 (every config class from here)
from models.errors import MissingFile, UserError
from svg import entry_config

log = logging.getLogger(__name__)


@dataclass
class DataConfig:
    """Which dataset and how much of each video.

    name : a dataset registered in ``data_loaders`` (smmnist, mmnist, bair, moving_squares).
    root : its folder (MNIST files, BAIR records); None = the default source (bundled digits).
    n_future : frames predicted after the model's n_past context frames in training.
    eval_n_future : frames predicted in evaluation (SVG: 20 on SM-MNIST, 28 on BAIR).
        Left out (None), each is the dataset's declared default (``DatasetEntry.n_future`` /
        ``eval_n_future``: smmnist, mmnist, moving_squares 10 / 20; bair 10 / 28; kth 10 / 30),
        filled in when the config is read.
    num_workers : DataLoader worker processes.
    options : the dataset's own options (the fields of its entry's ``Options``, e.g. num_digits),
        checked against them when the config is read.
    """
    name: str = "smmnist"
    root: Optional[str] = None
    n_future: Optional[int] = None
    eval_n_future: Optional[int] = None
    num_workers: int = 2
    options: Dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Optimisation, logging and checkpointing (defaults: the SVG paper's settings).

    epochs × steps_per_epoch : training length (300 × 600 in the paper).
    batch_size : sequences per step (per process under torchrun).
    lr, beta1 : Adam settings (lr: the peak rate). grad_clip : max gradient norm (None: no clipping).
    lr_schedule : constant | cosine | linear — the rate over the whole run (``svg.train.schedule``):
        after ``lr_warmup`` steps of linear warm-up, constant, or decaying to
        ``lr_final_fraction``·lr at the last step. A pure function of the step, so resume
        continues it exactly.
    ema : decay of an exponential moving average of the weights (e.g. 0.999; None: off). When
        set, the average is what validation scores, what ``best.pt`` is chosen on, and what
        evaluate, generate, predict and export use (``--raw-weights`` for the live ones);
        see ``svg.train.ema``.
    amp : none | bf16 | fp16 | auto — autocast precision (bf16 on CPU or CUDA; fp16 on CUDA only,
        with a gradient scaler; auto, the default: bf16 where the CPU or GPU computes it natively,
        else fp32, and the log says which and why; parity with fp32 is in docs/results.md).
    compile : wrap the model with torch.compile.
    tf32 : let CUDA matmuls and convolutions use TF32 in training (off by default: fp32 is fp32
        until TF32 is measured safe for this model; evaluation never uses it).
    device : auto | cpu | cuda | cuda:N. seed : seeds every random draw.
    log_every, gif_every, ckpt_every : steps between scalar logs, rollout GIFs and checkpoints.
    keep_last : checkpoints kept besides the best. val_batches : batches per validation.
    max_nonfinite : consecutive non-finite losses before training stops.
    sync_batchnorm : convert BatchNorm to SyncBatchNorm under torchrun.
    resume_from : a checkpoint to restart from (with these settings) instead of the run folder's
        latest, e.g. the last good one before a divergence.
    keep_host_memory : on CPU, keep freed memory in the process instead of returning it to the
        kernel (glibc; see ``svg.runtime``): faster steps, the peak memory stays held.
    """
    epochs: int = 300
    steps_per_epoch: int = 600
    batch_size: int = 100
    lr: float = 2e-3
    beta1: float = 0.9
    grad_clip: Optional[float] = None
    lr_schedule: str = "constant"
    lr_warmup: int = 0
    lr_final_fraction: float = 0.0
    ema: Optional[float] = None
    amp: str = "auto"
    compile: bool = False
    tf32: bool = False
    device: str = "auto"
    seed: int = 0
    log_every: int = 50
    gif_every: int = 1000
    ckpt_every: int = 1000
    keep_last: int = 3
    val_batches: int = 4
    max_nonfinite: int = 20
    sync_batchnorm: bool = False
    resume_from: Optional[str] = None
    keep_host_memory: bool = True


@dataclass
class EvalConfig:
    """How ``svg evaluate`` (and the trainer's end-of-run report) score sampled futures.

    n_samples : N futures per sequence; the best of N is kept per metric.
    n_past, n_future : context and predicted frames (None: the model's n_past, the dataset's
        eval_n_future).
    max_videos : score only the first videos of the split (None: all).
    batch_size : sequences per batch at most (each sampled N times); fewer, and the N samples in
        chunks, when the memory budget asks for it (``svg.eval.memory``; results are the same).
    max_memory : memory budget of the sample chunks in bytes (None: half the available memory).
    seed : seeds the sampling noise.
    metrics : per-frame metrics, names from ``svg.eval.registry.METRICS``.
    metric_options : metric name → its options (the fields of its ``Options``; left out: their
        defaults), e.g. ``{"ssim": {"window": "uniform"}, "lpips": {"net": "vgg"}}``. The
        built-in ones: ssim window gaussian (11×11, σ = 1.5, the standard of SRVP and later
        tables) | uniform (scikit-image's 7×7 default); lpips net alex (LPIPS v0.1 AlexNet, the
        standard) | vgg.
    likelihood : also report the test NLL per dimension, KL per frame and σ (teacher forcing).
    fvd : also the Fréchet Video Distance (one random sample per video, context prepended).
    fvd_real_stats : ``.npz`` of the real videos' I3D statistics, read if present else written.
    device : auto | cpu | cuda | cuda:N.
    """
    n_samples: int = 100
    n_past: Optional[int] = None
    n_future: Optional[int] = None
    max_videos: Optional[int] = None
    batch_size: int = 4
    max_memory: Optional[int] = None
    seed: int = 0
    metrics: List[str] = field(default_factory=lambda: ["psnr", "ssim", "lpips"])
    metric_options: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    likelihood: bool = True
    fvd: bool = False
    fvd_real_stats: Optional[str] = None
    device: str = "auto"


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


def _read_yaml(path: str) -> Any:
    """The YAML mapping of a config file; a missing or unreadable file names ``path``."""
    import yaml
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not os.path.exists(path):
        raise MissingFile(f"config file {path} does not exist")
    try:
        loaded = OmegaConf.load(path)
    except (UnicodeDecodeError, yaml.YAMLError, OmegaConfBaseException) as e:
        mark = getattr(e, "problem_mark", None)
        detail = (f"line {mark.line + 1}, column {mark.column + 1}: {e.problem}" if mark is not None
                  else (str(e).strip().splitlines() or [type(e).__name__])[0])
        raise UserError(f"config file {path} is not readable YAML ({detail})") from None
    if not isinstance(loaded, DictConfig):
        raise UserError(f"config file {path} must hold a mapping (model:, data:, train:, run_dir:), "
                        f"not a {type(loaded).__name__}")
    return loaded


def _drop_options_of_replaced_dataset(from_file: Any, command_line: Any, path: str) -> None:
    """``data.options`` are keyword options of one dataset; when the command line switches
    ``data.name`` to another dataset, the file's options do not apply to it and are dropped
    (with a warning naming them). Options given on the command line still apply."""
    from omegaconf import OmegaConf

    new_name = OmegaConf.select(command_line, "data.name")
    old_name = OmegaConf.select(from_file, "data.name") or DataConfig.name
    options = OmegaConf.select(from_file, "data.options")
    if new_name is None or new_name == old_name or not options:
        return
    log.warning("data.name=%s on the command line replaces %s of %s: dropping that file's "
                "data.options %s, which belong to %s", new_name, old_name, path,
                OmegaConf.to_container(options), old_name)
    del from_file.data["options"]


def load_config(path: Optional[str] = None, overrides: Sequence[str] = ()) -> Config:
    """Defaults ← YAML file ← ``key=value`` overrides (dotted keys, e.g. ``train.lr=1e-3``).

    Types are checked against the dataclasses, and the options of the chosen likelihood, backbone
    and dataset against the ``Options`` each declares (:mod:`svg.entry_config`, which also says
    how options of 0.1's shared likelihood config are read); an unknown key or a badly typed value
    raises ``ValueError`` naming the key, where it came from, and the valid keys. When the overrides
    set ``data.name`` to another dataset than the file's, the file's ``data.options`` (options
    of its dataset) are dropped with a warning; ``data.options.KEY=VALUE`` overrides still apply.
    """
    from omegaconf import OmegaConf

    cfg = OmegaConf.structured(Config)
    if path is not None:
        from_file = _read_yaml(path)
        _check_overrides(overrides)
        _drop_options_of_replaced_dataset(from_file, OmegaConf.from_dotlist(list(overrides)), path)
        cfg = _merge(cfg, _translate_old_keys(OmegaConf.to_container(from_file), path), path)
    return apply_overrides(OmegaConf.to_object(cfg), overrides)


def _check_overrides(overrides: Sequence[str], allowed: Sequence[str] = ()) -> None:
    for item in overrides:
        if "=" not in item:
            raise UserError(f"command-line override {item!r} must look like key=value")
        if allowed and not item.startswith(tuple(allowed)):
            raise UserError(f"override {item!r} is not allowed here; only keys under "
                            f"{', '.join(allowed)} may change")


def apply_overrides(cfg: Config, overrides: Sequence[str], allowed: Sequence[str] = ()) -> Config:
    """A copy of ``cfg`` with ``key=value`` overrides; ``allowed`` (e.g. ``["data."]``) limits
    which keys may change, with a ``ValueError`` naming any other."""
    from omegaconf import OmegaConf

    _check_overrides(overrides, allowed)
    src = _translate_old_keys(OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides))),
                              "the command line")
    return check_ranges(_finish(_merge(OmegaConf.structured(cfg), src, "the command line")))


def _pop_likelihood(src: Any) -> Any:
    """Take ``model.likelihood`` out of ``src``: it is checked against the chosen likelihood."""
    model = src.get("model") if isinstance(src, dict) else None
    return model.pop("likelihood", None) if isinstance(model, dict) else None


def _merge(cfg, src, where: str):
    likelihood = _pop_likelihood(src)
    cfg = entry_config.merge_or_explain(cfg, src, where, lambda key: _valid_keys(Config(), key))
    return _check_entries(cfg, likelihood, where)


def _check_entries(cfg, likelihood: Any, where: str):
    """``cfg`` with ``likelihood`` (the ``model.likelihood`` mapping from ``where``, or None)
    applied, and the chosen entries' options checked (:mod:`svg.entry_config`)."""
    from omegaconf import OmegaConf

    if likelihood is not None:
        if not isinstance(likelihood, dict):
            raise UserError(f"model.likelihood in {where} must be a mapping (name and options), "
                            f"not {likelihood!r}")
        cfg.model.likelihood = OmegaConf.structured(entry_config.likelihood_config(
            OmegaConf.to_container(cfg.model.likelihood), likelihood, where))
    entry_config.check_entry_options(cfg, where)
    return cfg


def _finish(cfg) -> Config:
    """The checked OmegaConf config as a :class:`Config`, horizons left out set to the dataset's."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_object(cfg)
    return dataclasses.replace(cfg, data=entry_config.with_default_horizons(cfg.data))


def _translate_old_keys(d: Any, where: str) -> Any:
    """Rename keys of earlier versions, with a warning (``model.likelihood.beta`` → ``mse_beta``)."""
    lik = d.get("model", {}).get("likelihood") if isinstance(d, dict) else None
    if isinstance(lik, dict) and "beta" in lik:
        if "mse_beta" in lik:
            raise UserError(f"{where} sets both model.likelihood.beta (the old name) and "
                            f"model.likelihood.mse_beta; keep mse_beta only")
        log.warning("%s: model.likelihood.beta is now model.likelihood.mse_beta (the mse "
                    "likelihood's KL weight, separate from model.beta); read as mse_beta", where)
        lik["mse_beta"] = lik.pop("beta")
    return d


def config_to_yaml(cfg: Config) -> str:
    """The resolved config as YAML text."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def config_from_dict(d: Dict[str, Any], where: str = "a checkpoint") -> Config:
    """Rebuild a :class:`Config` from ``dataclasses.asdict`` output, with the same type checks;
    a ``ValueError`` names ``where``, the key and the problem."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    d = _translate_old_keys(copy.deepcopy(d), where)
    likelihood = _pop_likelihood(d)
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(Config), d)
    except OmegaConfBaseException as e:
        raise UserError(f"config stored in {where} does not fit this version: key {e.full_key!r}: "
                        f"{str(e).splitlines()[0]}") from None
    return _finish(_check_entries(cfg, likelihood, where))


#: ``train.lr_schedule`` names (their formulas: ``svg.train.schedule``)
LR_SCHEDULES = ("constant", "cosine", "linear")


def _at_least(low):
    return (lambda v: v >= low), f">= {low}"


# key → (test, the range in words). Types are checked by OmegaConf when the config is read; these
# are the values of the right type that no run can use (a negative learning rate, 0 frames, ...).
RANGES = {
    "model.n_past": _at_least(1), "model.channels": _at_least(1), "model.width": _at_least(1),
    "model.g_dim": _at_least(1), "model.z_dim": _at_least(1), "model.rnn_size": _at_least(1),
    "model.predictor_layers": _at_least(1), "model.prior_layers": _at_least(1),
    "model.posterior_layers": _at_least(1), "model.beta": _at_least(0),
    "data.n_future": _at_least(1), "data.eval_n_future": _at_least(1),
    "data.num_workers": _at_least(0),
    "train.epochs": _at_least(1), "train.steps_per_epoch": _at_least(1),
    "train.batch_size": _at_least(1), "train.log_every": _at_least(1),
    "train.gif_every": _at_least(1), "train.ckpt_every": _at_least(1),
    "train.max_nonfinite": _at_least(1), "train.val_batches": _at_least(1),
    "train.keep_last": _at_least(0),
    "train.lr": ((lambda v: v > 0 and v != float("inf")), "> 0 and finite"),
    "train.beta1": ((lambda v: 0 <= v < 1), "in [0, 1)"),
    "train.grad_clip": ((lambda v: v is None or v > 0), "> 0 (or null: no clipping)"),
    "train.lr_schedule": ((lambda v: v in LR_SCHEDULES), f"one of {', '.join(LR_SCHEDULES)}"),
    "train.lr_warmup": _at_least(0),
    "train.lr_final_fraction": ((lambda v: 0 <= v <= 1), "in [0, 1]"),
    "train.ema": ((lambda v: v is None or 0 < v < 1), "in (0, 1) (or null: no averaging)"),
}


def check_ranges(cfg: Config) -> Config:
    """``cfg`` itself once every value in :data:`RANGES` is in range; else a ``UserError``
    naming the first key out of range, its value and the range."""
    for key, (ok, words) in RANGES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if not ok(value):
            raise UserError(f"{key}={value} is out of range: it must be {words}")
    return cfg

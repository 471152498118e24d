"""The configuration's schema: plain dataclasses (the model's come from :mod:`models.config`), and
the range of every numeric setting.

Types are checked by OmegaConf when a config is read (:mod:`svg.config.read`); :data:`RANGES` holds
the values of the right type that no run can use (a negative learning rate, 0 frames, ...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from models.config import LikelihoodConfig, ModelConfig  # noqa: F401 (every config class from here)
from core.errors import UserError
from models.heads import HEADS

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
    num_workers : DataLoader worker processes of training; -1 picks them for the device: none on
        a CPU (workers would take cores from the model), min(8, CPUs − 1) on a GPU (one process
        makes about 750 SM-MNIST items/s, fewer than a GPU step consumes).
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
        after ``lr_warmup`` steps of linear warm-up, constant, or decaying towards
        ``lr_final_fraction``·lr, reached at the end of the run (the last step is one step short). A pure function of the step, so resume
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
    keep_last : checkpoints kept besides the best (0: all). val_batches : batches per validation.
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
    "model.head": ((lambda v: v in HEADS), f"one of {', '.join(HEADS)}"),
    "data.n_future": _at_least(1), "data.eval_n_future": _at_least(1),
    "data.num_workers": _at_least(-1),
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

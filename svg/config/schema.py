"""The configuration's schema: plain dataclasses (the model's come from :mod:`models.config`), each
setting declared once with its type, default, range and one-line doc (:func:`core.settings.setting`).

Types are checked by OmegaConf when a config is read (:mod:`svg.config.read`); :func:`check_ranges`
refuses the values of the right type that no run can use (a negative learning rate, 0 frames, ...).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from core.devices import AMP_MODES
from core.errors import UserError
from core.settings import above, at_least, declared, one_of, out_of_range, setting, settings, within
from models.config import LikelihoodConfig, ModelConfig  # noqa: F401 (every config class from here)

#: ``train.lr_schedule`` names (their formulas: ``svg.train.schedule``)
LR_SCHEDULES = ("constant", "cosine", "linear")


@settings
@dataclass
class DataConfig:
    """Which dataset, and how much of each video.

    ``n_future`` and ``eval_n_future`` left out (None) are the dataset's declared defaults
    (``DatasetEntry.n_future`` / ``eval_n_future``: smmnist, mmnist, moving_squares 10 / 20; bair
    10 / 28; kth 10 / 30), filled in when the config is read. ``num_workers: -1`` starts none on
    a CPU (workers would take cores from the model) and min(8, CPUs − 1) on a GPU (one process
    makes about 750 SM-MNIST items/s, fewer than a GPU step consumes).
    """
    name: str = setting("smmnist", "a dataset registered in data_loaders (smmnist, mmnist, bair, kth, "
                        "videos, moving_squares)")
    root: Optional[str] = setting(None, "its folder (MNIST files, BAIR records, videos); None: the "
                                  "default source (bundled digits)")
    n_future: Optional[int] = setting(None, "frames predicted after the n_past context frames in "
                                      "training (None: the dataset's default)",
                                      at_least(1, optional="null: the dataset's default"))
    eval_n_future: Optional[int] = setting(None, "frames predicted in evaluation (SVG: 20 on SM-MNIST, "
                                           "28 on BAIR; None: the dataset's default)",
                                           at_least(1, optional="null: the dataset's default"))
    num_workers: int = setting(2, "DataLoader worker processes of training; -1 picks them for the "
                               "device (above)", at_least(-1))
    options: Dict[str, Any] = setting(doc="the dataset's own options (its entry's Options, e.g. "
                                      "num_digits), checked when the config is read", factory=dict)


@settings
@dataclass
class TrainConfig:
    """Optimisation, logging and checkpointing (defaults: the SVG paper's settings).

    The learning rate over the run (``lr_schedule``): after ``lr_warmup`` steps of linear warm-up,
    constant, or decaying towards ``lr_final_fraction``·lr, reached at the end of the run; a pure
    function of the step, so resume continues it exactly (``svg.train.schedule``). With ``ema``,
    the average is what validation scores, what ``best.pt`` is chosen on, and what evaluate,
    generate, predict and export use (``--raw-weights`` for the live ones; ``svg.train.ema``).
    ``amp: auto`` picks bf16 where the CPU or GPU computes it natively, else fp32, and the log says
    which and why (parity with fp32: docs/results.md).
    """
    epochs: int = setting(300, "epochs; the run is epochs × steps_per_epoch steps (300 × 600 in the "
                          "paper)", at_least(1))
    steps_per_epoch: int = setting(600, "optimisation steps per epoch", at_least(1))
    batch_size: int = setting(100, "sequences per step (per process under torchrun)", at_least(1))
    accumulate: int = setting(1, "gradient accumulation: each step's batch in this many equal "
                              "micro-batches (it divides batch_size), forward and backward on each, "
                              "then one update; BatchNorm statistics, a σ shared over the batch and "
                              "the optimal σ's running σ² are per micro-batch (docs/training.md)",
                              at_least(1))
    lr: float = setting(2e-3, "Adam's peak learning rate", above(0))
    beta1: float = setting(0.9, "Adam's beta1", within(0, 1, open_high=True))
    grad_clip: Optional[float] = setting(None, "max gradient norm", above(0, optional="null: no "
                                                                         "clipping"))
    lr_schedule: str = setting("constant", "the rate over the whole run (above)", one_of(LR_SCHEDULES))
    lr_warmup: int = setting(0, "steps of linear warm-up", at_least(0))
    lr_final_fraction: float = setting(0.0, "the decaying schedules' last rate, a fraction of lr",
                                       within(0, 1))
    ema: Optional[float] = setting(None, "decay of a moving average of the weights, e.g. 0.999 (above)",
                                   within(0, 1, True, True, optional="null: no averaging"))
    amp: str = setting("auto", "autocast precision: none, bf16, fp16 (CUDA only, with a gradient "
                       "scaler) or auto (above)", one_of(AMP_MODES))
    compile: bool = setting(False, "wrap the model with torch.compile")
    tf32: bool = setting(False, "let CUDA matmuls and convolutions use TF32 in training (evaluation "
                         "never does)")
    device: str = setting("auto", "auto, cpu, cuda or cuda:N")
    seed: int = setting(0, "seeds every random draw of the run")
    log_every: int = setting(50, "steps between scalar logs", at_least(1))
    gif_every: int = setting(1000, "steps between rollout GIFs", at_least(1))
    ckpt_every: int = setting(1000, "steps between checkpoints", at_least(1))
    keep_last: int = setting(3, "checkpoints kept besides the best (0: all)", at_least(0))
    val_batches: int = setting(4, "batches per validation", at_least(1))
    max_nonfinite: int = setting(20, "consecutive non-finite losses before training stops", at_least(1))
    sync_batchnorm: bool = setting(False, "convert BatchNorm to SyncBatchNorm under torchrun (CUDA)")
    resume_from: Optional[str] = setting(None, "a checkpoint to restart from instead of the run "
                                         "folder's latest (e.g. the last good one before a divergence)")
    keep_host_memory: bool = setting(True, "on CPU, keep freed memory in the process (faster steps; "
                                     "the peak stays held; svg.runtime)")


@settings
@dataclass
class EvalConfig:
    """How ``svg evaluate`` (and the trainer's end-of-run report) score sampled futures.

    The built-in metrics' options (``metric_options``): ssim ``window`` gaussian (11×11, σ = 1.5,
    the standard of SRVP and later tables) or uniform (scikit-image's 7×7 default); lpips ``net``
    alex (LPIPS v0.1 AlexNet, the standard) or vgg; e.g. ``{"ssim": {"window": "uniform"}}``.
    """
    n_samples: int = setting(100, "futures sampled per sequence; the best of them is kept per metric",
                             at_least(1, integer=True))
    n_past: Optional[int] = setting(None, "context frames (None: the model's n_past)",
                                    at_least(1, integer=True, optional=True))
    n_future: Optional[int] = setting(None, "predicted frames (None: the dataset's eval_n_future)",
                                      at_least(1, integer=True, optional=True))
    max_videos: Optional[int] = setting(None, "score only the first videos of the split (None: all)",
                                        at_least(1, integer=True, optional="left out for all videos"))
    batch_size: int = setting(4, "sequences per batch at most, each sampled n_samples times (fewer, "
                              "and samples in chunks, when memory asks; same results)",
                              at_least(1, integer=True))
    max_memory: Optional[int] = setting(None, "memory budget of the sample chunks in bytes (None: half "
                                        "the available memory)",
                                        at_least(1, integer=True, optional=True))
    seed: int = setting(0, "seeds the sampling noise")
    metrics: List[str] = setting(doc="per-frame metrics, names of svg.eval.registry.METRICS",
                                 factory=lambda: ["psnr", "ssim", "lpips"])
    metric_options: Dict[str, Dict[str, Any]] = setting(doc="metric name → its options (left out: "
                                                        "their defaults; above)", factory=dict)
    likelihood: bool = setting(True, "also the test NLL per dimension, KL per frame and σ (teacher "
                               "forcing)")
    fvd: bool = setting(False, "also the Fréchet Video Distance (one random sample per video, "
                        "context prepended)")
    fvd_real_stats: Optional[str] = setting(None, ".npz of the real videos' I3D statistics, read if "
                                            "present, else written")
    device: str = setting("auto", "auto, cpu, cuda or cuda:N")


@settings
@dataclass
class Config:
    """Everything a run needs; written resolved to ``<run_dir>/config.yaml``."""
    model: ModelConfig = setting(doc="the architecture and its likelihood", factory=ModelConfig)
    data: DataConfig = setting(doc="the dataset", factory=DataConfig)
    train: TrainConfig = setting(doc="optimisation, logging and checkpoints", factory=TrainConfig)
    run_dir: str = setting("runs/default", "the run folder: checkpoints, logs, GIFs, reports")


def check_ranges(cfg: Config) -> Config:
    """``cfg`` itself once every setting of its sections is in its range; else a ``UserError``
    naming the first key out of range, its value and the range."""
    for f in declared(cfg):
        bad = out_of_range(getattr(cfg, f.name)) if f.name != "run_dir" else None
        if bad is not None:
            key, value, words = bad
            raise UserError(f"{f.name}.{key}={value} is out of range: it must be {words}")
    t = cfg.train
    total = t.epochs * t.steps_per_epoch
    if t.lr_warmup > total:   # the one range that depends on other settings
        raise UserError(f"train.lr_warmup={t.lr_warmup} is longer than the run's {total} steps "
                        f"(train.epochs × train.steps_per_epoch), so the rate would never reach "
                        f"train.lr; use train.lr_warmup <= {total}")
    return cfg

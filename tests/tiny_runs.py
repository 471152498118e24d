"""The tiny training run the trainer tests share: bouncing squares, an 8-wide network, 4 per batch."""
from __future__ import annotations

import os
import subprocess
import sys

from svg.config import Config, load_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["data.name=moving_squares", "data.num_workers=0", "data.n_future=2", "model.n_past=2",
        "model.width=8", "model.g_dim=16", "model.z_dim=4", "model.rnn_size=16",
        "train.batch_size=4", "train.log_every=1", "train.gif_every=100", "train.ckpt_every=2",
        "train.val_batches=1", "train.epochs=1"]


def tiny(run_dir, steps: int, *extra: str) -> Config:
    """The config of a tiny run of ``steps`` steps in ``run_dir``; ``extra`` overrides win."""
    return load_config(None, TINY + [f"train.steps_per_epoch={steps}", f"run_dir={run_dir}", *extra])


def cli_train(run_dir, steps: int, *extra: str) -> subprocess.CompletedProcess:
    """The same run through ``train_svg.py`` in a fresh process."""
    cmd = [sys.executable, os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY,
           f"train.steps_per_epoch={steps}", f"run_dir={run_dir}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

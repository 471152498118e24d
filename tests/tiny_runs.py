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


def kill_9_then_rerun(run_dir, steps: int, kill_at: int, *extra: str, timeout: float = 300) -> None:
    """Train ``steps`` steps through ``train_svg.py``, SIGKILL the process once
    ``ckpt_<kill_at>.pt`` exists (asserting it had not finished), then re-run it to the end."""
    import signal
    import time

    args = [sys.executable, os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY,
            f"train.steps_per_epoch={steps}", f"run_dir={run_dir}", *extra]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not os.path.exists(os.path.join(run_dir, f"ckpt_{kill_at:09d}.pt")):
        assert proc.poll() is None and time.time() < deadline, f"training did not reach step {kill_at}"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(run_dir, f"ckpt_{steps:09d}.pt"))   # really cut short
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

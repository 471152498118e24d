"""Checkpoints: state dicts written atomically, the last K kept plus the best, exact RNG state."""
from __future__ import annotations

import dataclasses
import glob
import os
import pickle
import random
import re
from typing import Any, Dict, List, Optional

import numpy as np
import torch

CKPT_PATTERN = re.compile(r"^ckpt_(\d{9})\.pt$")


def rng_state() -> Dict[str, Any]:
    """Every random generator a training step may draw from."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: str) -> None:
    """torch.save to a temporary file in the same folder, fsync, then rename over ``path``.

    A crash at any point leaves either the old file or the complete new one, never a truncated
    file under the final name.
    """
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)   # make the rename itself durable
    finally:
        os.close(dir_fd)


TMP_PATTERN = re.compile(r"^\.(ckpt_\d{9}|best)\.pt\.tmp-(\d+)$")


def remove_stale_temporaries(run_dir: str) -> List[str]:
    """Delete temporary checkpoint files left by writers that died mid-write; returns them.

    A file whose writing process is still alive is kept (it may be finishing its rename).
    """
    removed = []
    for path in glob.glob(os.path.join(run_dir, ".*.pt.tmp-*")):
        m = TMP_PATTERN.match(os.path.basename(path))
        if m is None:
            continue
        try:
            os.kill(int(m.group(2)), 0)
            continue                      # the writer still runs
        except ProcessLookupError:
            pass
        except PermissionError:           # alive, owned by someone else
            continue
        os.remove(path)
        removed.append(path)
    return removed


def list_checkpoints(run_dir: str) -> List[str]:
    """Step checkpoints in ``run_dir``, oldest first (temporary files are never listed)."""
    paths = [p for p in glob.glob(os.path.join(run_dir, "ckpt_*.pt"))
             if CKPT_PATTERN.match(os.path.basename(p))]
    return sorted(paths)


def latest_checkpoint(run_dir: str) -> Optional[str]:
    paths = list_checkpoints(run_dir)
    return paths[-1] if paths else None


def save_checkpoint(run_dir: str, state: Dict[str, Any], step: int, keep_last: int,
                    val_loss: Optional[float] = None) -> str:
    """Write ``ckpt_<step>.pt``, update ``best.pt`` when ``val_loss`` improves, prune old ones."""
    path = os.path.join(run_dir, f"ckpt_{step:09d}.pt")
    best_path = os.path.join(run_dir, "best.pt")
    state = dict(state, step=step, val_loss=val_loss)
    atomic_save(state, path)
    if val_loss is not None:
        best = None
        if os.path.exists(best_path):
            best = torch.load(best_path, map_location="cpu", weights_only=False).get("val_loss")
        if best is None or val_loss < best:
            atomic_save(state, best_path)
    for old in list_checkpoints(run_dir)[:-keep_last] if keep_last > 0 else []:
        os.remove(old)
    return path


def config_mismatch(saved: Dict[str, Any], current: Dict[str, Any], prefix: str = "") -> List[str]:
    """Dotted keys whose values differ between two nested config dicts."""
    keys = []
    for k in sorted(set(saved) | set(current)):
        a, b = saved.get(k, "<missing>"), current.get(k, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            keys += config_mismatch(a, b, f"{prefix}{k}.")
        elif a != b:
            keys.append(f"{prefix}{k}: checkpoint {a!r} vs config {b!r}")
    return keys


def load_checkpoint(path: str, model_cfg: Any = None) -> Dict[str, Any]:
    """Load a checkpoint on the CPU; with ``model_cfg``, refuse one built for another model."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as e:   # truncated, damaged, not torch
        first = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
        raise ValueError(f"checkpoint {path} cannot be read ({first}); it is damaged or not a "
                         f"checkpoint") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not an svg-sigma checkpoint: it holds a {type(state).__name__}")
    for key in ("model", "config", "step"):
        if key not in state:
            raise ValueError(f"{path} is not an svg-sigma checkpoint: no {key!r} entry")
    if model_cfg is not None:
        diff = config_mismatch(state["config"]["model"], dataclasses.asdict(model_cfg), "model.")
        if diff:
            raise ValueError(f"checkpoint {path} does not match the model config: " + "; ".join(diff))
    return state

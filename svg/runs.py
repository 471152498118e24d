"""Trained runs on disk: find a run's checkpoint and rebuild its model and config."""
from __future__ import annotations

import os
from typing import Tuple

import torch

from .checkpoint import latest_checkpoint, load_checkpoint
from .config import Config, config_from_dict
from .model import SVG


def resolve_checkpoint(run: str) -> str:
    """A checkpoint file, or a run folder → its ``best.pt``, else its latest ``ckpt_*.pt``."""
    if os.path.isfile(run):
        return run
    if not os.path.isdir(run):
        raise FileNotFoundError(f"{run} is neither a checkpoint file nor a run folder")
    best = os.path.join(run, "best.pt")
    path = best if os.path.exists(best) else latest_checkpoint(run)
    if path is None:
        raise FileNotFoundError(f"run folder {run} holds no checkpoint (best.pt or ckpt_*.pt)")
    return path


def load_model(run: str, device: torch.device) -> Tuple[SVG, Config, str, int]:
    """(model in eval mode, its Config, checkpoint path, step) from a run folder or checkpoint."""
    path = resolve_checkpoint(run)
    state = load_checkpoint(path)
    cfg = config_from_dict(state["config"], path)
    model = SVG(cfg.model)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise ValueError(f"checkpoint {path} does not fit the model its config describes: {e}") from None
    return model.to(device).eval(), cfg, path, int(state["step"])

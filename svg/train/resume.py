"""Where a training run starts: afresh, from its newest intact checkpoint, or from a chosen one.

Settings that differ from the checkpoint's are listed key by key (``old → new``) in a warning, or
refused with ``strict``; a different model is always refused. Each resume writes its own
``config.<step>.yaml`` next to the untouched ``config.yaml``.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from torch import nn

from core.atomic_files import remove_stale_temporaries
from core.errors import UserError

from svg.checkpoints import (beyond_keep_last, config_diff, list_checkpoints, load_checkpoint,
                                  load_latest_intact, set_aside_later)
from svg.config import Config
from svg.runtime import Dist
from svg.train.ema import EMA
from svg.train.schedule import resume_rate_change

log = logging.getLogger("svg.train")
#: keys that may differ on resume without being a change of settings
IGNORED_ON_RESUME = ("run_dir", "train.resume_from")


def changed_settings(saved: Dict[str, Any], cfg: Config) -> List[Tuple[str, Any, Any]]:
    """(key, checkpoint value, current value) for every non-model setting that differs."""
    current = dataclasses.asdict(cfg)
    return [(k, a, b) for k, a, b in config_diff(saved, current)
            if k not in IGNORED_ON_RESUME and not k.startswith("model.")]


def _find(cfg: Config, d: Dist, resume: bool, resume_from: Optional[str], required: bool = False):
    """(path, state) to start from, or (None, None); ``required``: none is an error (on every
    rank alike). Only rank 0 moves corrupt files aside."""
    path = state = None
    if d.main:
        for p in remove_stale_temporaries(cfg.run_dir):
            log.warning("removed %s, left by a write that was interrupted", p)
        if resume_from:
            path, state = resume_from, load_checkpoint(resume_from, cfg.model)
        elif resume:
            found = load_latest_intact(cfg.run_dir, cfg.model)
            path, state = found if found else (None, None)
    if d.distributed:
        box = [path]
        dist.broadcast_object_list(box, src=0)
        path = box[0]
        if not d.main and path is not None:
            state = load_checkpoint(path, cfg.model)
    if required and path is None:
        raise UserError(f"--resume: no checkpoint in {cfg.run_dir}")
    return path, state


def restore(cfg: Config, d: Dist, model: nn.Module, opt: torch.optim.Optimizer,
            scaler: torch.amp.GradScaler, resume: bool, resume_from: Optional[str],
            strict: bool, ema: Optional[EMA] = None, required: bool = False
            ) -> Tuple[int, Optional[str], List[str]]:
    """Load the starting checkpoint into model, optimizer, scaler and (when training keeps one)
    the weights' moving average; a checkpoint without an average starts it from its weights.

    Returns (its step, 0 when starting afresh; its path; the changed settings as
    ``key: old → new`` lines). Optimiser settings asked for now (lr, beta1) replace the saved ones.
    ``required``: a run folder without a checkpoint to resume from raises ``UserError``.
    """
    path, state = _find(cfg, d, resume, resume_from, required)
    if state is None:
        return 0, None, []
    changes = [f"{k}: {a!r} → {b!r}" for k, a, b in changed_settings(state["config"], cfg)]
    if changes:
        listing = "; ".join(changes)
        if strict:
            raise UserError(f"--strict-resume: the settings differ from checkpoint {path}'s: {listing}")
        if d.main:
            log.warning("resuming %s with changed settings (recorded in config.%09d.yaml): %s", path,
                        int(state["step"]), listing)
    rate_change = resume_rate_change(state["config"]["train"], cfg.train, int(state["step"]))
    if rate_change and d.main:
        log.warning("%s", rate_change)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if state.get("scaler") or not scaler.is_enabled():
        scaler.load_state_dict(state.get("scaler") or {})
    elif d.main:   # written without fp16 (a disabled scaler saves {}): the scaler starts afresh
        log.info("%s was written without an fp16 gradient scaler; train.amp=fp16 starts one", path)
    if ema is not None:
        if state.get("ema") is not None:
            ema.load_state_dict(state["ema"])
        else:
            ema.model.load_state_dict(state["model"])
            if d.main:
                log.warning("%s holds no moving average of the weights; train.ema starts one from "
                            "its weights", path)
    for group in opt.param_groups:   # the optimiser settings asked for now, not the saved ones
        group["lr"], group["betas"] = cfg.train.lr, (cfg.train.beta1, group["betas"][1])
    step = int(state["step"])
    if d.main:
        log.info("resuming from %s at step %d", path, step)
        if resume_from and os.path.dirname(os.path.abspath(resume_from)) == os.path.abspath(cfg.run_dir):
            for moved in set_aside_later(cfg.run_dir, step):
                log.warning("set aside %s: it is later than the checkpoint restarted from", moved)
        warn_of_pruning(cfg.run_dir, cfg.train.keep_last)
    return step, path, changes


def warn_of_pruning(run_dir: str, keep_last: int) -> List[str]:
    """Warn when the run folder holds more checkpoints than ``keep_last`` (e.g. a resume whose
    config lacks the earlier run's larger ``train.keep_last``): the next save would delete more
    than the one it rotates out. Returns the checkpoints that save deletes, oldest first."""
    kept = list_checkpoints(run_dir)
    doomed = beyond_keep_last(kept + ["the next checkpoint"], keep_last)
    if len(doomed) <= 1:   # the usual rotation
        return []
    log.warning("%s holds %d checkpoints but train.keep_last is %d: the next checkpoint deletes the "
                "%d oldest (%s to %s); train.keep_last=0 keeps every checkpoint", run_dir, len(kept),
                keep_last, len(doomed), os.path.basename(doomed[0]), os.path.basename(doomed[-1]))
    return doomed


def session_config_text(cfg_yaml: str, step: int, path: Optional[str], changes: List[str]) -> str:
    """``config.<step>.yaml`` of a resumed session: the config, headed by where it resumed from
    and what changed."""
    head = [f"# resumed from {path} at step {step}"]
    if changes:
        head.append("# settings changed since that checkpoint:")
        head += [f"#   {c}" for c in changes]
    else:
        head.append("# no setting changed")
    return "\n".join(head) + "\n" + cfg_yaml

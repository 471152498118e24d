"""Checkpoint I/O for training and inference alike: state dicts written atomically, the last K
kept plus the best; a run's checkpoint found again, what earlier versions stored translated
(:func:`translate_stored_config`, the one place), and rebuilt into its model and config; exports.

Training (``svg.train``) writes and resumes through it; ``svg evaluate``, ``generate``,
``predict``, ``export`` and :class:`svg.Predictor` read through it.
"""
from __future__ import annotations

import copy
import dataclasses
import glob
import logging
import os
import pickle
import re
from typing import Any, Dict, List, Optional, Tuple

import torch

from core.atomic_files import atomic_write
from core.errors import MissingFile, UserError
from core.registry import option_names
from models import SVG
from models.config import LIKELIHOODS

from svg.config.read import read_config
from svg.config.schema import Config

log = logging.getLogger(__name__)
CKPT_PATTERN = re.compile(r"^ckpt_(\d{9})\.pt$")


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save`` through :func:`core.atomic_files.atomic_write`: a crash at any point leaves
    either the old file or the complete new one, never a truncated file under the final name."""
    with atomic_write(path, "wb") as f:
        torch.save(obj, f)


def list_checkpoints(run_dir: str) -> List[str]:
    """Step checkpoints in ``run_dir``, oldest first (temporary files are never listed)."""
    paths = [p for p in glob.glob(os.path.join(run_dir, "ckpt_*.pt"))
             if CKPT_PATTERN.match(os.path.basename(p))]
    return sorted(paths)


def latest_checkpoint(run_dir: str) -> Optional[str]:
    paths = list_checkpoints(run_dir)
    return paths[-1] if paths else None


def beyond_keep_last(paths: List[str], keep_last: int) -> List[str]:
    """The checkpoints (oldest first, as ``list_checkpoints`` gives them) that ``keep_last``
    prunes: all but the newest ``keep_last``; none when ``keep_last`` is 0."""
    return paths[:-keep_last] if keep_last > 0 else []


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
            try:
                best = load_checkpoint(best_path, mmap=True).get("val_loss")
            except CorruptCheckpoint as e:
                os.replace(best_path, best_path + ".corrupt")
                log.warning("%s; moved aside to best.pt.corrupt and replaced", e)
        if best is None or val_loss < best:
            atomic_save(state, best_path)
    for old in beyond_keep_last(list_checkpoints(run_dir), keep_last):
        os.remove(old)
    return path


def config_diff(saved: Dict[str, Any], current: Dict[str, Any], prefix: str = ""
                ) -> List[Tuple[str, Any, Any]]:
    """(dotted key, saved value, current value) for every key that differs between two nested
    config dicts."""
    keys = []
    for k in sorted(set(saved) | set(current)):
        a, b = saved.get(k, "<missing>"), current.get(k, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            keys += config_diff(a, b, f"{prefix}{k}.")
        elif a != b:
            keys.append((f"{prefix}{k}", a, b))
    return keys


class CorruptCheckpoint(UserError):
    """A checkpoint file that cannot be read (truncated, not a torch file, missing entries)."""


def translate_stored_config(stored: Any, where: str) -> Any:
    """A checkpoint's stored config (a mapping) in today's keys: the one place where what earlier
    versions wrote is translated. Returns a copy; ``where`` names the file in messages.

    Version 0.1 (and every checkpoint before the renovation) stored the options of every built-in
    likelihood under ``model.likelihood`` (``sigma``, ``mse_beta``, ``axes``, ``log_sigma_min``,
    ``momentum``) whichever one was chosen, and read only the chosen one's: the others are dropped
    here. Before 0.1 the mse likelihood's KL weight was ``model.likelihood.beta``: read as
    ``mse_beta``. Settings added since (``model.head``, ...) take their defaults when the config
    is read, which are the behaviour of the version that wrote it.
    """
    stored = copy.deepcopy(stored)
    lik = stored.get("model", {}).get("likelihood") if isinstance(stored, dict) else None
    if not isinstance(lik, dict):
        return stored
    if "beta" in lik and "mse_beta" not in lik:
        lik["mse_beta"] = lik.pop("beta")
    entry = LIKELIHOODS.get(lik.get("name", "optimal"))
    if entry is not None:   # an unknown name is refused, with the valid ones, when the config is read
        declared = set(option_names(entry.Options))
        for key in [k for k in lik if k != "name" and k not in declared]:
            del lik[key]
    return stored


def load_checkpoint(path: str, model_cfg: Any = None, mmap: bool = False) -> Dict[str, Any]:
    """Load a checkpoint on the CPU; with ``model_cfg``, refuse one built for another model.
    ``mmap``: map the tensors instead of reading them (for a look at the small entries).

    Raises :class:`CorruptCheckpoint` (naming the file) when it cannot be read, and ``ValueError``
    naming the differing keys when it was built for another model.
    """
    if not os.path.exists(path):
        raise MissingFile(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False, mmap=mmap)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, ValueError, KeyError,
            OverflowError, IndexError, TypeError, AttributeError, ImportError, MemoryError) as e:
        # truncated, damaged, not a torch file: torch's own message names neither file nor cause;
        # unpickling random bytes can fail with any of these (OverflowError seen in the tests)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
        raise CorruptCheckpoint(f"checkpoint {path} cannot be read ({first}); it is damaged or not "
                                f"a checkpoint") from None
    if not isinstance(state, dict):
        raise CorruptCheckpoint(f"{path} is not an svg-sigma checkpoint: it holds a {type(state).__name__}")
    for key in ("model", "config", "step"):
        if key not in state:
            raise CorruptCheckpoint(f"{path} is not an svg-sigma checkpoint: no {key!r} entry")
    # written by any earlier version: translated, then rebuilt with today's keys and defaults
    state["config"] = dataclasses.asdict(read_config(translate_stored_config(state["config"], path),
                                                     where=path))
    if model_cfg is not None:
        diff = config_diff(state["config"]["model"], dataclasses.asdict(model_cfg), "model.")
        if diff:
            raise UserError(f"checkpoint {path} does not match the model config: " + "; ".join(
                f"{k}: checkpoint {a!r} vs config {b!r}" for k, a, b in diff))
    return state


def load_latest_intact(run_dir: str, model_cfg: Any) -> Optional[Tuple[str, Dict[str, Any]]]:
    """(path, state) of the newest step checkpoint that loads, or None when there is none.

    A checkpoint that cannot be read is named in a warning and moved aside as ``<name>.corrupt``
    (never deleted), and the next older one is tried; if every one fails, the ``ValueError``
    names each file tried. A checkpoint of another model config is an error, not a fallback.
    """
    tried = []
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path, model_cfg)
        except CorruptCheckpoint as e:
            aside = path + ".corrupt"
            os.replace(path, aside)
            log.warning("%s; moved aside to %s, trying the next older checkpoint", e, aside)
            tried.append(f"{path} (now {os.path.basename(aside)})")
    if tried:
        raise UserError(f"no intact checkpoint in {run_dir}; tried, newest first: " + ", ".join(tried)
                        + ". Start afresh in another run_dir, or give --resume-from CKPT")
    return None


def set_aside_later(run_dir: str, step: int) -> List[str]:
    """Rename step checkpoints after ``step`` to ``<name>.superseded`` (a run restarted from an
    earlier checkpoint must not resume from them later); returns the new names."""
    moved = []
    for path in list_checkpoints(run_dir):
        if int(CKPT_PATTERN.match(os.path.basename(path)).group(1)) > step:
            os.replace(path, path + ".superseded")
            moved.append(path + ".superseded")
    return moved


def is_finite_state(state_dict: Dict[str, torch.Tensor]) -> bool:
    """True when every floating-point tensor of a state dict is finite."""
    return all(bool(torch.isfinite(v).all()) for v in state_dict.values()
               if torch.is_tensor(v) and v.is_floating_point())


def resolve_checkpoint(run: str) -> str:
    """A checkpoint file, or a run folder → its ``best.pt``, else its latest ``ckpt_*.pt``."""
    if os.path.isfile(run):
        return run
    if not os.path.isdir(run):
        raise MissingFile(f"{run} is neither a checkpoint file nor a run folder")
    best = os.path.join(run, "best.pt")
    path = best if os.path.exists(best) else latest_checkpoint(run)
    if path is None:
        raise MissingFile(f"run folder {run} holds no checkpoint (best.pt or ckpt_*.pt)")
    return path


def model_weights(state: Dict[str, Any], raw_weights: bool = False, where: str = "the checkpoint"
                  ) -> Tuple[Dict[str, Any], str]:
    """(state dict, ``"ema"`` or ``"raw"``) of a checkpoint: the moving average of the weights
    when training kept one (``train.ema``) and ``raw_weights`` is not asked for, else the live
    weights. Checkpoints without an average (older ones, exports) give their weights as ``"raw"``,
    or as an export says (``weights``). ``raw_weights`` asked of a file that holds only the
    average (an export made without ``--raw-weights``) raises :class:`UserError` naming ``where``:
    it cannot be honoured, and ignoring it would score other weights than the user asked for."""
    ema = state.get("ema")
    if ema is not None and not raw_weights:
        return ema["model"], "ema"
    kind = state.get("weights", "raw")
    if raw_weights and kind == "ema":
        raise UserError(f"--raw-weights: {where} holds only the moving average of the weights (an "
                        f"export made without --raw-weights); leave the option out, or export the "
                        f"run again with --raw-weights")
    return state["model"], kind


#: the help of every command's ``--raw-weights`` flag
RAW_WEIGHTS_HELP = ("use the live weights, not their moving average (when training kept one with "
                    "train.ema; default: the average)")


def weights_kind(path: str, raw_weights: bool = False) -> str:
    """``"ema"`` or ``"raw"``: which weights :func:`load_model` takes from checkpoint ``path``."""
    return model_weights(load_checkpoint(path, mmap=True), raw_weights, path)[1]


def load_model(run: str, device: torch.device, raw_weights: bool = False
               ) -> Tuple[SVG, Config, str, int]:
    """(model in eval mode, its Config, checkpoint path, step) from a run folder or checkpoint.

    The weights are the moving average when training kept one, unless ``raw_weights``
    (:func:`model_weights`); which ones were loaded is logged."""
    path = resolve_checkpoint(run)
    state = load_checkpoint(path)
    cfg = read_config(state["config"], where=path)
    model = SVG(cfg.model)
    weights, kind = model_weights(state, raw_weights, path)
    if kind == "ema":
        log.info("%s: the moving average of the weights (train.ema); --raw-weights for the live ones", path)
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        raise UserError(f"checkpoint {path} does not fit the model its config describes: {e}") from None
    return model.to(device).eval(), cfg, path, int(state["step"])


def export_model(run: str, dst: str, half: bool = True, raw_weights: bool = False) -> Dict[str, Any]:
    """Write a run's checkpoint as a file to share: its model weights, config, step and val loss,
    without the optimiser and trainer state (a third of the size; half again with ``half``).

    ``run`` is a run folder (its ``best.pt``, else its latest checkpoint) or a checkpoint file.
    With ``half`` the floating-point weights are stored as float16; :func:`load_model` casts them
    back to float32 (the precision lost is measured in docs/results.md for the shipped model).
    The weights are the moving average when training kept one, unless ``raw_weights``.
    Returns the written state's summary: source, step, dtype, weights (ema | raw), bytes.
    """
    src = resolve_checkpoint(run)
    state = load_checkpoint(src)
    dtype = torch.float16 if half else torch.float32
    dtype_name = str(dtype).removeprefix("torch.")
    chosen, kind = model_weights(state, raw_weights, src)
    weights = {k: v.to(dtype) if v.is_floating_point() else v for k, v in chosen.items()}
    if not is_finite_state(weights):
        raise UserError(f"{src}: some weights overflow float16; export them with --fp32" if half else
                        f"{src}: some weights are not finite; export an earlier checkpoint")
    atomic_save({"model": weights, "config": state["config"], "step": state["step"],
                 "val_loss": state.get("val_loss"), "exported_from": os.path.abspath(src),
                 "weights_dtype": dtype_name, "weights": kind}, dst)
    return {"source": src, "step": int(state["step"]), "dtype": dtype_name, "weights": kind,
            "bytes": os.path.getsize(dst)}

"""The training loop: step → log → maybe rollouts → maybe checkpoint, and what surrounds it.

Exact resume: every random draw of step s (which sequences, their on-the-fly randomness, the
posterior noise) is seeded from (seed, rank, s) (:mod:`svg.train.batches`), so a run restarted from a
checkpoint at step k replays steps k+1.. exactly; on CPU the weights end bitwise identical to an
uninterrupted run. Recovery: a skipped (non-finite) step leaves no trace; a diverged run writes
nothing from its poisoned state; a checkpoint that cannot be read is moved aside and the next
older one used; any other failure after the first step saves the last good step first.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from typing import Any, Dict, Optional, Sequence

import torch
from torch import nn

from core.atomic_files import write_text
from core.errors import UserError

from svg.checkpoints import is_finite_state, latest_checkpoint, save_checkpoint
from svg.config import Config, EvalConfig, check_frame_shape, check_ranges, config_to_yaml
from svg.data import make_dataset, unit_frames
from core.devices import native_bf16, pick_device, resolve_amp, tf32
from svg.runtime import Dist, StopSignal, any_rank, barrier, init_distributed, keep_freed_memory, rank_checksums
from svg.eval.evaluate import evaluate, resolve_lengths
from models.svg_lp import SVG
from svg.train.batches import fixed_batches, loader_workers, step_seed, training_loader
from svg.train.ema import EMA
from svg.train.resume import restore, session_config_text
from svg.train.schedule import learning_rate
from svg.train.log import TrainLog, log_file
from svg.train.run_folder import claim_run_folder
from svg.train.step import train_step
from svg.train.validation import training_rollouts, validate

log = logging.getLogger("svg.train")
RUN_FILES = ("config.yaml", "train.log", "tensorboard", "gifs", "best.pt", "rollouts.gif", "summary.json")


class TrainingDiverged(UserError):
    """``train.max_nonfinite`` non-finite steps in a row; nothing was saved from that state.

    A :class:`~core.errors.UserError`: the cure lies in the settings (learning rate, clipping,
    data), so the CLI shows it as a plain message like other user errors."""


def check_config(cfg: Config, device: torch.device) -> None:
    """Raise ``ValueError`` for training settings that cannot work, naming the key."""
    t = cfg.train
    check_ranges(cfg)   # also for a Config built in code rather than read
    if t.amp == "fp16" and device.type != "cuda":
        raise UserError("train.amp=fp16 needs CUDA; use bf16 on CPU")
    if t.batch_size % t.accumulate:
        raise UserError(f"train.batch_size={t.batch_size} does not split into train.accumulate="
                        f"{t.accumulate} equal micro-batches; make the batch size a multiple of it")
    check_frame_shape(cfg, "the training config")


@dataclasses.dataclass
class Session:
    """Everything one training process holds."""
    cfg: Config
    d: Dist
    device: torch.device
    model: SVG
    net: nn.Module
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    start: int
    val_batches: list
    logger: TrainLog
    test_set: Any = None
    ema: Optional[EMA] = None
    saved_step: int = -1

    @property
    def eval_model(self) -> SVG:
        """What validation, rollouts and the end-of-run report use: the EMA when there is one."""
        return self.ema.model if self.ema is not None else self.model

    def state(self) -> Dict[str, Any]:
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                 "scaler": self.scaler.state_dict(), "config": dataclasses.asdict(self.cfg)}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def checkpoint(self, step: int, validate_first: bool = True, sync: bool = True) -> Optional[str]:
        """Save step ``step`` on the main process if its state is healthy; returns the path.

        Healthy: finite weights and (when validated) a finite validation loss. A diverging run
        thus never writes a checkpoint that a re-run would resume from. ``sync``: wait for the other
        ranks afterwards (not when one rank is failing alone).
        """
        path = None
        if self.d.main:
            state = self.state()
            val = validate(self.eval_model, self.val_batches, self.device) if validate_first else None
            if val is not None:
                self.logger.scalars("val", step, **val)
            if not is_finite_state(state["model"]) or (val is not None and not math.isfinite(val["loss"])):
                log.warning("step %d: non-finite weights or validation loss; no checkpoint written", step)
            else:
                path = save_checkpoint(self.cfg.run_dir, state, step, self.cfg.train.keep_last,
                                       None if val is None else val["loss"])
                self.saved_step = step
        if sync:
            barrier(self.d)
        return path


def _build(cfg: Config, d: Dist, device: torch.device):
    t = cfg.train
    torch.manual_seed(t.seed)   # identical initial weights on every rank
    model = SVG(cfg.model).to(device)
    if d.distributed and t.sync_batchnorm:
        if device.type != "cuda":
            raise UserError("train.sync_batchnorm=true needs CUDA: torch's SyncBatchNorm runs on GPUs "
                            "only; on CPU leave it false (each process keeps its own statistics)")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        log.info("BatchNorm statistics shared by SyncBatchNorm across %d processes", d.world)
    # fused: one kernel over all parameters instead of one loop of small operators per tensor
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, betas=(t.beta1, 0.999),
                           fused=device.type in ("cpu", "cuda"))
    scaler = torch.amp.GradScaler(device.type, enabled=t.amp == "fp16")
    amp, why = resolve_amp(t.amp, device)
    log.info("precision: %s (%s)", "fp32" if amp == "none" else amp, why)
    native, hardware = native_bf16(device)
    if amp == "bf16" and not native:
        # measured on one core of an AVX2-only CPU: the demo's step took 57 s in bf16, 4.3 s in fp32
        log.warning("train.amp=bf16, but %s: bf16 is emulated here and can be many times slower "
                    "than fp32; train.amp=auto picks fp32 on this device", hardware)
    return model, opt, scaler


def _wrap(model: SVG, cfg: Config, d: Dist, device: torch.device) -> nn.Module:
    net: nn.Module = model
    if d.distributed:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
        if d.main:
            log.info("DistributedDataParallel over %d process(es), backend %s", d.world,
                     torch.distributed.get_backend())
    return torch.compile(net) if cfg.train.compile else net


def train(cfg: Config, resume: bool = True, progress: bool = True, resume_from: Optional[str] = None,
          strict_resume: bool = False, earlier_log: Sequence[logging.LogRecord] = (),
          overwrite: bool = False, require_checkpoint: bool = False) -> Dict[str, Any]:
    """Train (or resume) the run in ``cfg.run_dir``; returns the end-of-run summary.

    resume : continue from the newest intact checkpoint of the run folder, if any.
    resume_from : a checkpoint to restart from instead (also ``train.resume_from``), e.g. the last
        good one of a diverged run; later checkpoints of the folder are set aside.
    strict_resume : refuse, rather than warn about, settings that differ from the checkpoint's.
    earlier_log : log records of the set-up before this call (e.g. config warnings), for
        ``train.log``.
    overwrite : train in a folder that is no run folder although it holds files the trainer
        writes over (its ``config.yaml``, ...); refused otherwise.
    require_checkpoint : refuse to start afresh (``svg train --resume``): the run folder must hold
        a checkpoint to continue from.

    The run folder is held by this process alone while it trains (:mod:`svg.train.run_folder`):
    a folder that cannot be written, or that another trainer holds, raises ``UserError`` first.
    """
    d = init_distributed(cfg.train.device)
    device = pick_device(cfg.train.device, d.local_rank)
    check_config(cfg, device)
    if cfg.data.root is not None:   # so that evaluation finds the data from anywhere
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, root=os.path.abspath(cfg.data.root)))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    elif cfg.train.keep_host_memory:
        keep_freed_memory()
    with claim_run_folder(cfg.run_dir, d.main, overwrite), log_file(cfg.run_dir, d.main, earlier_log), \
            tf32(cfg.train.tf32):
        return _train(cfg, d, device, resume, progress, resume_from or cfg.train.resume_from,
                      strict_resume, require_checkpoint)


def _train(cfg: Config, d: Dist, device: torch.device, resume: bool, progress: bool,
           resume_from: Optional[str], strict_resume: bool, require_checkpoint: bool) -> Dict[str, Any]:
    t = cfg.train
    model, opt, scaler = _build(cfg, d, device)
    ema = EMA(model, t.ema) if t.ema is not None else None
    start, resumed, changes = restore(cfg, d, model, opt, scaler, resume, resume_from, strict_resume,
                                      ema, require_checkpoint)
    seq_len = cfg.model.n_past + cfg.data.n_future
    # every split the run uses is built before the first step: an empty one is refused now
    train_set = make_dataset(cfg.data, "train", seq_len, uint8_items=True)   # made float on the device
    val_batches = fixed_batches(make_dataset(cfg.data, "val", seq_len), t.val_batches * t.batch_size,
                                t.batch_size)
    test_set = make_dataset(cfg.data, "test", seq_len)   # for the end-of-run report
    total = t.epochs * t.steps_per_epoch
    net = _wrap(model, cfg, d, device)
    if d.main:
        if resumed is None:
            write_text(os.path.join(cfg.run_dir, "config.yaml"), config_to_yaml(cfg))
        else:   # the first session's config.yaml stays as it was
            write_text(os.path.join(cfg.run_dir, f"config.{start:09d}.yaml"),
                       session_config_text(config_to_yaml(cfg), start, resumed, changes))
        os.makedirs(os.path.join(cfg.run_dir, "gifs"), exist_ok=True)
        log.info("device %s, %d threads, %d process(es); %s from step %d of %d; run folder %s",
                 device, torch.get_num_threads(), d.world, "resuming" if start else "starting", start,
                 total, cfg.run_dir)
    logger = TrainLog(cfg.run_dir, start, total, t.log_every, t.batch_size * d.world, d.main, progress)
    s = Session(cfg, d, device, model, net, opt, scaler, start, val_batches, logger, test_set, ema,
                saved_step=start)
    try:
        summary = _loop(s, train_set, total)
    finally:
        s.logger.close()
    return _finish(s, summary, total)


def _loop(s: Session, train_set, total: int) -> Dict[str, Any]:
    cfg, t, d = s.cfg, s.cfg.train, s.d
    workers = loader_workers(cfg.data.num_workers, s.device.type)
    if cfg.data.num_workers < 0 and d.main:
        log.info("data.num_workers=-1: %d loader worker(s) on %s", workers, s.device.type)
    loader = training_loader(train_set, t.seed, d.rank, s.start, total, t.batch_size, workers,
                             s.device.type == "cuda")
    noise = torch.Generator(device=s.device)
    nonfinite, done, stopped_by = 0, s.start, None
    with StopSignal() as stop:
        try:
            for step, batch in zip(range(s.start, total), loader):
                noise.manual_seed(step_seed(t.seed, d.rank, step))
                lr = learning_rate(step, t.lr, total, t.lr_schedule, t.lr_warmup, t.lr_final_fraction)
                for group in s.opt.param_groups:
                    group["lr"] = lr
                x = unit_frames(batch.to(s.device, non_blocking=True))
                stats = train_step(s.model, s.net, s.opt, s.scaler, x, noise, amp=t.amp,
                                   grad_clip=t.grad_clip, d=d, accumulate=t.accumulate)
                done = step + 1
                nonfinite = nonfinite + 1 if stats.skipped else 0
                if s.ema is not None and not stats.skipped:
                    s.ema.update(s.model)
                if stats.skipped:
                    log.warning("step %d: non-finite loss or gradient (%d in a row); step skipped, "
                                "nothing updated", done, nonfinite)
                    if nonfinite >= t.max_nonfinite:
                        raise TrainingDiverged(_diverged_message(s, nonfinite, done))
                s.logger.step(done, stats, lr)
                if d.main and done % t.gif_every == 0:
                    training_rollouts(s.eval_model, s.val_batches[0], cfg.model.n_past,
                                      os.path.join(cfg.run_dir, "gifs", f"step_{done:09d}.gif"),
                                      s.logger.writer, done)
                # across ranks a collective, so only at logged steps there (a SIGTERM waits at most
                # train.log_every steps); alone, every step and free
                interrupted = (any_rank(stop.signal is not None, d, s.device)
                               if not d.distributed or done % t.log_every == 0 or done == total
                               else False)
                if (done % t.ckpt_every == 0 or done == total or interrupted) and not nonfinite:
                    s.checkpoint(done)
                if interrupted:
                    stopped_by = stop.name or "another rank"
                    saved = ("checkpoint saved" if s.saved_step == done or not d.main else
                             "no checkpoint of this step (its state is not finite)")
                    log.warning("stopped by %s at step %d; %s, resume by re-running", stopped_by,
                                done, saved)
                    break
        except TrainingDiverged:
            raise
        except BaseException:
            _save_before_failing(s, done)
            raise
    return {"step": done, "total_steps": total, "stopped_by": stopped_by}


def _diverged_message(s: Session, nonfinite: int, done: int) -> str:
    last = latest_checkpoint(s.cfg.run_dir)
    where = (f"the last good checkpoint is {last}; re-running with a lower train.lr or a "
             f"train.grad_clip resumes from it, --resume-from CKPT picks an earlier one" if last else
             "no checkpoint was saved before it; re-running with a lower train.lr or a "
             "train.grad_clip starts afresh")
    return (f"{nonfinite} consecutive non-finite steps at step {done}; nothing was saved from the "
            f"diverged state, and {where}")


def _save_before_failing(s: Session, done: int) -> None:
    """An exception mid-run: keep the last completed step (if not saved yet), then let it go on."""
    if done <= s.saved_step or not s.d.main:
        return
    try:
        path = s.checkpoint(done, validate_first=False, sync=False)
        if path:
            log.error("training failed after step %d; saved %s first, resume by re-running", done, path)
    except Exception as e:   # the original failure matters more than this one
        log.error("training failed after step %d and its checkpoint could not be written: %s", done, e)


def _finish(s: Session, summary: Dict[str, Any], total: int) -> Dict[str, Any]:
    cfg, d = s.cfg, s.d
    if d.distributed:
        sums = rank_checksums(s.model, d)
        summary.update(rank_checksums=sums, ranks_in_sync=len(set(sums)) == 1)
        if s.ema is not None:   # each rank averages the same all-reduced weights
            summary["ema_rank_checksums"] = rank_checksums(s.ema.model, d)
            summary["ranks_in_sync"] &= len(set(summary["ema_rank_checksums"])) == 1
        if not summary["ranks_in_sync"]:
            raise RuntimeError(f"ranks diverged: parameter checksums {sums}, "
                               f"moving averages {summary.get('ema_rank_checksums')}")
    if d.main:
        if summary["stopped_by"] is None:
            # the GIF first, and a summary.json that says what happened even if the report fails
            training_rollouts(s.eval_model, s.val_batches[0], cfg.model.n_past,
                              os.path.join(cfg.run_dir, "rollouts.gif"), None, summary["step"])
            try:
                summary.update(final_report(s.eval_model, cfg, s.device, s.test_set))
            except Exception as e:
                summary["final_report"] = (f"failed: {type(e).__name__}: {e}; the final checkpoint "
                                           f"and rollouts.gif are written, `svg evaluate` scores the run")
                write_text(os.path.join(cfg.run_dir, "summary.json"), json.dumps(summary, indent=2))
                raise
        write_text(os.path.join(cfg.run_dir, "summary.json"), json.dumps(summary, indent=2))
        _log_outcome(cfg.run_dir, summary)
    return summary


def _log_outcome(run_dir: str, summary: Dict[str, Any]) -> None:
    present = [f for f in RUN_FILES if os.path.exists(os.path.join(run_dir, f))]
    log.info("run folder %s: checkpoints, %s", run_dir, ", ".join(present))
    if "metrics" in summary:
        m, p = summary["metrics"], summary["protocol"]
        floor = summary["copy_last_frame"]
        log.info("best of %d on %d test sequences (%d → %d frames): %s; copy-last-frame floor on "
                 "the same frames: %s (%s)", p["n_samples"], p["videos"], p["n_past"], p["n_future"],
                 ", ".join(f"{k.upper()} {v['mean']:.4f} ± {v['ci95']:.4f}" for k, v in m.items()),
                 ", ".join(f"{k.upper()} {v['mean']:.4f}" for k, v in floor.items()),
                 "beaten on every metric" if summary["beats_copy_last_frame"]
                 else "FAILING: the model does not beat copy-last-frame on every metric")


def final_report(model: SVG, cfg: Config, device: torch.device, test_set=None, n_videos: int = 16,
                 n_samples: int = 10) -> Dict[str, Any]:
    """Best-of-``n_samples`` scores on the first test videos at the training length, through the
    same :func:`svg.eval.evaluate.evaluate` as ``svg evaluate`` (a quick look, not a benchmark).
    ``test_set``: the test split at that length, if already built."""
    seq_len = cfg.model.n_past + cfg.data.n_future
    test_set = test_set if test_set is not None else make_dataset(cfg.data, "test", seq_len)
    ecfg = resolve_lengths(EvalConfig(n_samples=n_samples, max_videos=n_videos, batch_size=n_videos,
                                      likelihood=False), model, cfg.data.n_future)
    rep = evaluate(model, test_set, ecfg)
    return {"metrics": rep["metrics"], "copy_last_frame": rep["copy_last_frame"],
            "beats_copy_last_frame": rep["beats_copy_last_frame"],
            "protocol": dict(rep["protocol"], dataset=cfg.data.name, split="test")}

"""The training loop: data, optimisation, logging, checkpoints, faults and torchrun.

Exact resume: every random draw of step s (which sequences, their on-the-fly randomness, the
posterior noise) is seeded from (seed, rank, s), so a run restarted from a checkpoint at step k
replays steps k+1.. exactly; on CPU the weights end bitwise identical to an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import signal
import time
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from .checkpoint import latest_checkpoint, load_checkpoint, remove_stale_temporaries, save_checkpoint
from .config import Config, config_to_yaml
from .data import make_dataset
from .metrics import psnr, ssim
from .model import SVG, eval_mode
from .scoring import score_samples
from .visualize import rollout_gif, rollout_grid

log = logging.getLogger("svg.train")
AMP_MODES = ("none", "bf16", "fp16")


def step_seed(seed: int, rank: int, step: int, salt: int = 0) -> int:
    """A 63-bit seed that depends only on its arguments."""
    return int(np.random.SeedSequence([seed, rank, step, salt]).generate_state(2, np.uint32)
               .astype(np.uint64).view(np.uint64)[0] >> np.uint64(1))


class StepBatches(Sampler):
    """Batch sampler whose batch for step s is the keys (s, 0..B−1): steps are replayable."""

    def __init__(self, start: int, stop: int, batch_size: int):
        self.start, self.stop, self.batch_size = start, stop, batch_size

    def __iter__(self) -> Iterator[List[tuple]]:
        for s in range(self.start, self.stop):
            yield [(s, j) for j in range(self.batch_size)]

    def __len__(self) -> int:
        return self.stop - self.start


class StepSeeded(Dataset):
    """Item (s, j) = a random sequence of ``dataset``, with every RNG seeded from (seed, rank, s, j).

    Whatever randomness the dataset uses (torch, numpy or Python's global generators) becomes a
    function of the step, in any worker; the caller's generator states are restored afterwards.
    """

    def __init__(self, dataset: Dataset, seed: int, rank: int):
        self.dataset, self.seed, self.rank = dataset, seed, rank

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key) -> torch.Tensor:
        s, j = key
        seed = step_seed(self.seed, self.rank, s, 1 + j)
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                np.random.seed(seed % 2 ** 32)
                random.seed(seed)
                index = int(torch.randint(len(self.dataset), ()))
                return self.dataset[index]
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


@dataclasses.dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str) -> Dist:
    """Join the torchrun process group when launched by torchrun (gloo on CPU, NCCL on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        use_cuda = device_name != "cpu" and torch.cuda.is_available()
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def pick_device(name: str, d: Dist) -> torch.device:
    """``auto`` → this process's CUDA device when available, else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", d.local_rank)
    return device


def autocast_context(device: torch.device, amp: str):
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def check_config(cfg: Config, device: torch.device) -> None:
    t = cfg.train
    if t.amp not in AMP_MODES:
        raise ValueError(f"train.amp={t.amp!r}; choose one of {AMP_MODES}")
    if t.amp == "fp16" and device.type != "cuda":
        raise ValueError("train.amp=fp16 needs CUDA; use bf16 on CPU")
    for key in ("epochs", "steps_per_epoch", "batch_size", "log_every", "gif_every", "ckpt_every"):
        if getattr(t, key) < 1:
            raise ValueError(f"train.{key} must be >= 1, got {getattr(t, key)}")


class Stop:
    """SIGINT/SIGTERM set a flag; the loop saves a checkpoint and exits at the next step."""

    def __init__(self):
        self.signal: Optional[int] = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _any_rank(flag: bool, d: Dist, device: torch.device) -> bool:
    if d.world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


def params_checksum(model: nn.Module) -> float:
    return float(sum(p.detach().double().sum().item() for p in model.parameters()))


@torch.no_grad()
def validate(model: SVG, batches: List[torch.Tensor], device: torch.device) -> Dict[str, float]:
    """Mean per-sequence loss terms on fixed test batches, BatchNorm and σ in eval mode."""
    rows = []
    with eval_mode(model):
        for x in batches:
            out = model.loss(x.to(device), generator=torch.Generator(device=device).manual_seed(0))
            rows.append((out.total.mean().item(), out.nll.mean().item() / out.n_dims,
                         out.kl.mean().item()))
    total, nll, kl = (float(np.mean(c)) for c in zip(*rows))
    return {"loss": total, "nll_per_dim": nll, "kl": kl}


def _state(model: SVG, opt, scaler, cfg: Config) -> Dict[str, Any]:
    return {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scaler": scaler.state_dict(), "config": dataclasses.asdict(cfg)}


def train(cfg: Config, resume: bool = True, progress: bool = True) -> Dict[str, Any]:
    """Train (or resume) the run in ``cfg.run_dir``; returns the end-of-run summary."""
    d = init_distributed(cfg.train.device)
    device = pick_device(cfg.train.device, d)
    check_config(cfg, device)
    t, run_dir = cfg.train, cfg.run_dir
    if device.type == "cuda":
        torch.cuda.set_device(device)
    os.makedirs(run_dir, exist_ok=True)

    torch.manual_seed(t.seed)   # identical initial weights on every rank
    model = SVG(cfg.model).to(device)
    if d.world > 1 and t.sync_batchnorm:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, betas=(t.beta1, 0.999))
    scaler = torch.amp.GradScaler(device.type, enabled=t.amp == "fp16")
    start = 0
    if d.main:
        for path in remove_stale_temporaries(run_dir):
            log.warning("removed %s, left by a checkpoint write that was interrupted", path)
    ckpt = latest_checkpoint(run_dir) if resume else None
    if ckpt is not None:
        state = load_checkpoint(ckpt, cfg.model)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start = int(state["step"])
    net = model
    if d.world > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    if t.compile:
        net = torch.compile(net)

    seq_len = cfg.model.n_past + cfg.data.n_future
    train_set = make_dataset(cfg.data, "train", seq_len)
    test_set = make_dataset(cfg.data, "test", seq_len)
    total = t.epochs * t.steps_per_epoch
    loader = DataLoader(StepSeeded(train_set, t.seed, d.rank), batch_sampler=StepBatches(start, total, t.batch_size),
                        num_workers=cfg.data.num_workers, pin_memory=device.type == "cuda",
                        generator=torch.Generator().manual_seed(t.seed))
    n_val = min(len(test_set), t.val_batches * t.batch_size)
    val_batches = [torch.stack([test_set[i] for i in range(k, min(k + t.batch_size, n_val))])
                   for k in range(0, n_val, t.batch_size)]

    writer = None
    if d.main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(os.path.join(run_dir, "tensorboard"))
        with open(os.path.join(run_dir, "config.yaml"), "w") as f:
            f.write(config_to_yaml(cfg))
        os.makedirs(os.path.join(run_dir, "gifs"), exist_ok=True)
        log.info("device %s, %d threads, %d process(es); %s from step %d of %d; run folder %s",
                 device, torch.get_num_threads(), d.world,
                 f"resuming {ckpt}" if ckpt else "starting", start, total, run_dir)

    noise = torch.Generator(device=device)
    nonfinite, step, stopped_by = 0, start, None
    t0, steps_timed = time.perf_counter(), 0
    bar = tqdm(total=total, initial=start, disable=not (progress and d.main), desc="train",
               dynamic_ncols=True)
    with Stop() as stop:
        for step, batch in zip(range(start, total), loader):
            x = batch.to(device, non_blocking=True)
            noise.manual_seed(step_seed(t.seed, d.rank, step))
            model.train()
            with autocast_context(device, t.amp):
                out = net(x, generator=noise)
            loss = out.objective()
            done = step + 1
            opt.zero_grad(set_to_none=True)
            if _any_rank(not torch.isfinite(loss).item(), d, device):
                nonfinite += 1
                log.warning("step %d: non-finite loss (%d in a row); step skipped", done, nonfinite)
                if nonfinite >= t.max_nonfinite:
                    if d.main:
                        save_checkpoint(run_dir, _state(model, opt, scaler, cfg), step, t.keep_last)
                    raise RuntimeError(f"{nonfinite} consecutive non-finite losses at step {done}; "
                                       f"stopped with a checkpoint at step {step} in {run_dir}. Lower "
                                       f"train.lr, set train.grad_clip, or check the data.")
            else:
                nonfinite = 0
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                grad_norm = nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip or math.inf)
                scaler.step(opt)
                scaler.update()
            steps_timed += 1
            if d.main:
                bar.update(1)
            if d.main and nonfinite == 0:
                bar.set_postfix(loss=f"{out.total.mean().item():.1f}",
                                nll=f"{out.nll.mean().item() / out.n_dims:.3f}",
                                kl=f"{out.kl.mean().item():.2f}", sigma=f"{out.sigma.mean().item():.3f}")
                if done % t.log_every == 0 or done == start + 1:
                    rate = steps_timed / (time.perf_counter() - t0)
                    if done == start + 1:
                        log.info("first step took %.2f s", 1 / rate)
                    elif done == start + t.log_every:
                        log.info("measured %.3f steps/s (%.1f sequences/s) over %d steps", rate,
                                 rate * t.batch_size * d.world, steps_timed)
                    scalars = {"loss": out.total.mean(), "nll_per_dim": out.nll.mean() / out.n_dims,
                               "kl": out.kl.mean(), "sigma": out.sigma.mean(),
                               "effective_beta": out.effective_beta.mean(),
                               "lr": opt.param_groups[0]["lr"], "grad_norm": grad_norm,
                               "steps_per_s": rate, "sequences_per_s": rate * t.batch_size * d.world}
                    for k, v in scalars.items():
                        writer.add_scalar(f"train/{k}", float(v.detach() if torch.is_tensor(v) else v), done)
            if d.main and done % t.gif_every == 0:
                _write_rollouts(model, val_batches[0], cfg,
                                os.path.join(run_dir, "gifs", f"step_{done:09d}.gif"), writer, done, device)
            last = done == total
            interrupted = _any_rank(stop.signal is not None, d, device)
            if done % t.ckpt_every == 0 or last or interrupted:
                if d.main:
                    val = validate(model, val_batches, device)
                    for k, v in val.items():
                        writer.add_scalar(f"val/{k}", v, done)
                    save_checkpoint(run_dir, _state(model, opt, scaler, cfg), done, t.keep_last, val["loss"])
                if d.world > 1:
                    dist.barrier()
            if interrupted:
                stopped_by = signal.Signals(stop.signal).name if stop.signal else "another rank"
                log.warning("stopped by %s at step %d; checkpoint saved, resume by re-running",
                            stopped_by, done)
                break
    bar.close()
    summary: Dict[str, Any] = {"step": step + 1 if total > start else start, "total_steps": total,
                               "stopped_by": stopped_by}
    if d.world > 1:
        sums = [None] * d.world
        dist.all_gather_object(sums, params_checksum(model))
        summary["rank_checksums"] = sums
        summary["ranks_in_sync"] = len(set(sums)) == 1
        if not summary["ranks_in_sync"]:
            raise RuntimeError(f"ranks diverged: parameter checksums {sums}")
    if d.main:
        if stopped_by is None:
            summary.update(_final_report(model, test_set, cfg, device))
            _write_rollouts(model, val_batches[0], cfg, os.path.join(run_dir, "rollouts.gif"), writer,
                            summary["step"], device)
        tmp = os.path.join(run_dir, ".summary.json.tmp")
        with open(tmp, "w") as f:
            json.dump(summary, f, indent=2)
        os.replace(tmp, os.path.join(run_dir, "summary.json"))
        writer.close()
    return summary


@torch.no_grad()
def _write_rollouts(model: SVG, batch: torch.Tensor, cfg: Config, path: str, writer, step: int,
                    device: torch.device, n_seq: int = 4, n_samples: int = 3) -> None:
    """GIF and TensorBoard grid: ground truth | posterior reconstruction | prior samples."""
    x = batch[:n_seq].to(device)
    n_past = cfg.model.n_past
    rec = model.reconstruct(x, generator=torch.Generator(device=device).manual_seed(0))
    samples = model.generate(x[:, :n_past], x.shape[1] - n_past, n_samples,
                             generator=torch.Generator(device=device).manual_seed(0))
    columns = torch.cat([rec.unsqueeze(0), samples], 0)
    rollout_gif(path, x, columns, n_past)
    if writer is not None:
        grid = rollout_grid(x, columns, n_past)            # (T, H, W, 3)
        writer.add_image("rollouts", torch.cat(list(grid), 1).permute(2, 0, 1), step)


@torch.no_grad()
def _final_report(model: SVG, test_set: Dataset, cfg: Config, device: torch.device,
                  n_seq: int = 16, n_samples: int = 10) -> Dict[str, Any]:
    """Best-of-N PSNR/SSIM on the first test sequences, with the protocol written out."""
    n = min(n_seq, len(test_set))
    x = torch.stack([test_set[i] for i in range(n)]).to(device)
    n_past = cfg.model.n_past
    samples = model.generate(x[:, :n_past], x.shape[1] - n_past, n_samples,
                             generator=torch.Generator(device=device).manual_seed(0))
    res = score_samples(x, samples, n_past, {"psnr": psnr, "ssim": ssim}, {"psnr": True, "ssim": True})
    return {"metrics": {k: {"mean": v.mean, "ci95": v.ci95} for k, v in res.items()},
            "protocol": {"dataset": cfg.data.name, "split": "test", "sequences": n,
                         "samples_per_sequence": n_samples, "n_past": n_past,
                         "n_future": x.shape[1] - n_past, "selection": "best of N by mean over predicted frames",
                         "psnr": "mean of per-channel PSNRs, data range 1",
                         "ssim": "11x11 Gaussian window, sigma 1.5, data range 1"}}

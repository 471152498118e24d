"""What a training process needs around the model: its place under torchrun, stop signals, and
how it keeps host memory (its device and precision: :mod:`core.devices`).

torchrun
    :class:`Dist` and the few collective calls the trainer needs (gloo on CPU, NCCL on CUDA).
Signals
    :class:`StopSignal` turns SIGINT/SIGTERM into a flag the training loop polls, so that it can
    checkpoint and exit cleanly.
Host memory
    Keep freed host memory in the process, so large CPU tensors are not page-faulted in anew.

    glibc's malloc serves every request above its mmap threshold (32 MB at most) with fresh pages
    from the kernel and hands them back on free. The time-batched model's activations are that large
    (a 64×64×64 map over B·T = 192 frames is 200 MB), so on CPU each step faults in, and the kernel
    zeroes, gigabytes of pages (the original's per-frame tensors of B frames stay under the
    threshold and are recycled). Measured on vgg64 (2-core CPU, ours alone): 3 million page faults
    and 11.1 s per step with glibc's defaults, none and 8.7 s with freed memory kept. Turning
    glibc's mmap path and heap trimming off keeps freed memory for the next steps (the heap grows
    for the first few, then settles); the cost is that the process holds its peak memory until it
    exits (there: peak RSS 5.7 GB instead of 4.6 GB).
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import sys
from typing import List, Optional

import torch
import torch.distributed as dist
from torch import nn

# mallopt(3) parameters (malloc.h); -1 for M_TRIM_THRESHOLD means "never trim" (mallopt(3))
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4


@dataclasses.dataclass
class Dist:
    """This process's place in the job (rank 0 of 1 without torchrun)."""
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    #: launched by torchrun (any number of processes, one included): the DDP code path
    distributed: bool = False

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs and writes."""
        return self.rank == 0


def init_distributed(device_name: str) -> Dist:
    """Join the torchrun process group when launched by torchrun (gloo on CPU, NCCL on CUDA).

    torchrun sets ``RANK``; with it, even one process trains through the DDP code path (so that
    path can be checked on one GPU)."""
    if "RANK" not in os.environ:
        return Dist()
    if not dist.is_initialized():
        use_cuda = device_name != "cpu" and torch.cuda.is_available()
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), True)


def any_rank(flag: bool, d: Dist, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on at least one."""
    if not d.distributed:
        return flag
    return bool(any_rank_tensor(torch.tensor(flag, device=device), d))


def any_rank_tensor(flag: torch.Tensor, d: Dist) -> torch.Tensor:
    """``flag`` (a bool tensor on the device) or-ed over all ranks, without reading it back."""
    if not d.distributed:
        return flag
    t = flag.float()
    dist.all_reduce(t)
    return t > 0


def barrier(d: Dist) -> None:
    if d.distributed:
        dist.barrier()


def params_checksum(model: nn.Module) -> float:
    """Sum of every parameter in float64: equal on all ranks when they are in sync."""
    return float(sum(p.detach().double().sum().item() for p in model.parameters()))


def rank_checksums(model: nn.Module, d: Dist) -> List[float]:
    """Every rank's :func:`params_checksum`, gathered on all ranks."""
    sums = [None] * d.world
    dist.all_gather_object(sums, params_checksum(model))
    return sums


class StopSignal:
    """Context manager: while active, SIGINT and SIGTERM set :attr:`signal` instead of killing."""

    def __init__(self):
        self.signal: Optional[int] = None
        self._old = {}

    def __enter__(self) -> "StopSignal":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signum

    @property
    def name(self) -> Optional[str]:
        """``SIGINT`` / ``SIGTERM`` once one arrived, else None."""
        return None if self.signal is None else signal.Signals(self.signal).name

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def keep_freed_memory() -> bool:
    """Make this process's malloc keep freed memory for reuse (glibc on Linux only).

    Returns True when set; False, changing nothing, under any other C library or system.
    Affects only memory freed afterwards; call it before the first training step.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False   # not glibc (e.g. musl, whose mallopt does nothing)
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, -1))

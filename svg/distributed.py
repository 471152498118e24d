"""torchrun support: process-group set-up and the few collective calls the trainer needs."""
from __future__ import annotations

import dataclasses
import os
from typing import List

import torch
import torch.distributed as dist
from torch import nn


@dataclasses.dataclass
class Dist:
    """This process's place in the job (rank 0 of 1 without torchrun)."""
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs and writes."""
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


def any_rank(flag: bool, d: Dist, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on at least one."""
    if d.world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def params_checksum(model: nn.Module) -> float:
    """Sum of every parameter in float64: equal on all ranks when they are in sync."""
    return float(sum(p.detach().double().sum().item() for p in model.parameters()))


def rank_checksums(model: nn.Module, d: Dist) -> List[float]:
    """Every rank's :func:`params_checksum`, gathered on all ranks."""
    sums = [None] * d.world
    dist.all_gather_object(sums, params_checksum(model))
    return sums

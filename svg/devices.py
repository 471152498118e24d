"""Device and precision choice, in one place for training, evaluation and generation."""
from __future__ import annotations

import contextlib

import torch

AMP_MODES = ("none", "bf16", "fp16")


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """The device a config or command line names.

    ``auto`` → CUDA when available, else CPU; a bare ``cuda`` → this process's GPU
    (``local_rank`` under torchrun).
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but CUDA is not available here; use cpu or auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


def autocast_context(device: torch.device, amp: str):
    """Autocast for ``amp`` in {none, bf16, fp16}; ``none`` is a no-op context."""
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)

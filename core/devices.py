"""The one device rule of every command, and the TF32 switch that training and evaluation set.

Here, below ``svg``, so that ``eval_fvd``'s command picks its device the same way as ``svg train``,
``svg evaluate``, ``svg generate`` and ``svg predict``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from models.errors import UserError


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
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for, but CUDA is not available here; use cpu or auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


@contextlib.contextmanager
def tf32(enabled: bool) -> Iterator[None]:
    """TF32 for CUDA matmuls and convolutions on (``enabled``) or off inside the block; the
    process's settings are restored afterwards. No effect on a CPU.

    Evaluation runs with it off, so that GPU metrics equal the CPU's (torch's own default leaves
    TF32 on for cuDNN convolutions); training uses ``train.tf32``.
    """
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn

"""The one device rule of every command, the precision on it (autocast, native bf16), and the TF32
switch that training and evaluation set.

Here, below ``svg``, so that ``eval_fvd``'s command picks its device the same way as ``svg train``,
``svg evaluate``, ``svg generate`` and ``svg predict``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Tuple

import torch

from core.errors import UserError


AMP_MODES = ("none", "bf16", "fp16", "auto")
#: /proc/cpuinfo flags of CPUs that compute bf16 matmuls and convolutions natively
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


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


def native_bf16(device: torch.device) -> Tuple[bool, str]:
    """Whether ``device`` computes bf16 natively, and why we think so (for the log)."""
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported(including_emulation=False)
        return ok, f"{torch.cuda.get_device_name(device)} {'supports' if ok else 'lacks'} bf16"
    if device.type != "cpu":
        return False, f"no bf16 check for {device.type} devices"
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False, "the CPU's instruction set cannot be read here (no /proc/cpuinfo)"
    found = [flag for flag in NATIVE_BF16_FLAGS if flag in flags]
    return (bool(found), f"the CPU has {', '.join(found)}" if found
            else f"the CPU has none of {', '.join(NATIVE_BF16_FLAGS)}")


def resolve_amp(amp: str, device: torch.device) -> Tuple[str, str]:
    """The autocast mode ``amp`` (none | bf16 | fp16 | auto) means on ``device``, and why.

    ``auto`` picks bf16 where the device computes it natively (CPUs with AMX or AVX512-BF16,
    GPUs with bf16 support) and fp32 (``none``) elsewhere; the others mean themselves.
    """
    if amp != "auto":
        return amp, f"train.amp={amp}"
    ok, why = native_bf16(device)
    return ("bf16" if ok else "none"), f"train.amp=auto and {why}"


def autocast_context(device: torch.device, amp: str):
    """Autocast for ``amp`` in {none, bf16, fp16} (``auto``: see :func:`resolve_amp`); ``none``
    is a no-op context."""
    amp = resolve_amp(amp, device)[0]
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)

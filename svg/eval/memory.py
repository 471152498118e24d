"""How many samples ``svg evaluate`` generates and scores at once: chunks sized from a memory budget.

The budget is ``--max-memory`` if given, else ``DEFAULT_FRACTION`` of the memory available when
the evaluation starts (CPU: ``MemAvailable`` of ``/proc/meminfo``; CUDA: the free device memory).
One chunk element is one sample of one sequence; its cost is estimated by
:func:`bytes_per_sample`, a formula fitted to measured peaks (see there), so the chunk size is
known before any work and is the same on every run with the same settings.
"""
from __future__ import annotations

import logging
import os
from typing import Dict, Tuple

import torch

from core.errors import UserError
from models.config import ModelConfig
from models.svg_lp import SVG
from svg.config import EvalConfig

log = logging.getLogger(__name__)

DEFAULT_FRACTION = 0.5          # of the available memory, when --max-memory is not given
SCORE_BYTES_PER_VALUE = 900     # per predicted value (frame × channel × pixel), see bytes_per_sample
GEN_BYTES_PER_FEATURE = 64      # per backbone feature value (width × H × W) of one rollout step
FRAME_COPIES = 4                # float32 copies of the whole sample (rollout, stacked, clipped, target)


def available_memory(device: torch.device) -> int:
    """Bytes free for new work: free device memory on CUDA; on CPU the kernel's estimate of
    memory available without swapping (``MemAvailable``), else free physical pages."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def bytes_per_sample(model: ModelConfig, image_size: int, n_past: int, n_future: int) -> int:
    """Estimated peak bytes that one sample of one sequence adds to a chunk (generate + score).

    A fitted, conservative formula (not a run-time probe, so the chunk size is reproducible):
    scoring keeps about 60 float64 maps per predicted frame and channel (SSIM's filtered
    moments dominate; PSNR's float64 difference and LPIPS, which runs 256 frames at a time, add
    little). Measured peaks of a whole chunk, per predicted value: 476 bytes for dcgan64 (width
    32, 1 × 64², 10 frames, 20–80 samples) and 814 for vgg64 (width 64, 3 × 64², 28 frames, 27
    samples, with ``svg.runtime.keep_freed_memory`` as ``svg evaluate`` runs on CPU); budgeted at
    ``SCORE_BYTES_PER_VALUE`` together with the rollout term below;
    a rollout step holds the backbone's activations, about ``GEN_BYTES_PER_FEATURE`` bytes per
    value of its finest block (width × H × W); the frames themselves are kept in a few float32
    copies. The memory of the model, LPIPS and I3D networks is fixed and not part of it.
    """
    pixels = image_size * image_size
    predicted = n_future * model.channels * pixels
    whole = (n_past + n_future) * model.channels * pixels
    return (SCORE_BYTES_PER_VALUE * predicted + GEN_BYTES_PER_FEATURE * model.width * pixels
            + FRAME_COPIES * 4 * whole)


def plan_chunks(budget: int, per_sample: int, batch_size: int, n_samples: int) -> Tuple[int, int]:
    """(sequences per batch, samples per chunk) whose product times ``per_sample`` fits ``budget``.

    Whole sequences (all N samples) are batched up to ``batch_size`` while they fit; otherwise one
    sequence at a time, its N samples in chunks of as many as fit (the last one smaller; at least
    one sample even if that exceeds the budget: the caller decides whether to refuse).
    """
    fit = max(1, budget // max(1, per_sample))
    if fit >= n_samples:
        return min(batch_size, fit // n_samples), n_samples
    return 1, fit


def chunk_plan(model: SVG, cfg: EvalConfig, device: torch.device) -> Dict[str, int]:
    """Sequences per batch and samples per chunk for ``cfg``'s memory budget (``max_memory``, else
    ``DEFAULT_FRACTION`` of the available memory), with the budget and the per-sample estimate."""
    per_sample = bytes_per_sample(model.cfg, model.image_size, cfg.n_past, cfg.n_future)
    budget = (int(DEFAULT_FRACTION * available_memory(device)) if cfg.max_memory is None
              else cfg.max_memory)
    if per_sample > budget:
        if cfg.max_memory is not None:
            raise UserError(f"--max-memory {budget} bytes is less than one sample needs (about "
                            f"{per_sample / 2 ** 20:.0f}M for {cfg.n_past} → {cfg.n_future} frames)")
        log.warning("only %.0f MB of memory available; one sample at a time needs about %.0f MB",
                    budget / 2 ** 20, per_sample / 2 ** 20)
    sequences, samples = plan_chunks(budget, per_sample, cfg.batch_size, cfg.n_samples)
    log.info("memory budget %.0f MB: %d sequence(s) × %d of %d samples at a time (about %.0f MB "
             "each)", budget / 2 ** 20, sequences, samples, cfg.n_samples, per_sample / 2 ** 20)
    return {"sequences": sequences, "samples": samples, "budget_bytes": budget,
            "bytes_per_sample": per_sample}

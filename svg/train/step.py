"""One optimisation step of SVG-LP, and nothing else.

It reads top to bottom, as nanoGPT's ``train.py`` does: forward → backward (per micro-batch when
accumulating) → clip → one device-to-host read of the checks and the logged numbers → skip (the
buffers put back) or update.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from core.errors import UserError
from core.devices import autocast_context
from svg.runtime import Dist, any_rank_tensor
from models.svg_lp import SVG


#: the per-sequence terms of the model's output that a step logs (as batch means)
LOGGED = ("total", "nll", "kl", "sigma", "effective_beta")


@dataclass
class StepStats:
    """What one step did. Loss terms are batch means on this process (nats per sequence, NLL per
    value); ``skipped`` means some process saw a non-finite loss and nothing was updated."""
    skipped: bool
    loss: float = math.nan
    nll_per_dim: float = math.nan
    kl: float = math.nan
    sigma: float = math.nan
    effective_beta: float = math.nan
    grad_norm: float = math.nan


def train_step(model: SVG, net: nn.Module, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               x: torch.Tensor, noise: torch.Generator, *, amp: str = "none",
               grad_clip: Optional[float] = None, d: Dist = Dist(), accumulate: int = 1) -> StepStats:
    """Forward, backward and update on one batch; a non-finite loss leaves no trace.

    Parameters
    ----------
    model : the SVG module (its parameters, buffers and optimizer state are what a step changes).
    net : what to call for the forward pass: ``model`` itself or its DDP / compiled wrapper.
    x : (B, T, C, H, W) float in [0, 1] on the model's device (a value outside raises
        ``UserError`` before anything is updated).
    noise : generator of the posterior noise (seeded per step by the caller for exact resume).
    amp : none | bf16 | fp16 (fp16 with ``scaler`` enabled). grad_clip : max gradient norm or None.
    accumulate : micro-batches the batch is split into (B a multiple of it), each through forward
        and backward with its loss divided by ``accumulate``, so that the gradients add up to the
        whole batch's mean; then one clip, one check, one update (gradient accumulation). The
        posterior noise is the whole batch's, drawn once as the model would draw it; what differs
        from one large batch: BatchNorm's batch statistics, a σ shared over the batch and the
        optimal σ's running σ² are per micro-batch.

    A non-finite loss on any process (or a non-finite gradient norm without an fp16 scaler) skips
    the update everywhere, and the running buffers the forward pass touched (BatchNorm statistics,
    the optimal σ's running σ²) are put back, so the skipped batch changes nothing.

    The step reads the device back once (on a GPU, one synchronisation per step): the finite
    check, the frames' range and the logged numbers travel together after the backward pass.
    """
    model.train()
    buffers = _copy_buffers(model)   # what a skipped step puts back

    # forward and backward, micro-batch by micro-batch (one: the whole batch); a non-finite loss
    # gives non-finite gradients, and the step is skipped below
    opt.zero_grad(set_to_none=True)
    losses, logged = [], []
    for xs, noise_arg, sync in _micro_batches(model, net, x, noise, accumulate, amp, d):
        with sync:   # under DDP, the gradients are all-reduced once, in the last backward
            with autocast_context(x.device, amp):
                out = net(xs, **noise_arg)
            loss = out.objective() if accumulate == 1 else out.objective() / accumulate
            scaler.scale(loss).backward()
        losses.append(loss.detach())
        logged.append([getattr(out, term).detach() for term in LOGGED])   # (the frames not kept)

    # clip (an fp16 scaler unscales first; the norm logged is the one before clipping)
    scaler.unscale_(opt)
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), grad_clip or math.inf)

    # the checks, or-ed over the ranks so that every rank decides alike, and the logged numbers:
    # the step's one device-to-host transfer
    bad = ~torch.isfinite(torch.stack(losses)).all()
    if not scaler.is_enabled():   # (an fp16 scaler handles its own overflows)
        bad = bad | ~torch.isfinite(grad_norm)
    bad = any_rank_tensor(bad, d)
    lo, hi = torch.aminmax(x.detach())
    outside = any_rank_tensor(~((lo >= 0) & (hi <= 1)), d)
    skip, out_of_range, low, high, total, nll, kl, sigma, beta, norm = _read_back(
        bad, outside, lo, hi, *map(_batch_mean, zip(*logged)), grad_norm)

    # frames outside [0, 1]: stop, nothing updated
    if out_of_range:
        _discard(model, opt, buffers)
        raise UserError(f"training frames must lie in [0, 1]; a batch has range [{low:.4g}, "
                        f"{high:.4g}] (a dataset must return float frames / 255)")

    # skip: no update, the buffers as they were
    if skip:
        if scaler.is_enabled():   # unscale_ ran: the scaler must close this step (and back off)
            scaler.update()
        _discard(model, opt, buffers)
        return StepStats(skipped=True)

    # update
    scaler.step(opt)
    scaler.update()
    return StepStats(skipped=False, loss=total, nll_per_dim=nll / out.n_dims, kl=kl, sigma=sigma,
                     effective_beta=beta, grad_norm=norm)


def _micro_batches(model: SVG, net: nn.Module, x: torch.Tensor, noise: torch.Generator, n: int,
                   amp: str, d: Dist) -> Iterator[Tuple[torch.Tensor, Dict[str, Any], Any]]:
    """(frames, the model's noise argument, the DDP sync context) of each of ``n`` micro-batches.

    n = 1: the whole batch, its posterior noise drawn by the model from ``noise`` (as always).
    n > 1: ``x`` in n equal parts along the batch; the whole batch's noise is drawn at once, as the
    model would draw it, and each part gets its rows, so the parts see the noise of one large
    batch. Under DDP, every part but the last skips the gradient all-reduce (``no_sync``)."""
    if n == 1:
        yield x, {"generator": noise}, contextlib.nullcontext()
        return
    if x.shape[0] % n:
        raise UserError(f"a batch of {x.shape[0]} sequences does not split into {n} equal micro-batches")
    eps = _posterior_noise(model, x, noise, amp)
    for i, (xs, e) in enumerate(zip(x.chunk(n), eps.chunk(n))):
        yield xs, {"eps": e}, (net.no_sync() if d.distributed and i < n - 1 else contextlib.nullcontext())


def _posterior_noise(model: SVG, x: torch.Tensor, noise: torch.Generator, amp: str) -> torch.Tensor:
    """The whole batch's posterior noise (B, T − 1, z_dim), drawn as the model draws it under the
    step's autocast (:meth:`SVG.posterior_noise`)."""
    with autocast_context(x.device, amp):
        return model.posterior_noise(x, noise)


def _batch_mean(parts: Tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The whole batch's mean of a per-sequence term, given per micro-batch."""
    return (parts[0] if len(parts) == 1 else torch.cat(parts)).mean()


def _copy_buffers(model: nn.Module) -> List[torch.Tensor]:
    """A copy of every buffer, made in one fused call rather than one per buffer."""
    live = list(model.buffers())
    return torch._foreach_add(live, 0) if live else []


def _discard(model: nn.Module, opt: torch.optim.Optimizer, buffers: List[torch.Tensor]) -> None:
    """Undo what the step's passes did: drop the gradients, put the buffers back."""
    opt.zero_grad(set_to_none=True)
    if buffers:
        with torch.no_grad():
            torch._foreach_copy_(list(model.buffers()), buffers)


def _read_back(*values: torch.Tensor) -> List[float]:
    """Scalars on the device as Python floats, in one device-to-host transfer."""
    return torch.stack([v.detach().float() for v in values]).tolist()

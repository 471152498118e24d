"""What the trainer measures on the validation split: loss terms and rollout pictures."""
from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch

from models.svg_lp import SVG, eval_mode
from svg.visualize import head_grid, rollout_gif, rollout_grid, write_png


@torch.no_grad()
def validate(model: SVG, batches: List[torch.Tensor], device: torch.device) -> Dict[str, float]:
    """Mean per-sequence loss terms on fixed validation batches, BatchNorm and σ in eval mode.

    batches : [(B, T, C, H, W) float in [0, 1]]. Returns loss (nats per sequence), nll_per_dim, kl.
    """
    rows = []
    with eval_mode(model):
        for x in batches:
            out = model.loss(x.to(device), generator=torch.Generator(device=device).manual_seed(0))
            rows.append((out.total.mean().item(), out.nll.mean().item() / out.n_dims,
                         out.kl.mean().item()))
    total, nll, kl = (float(np.mean(c)) for c in zip(*rows))
    return {"loss": total, "nll_per_dim": nll, "kl": kl}


@torch.no_grad()
def training_rollouts(model: SVG, batch: torch.Tensor, n_past: int, path: str, writer, step: int,
                      n_seq: int = 4, n_samples: int = 3) -> None:
    """GIF at ``path`` and a TensorBoard grid: ground truth | posterior reconstruction | prior samples.

    With a motion head, also ``<path without .gif>_head.png`` and a TensorBoard image "head": the
    first sample's frames, appearance, mask and flow (:func:`svg.visualize.head_grid`).

    batch : (B, T, C, H, W) validation sequences in [0, 1]; the first ``n_seq`` are shown.
    """
    device = next(model.parameters()).device
    x = batch[:n_seq].to(device)
    rec = model.reconstruct(x, generator=torch.Generator(device=device).manual_seed(0))
    samples, parts = model.generate(x[:, :n_past], x.shape[1] - n_past, n_samples,
                                    generator=torch.Generator(device=device).manual_seed(0), parts=True)
    columns = torch.cat([rec.unsqueeze(0), samples], 0)
    rollout_gif(path, x, columns, n_past)
    head = None
    if "mask" in parts:
        head = head_grid(samples[0, :2], {k: v[0, :2] for k, v in parts.items()}, n_past)
        write_png(path[:-len(".gif")] + "_head.png", head)
    if writer is not None:
        grid = rollout_grid(x, columns, n_past)            # (T, H, W, 3)
        writer.add_image("rollouts", torch.cat(list(grid), 1).permute(2, 0, 1), step)
        if head is not None:
            writer.add_image("head", torch.from_numpy(head).permute(2, 0, 1), step)

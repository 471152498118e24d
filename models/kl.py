"""KL divergence between diagonal Gaussians, as SVG uses it between posterior and prior."""
from __future__ import annotations

from typing import Optional

import torch


def gaussian_kl(mu_q: torch.Tensor, logvar_q: torch.Tensor,
                mu_p: Optional[torch.Tensor] = None, logvar_p: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
    """Elementwise KL(N(mu_q, exp(logvar_q)) ‖ N(mu_p, exp(logvar_p))); the prior defaults to N(0, 1).

    All inputs broadcast together (e.g. (B, T, z_dim)); returns the same shape, ≥ 0. Sum over the
    latent (and time) dimensions for the KL of a sequence.
    """
    if mu_p is None:
        mu_p = torch.zeros_like(mu_q)
    if logvar_p is None:
        logvar_p = torch.zeros_like(logvar_q)
    return 0.5 * (logvar_p - logvar_q
                  + (torch.exp(logvar_q) + (mu_q - mu_p).pow(2)) * torch.exp(-logvar_p) - 1.0)

"""Gaussian KL against torch.distributions."""
import torch
from torch.distributions import Normal, kl_divergence

from svg import gaussian_kl


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu_q, mu_p = torch.randn(2, 5, 7, generator=g), torch.randn(2, 5, 7, generator=g)
    lv_q, lv_p = torch.randn(2, 5, 7, generator=g), torch.randn(2, 5, 7, generator=g)
    ref = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp()))
    torch.testing.assert_close(gaussian_kl(mu_q, lv_q, mu_p, lv_p), ref)
    ref_std = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(0.0, 1.0))
    torch.testing.assert_close(gaussian_kl(mu_q, lv_q), ref_std)
    assert (gaussian_kl(mu_q, lv_q, mu_p, lv_p) >= 0).all()


def test_kl_is_zero_for_equal_gaussians():
    mu, lv = torch.randn(4, 3), torch.randn(4, 3)
    torch.testing.assert_close(gaussian_kl(mu, lv, mu.clone(), lv.clone()), torch.zeros(4, 3))

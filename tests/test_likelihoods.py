"""Decoder likelihoods against closed forms and torch.distributions."""
import math

import pytest
import torch
from torch.distributions import Normal

from svg import LIKELIHOODS, LikelihoodConfig, build_likelihood, gaussian_nll, softclip
from models.likelihoods import MSE, OptimalSigma

B, T, C, H, W = 3, 4, 2, 5, 6


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(B, T, C, H, W, generator=g, dtype=torch.float64)
    x_hat = (x + 0.2 * torch.randn(B, T, C, H, W, generator=g, dtype=torch.float64)).clamp(0, 1)
    return x, x_hat


def normal_nll(x, x_hat, sigma):
    """Independent reference: torch.distributions, summed per sample."""
    return -Normal(x_hat, sigma).log_prob(x).flatten(1).sum(1)


def test_fixed_gaussian_matches_normal_log_prob(pair):
    x, x_hat = pair
    for sigma in (1.0, 0.3):
        out = build_likelihood(LikelihoodConfig(name="gaussian", sigma=sigma)).nll(x, x_hat)
        torch.testing.assert_close(out.nll, normal_nll(x, x_hat, torch.tensor(sigma, dtype=x.dtype)))
        torch.testing.assert_close(out.effective_beta(), torch.full((B,), sigma**2, dtype=x.dtype))


@pytest.mark.parametrize("axes,dims", [("sequence", (1, 2, 3, 4)), ("batch", (0, 1, 2, 3, 4)),
                                        ("frame", (2, 3, 4))])
def test_optimal_sigma_is_rmse_over_axes(pair, axes, dims):
    x, x_hat = pair
    lik = build_likelihood(LikelihoodConfig(name="optimal", axes=axes, log_sigma_min=-30.0)).train()
    out = lik.nll(x, x_hat)
    rmse = (x - x_hat).pow(2).mean(dim=dims, keepdim=True).sqrt()
    torch.testing.assert_close(out.sigma.expand_as(x), rmse.expand_as(x))
    torch.testing.assert_close(out.nll, normal_nll(x, x_hat, rmse))
    # With σ = σ*, the NLL is (D/2) log MSE + const, the σ-VAE closed form.
    if axes == "sequence":
        d = T * C * H * W
        closed = 0.5 * d * torch.log(rmse.flatten() ** 2) + 0.5 * d * (1 + math.log(2 * math.pi))
        torch.testing.assert_close(out.nll, closed)


def test_nll_gradient_wrt_log_sigma_vanishes_at_optimum(pair):
    x, x_hat = pair
    raw = OptimalSigma("sequence").optimal_log_sigma(x, x_hat).detach().requires_grad_(True)
    gaussian_nll(x, x_hat, raw).sum().backward()
    assert raw.grad.abs().max() < 1e-9
    # ... and not elsewhere: a shifted σ has a non-zero gradient of the right sign.
    shifted = (raw.detach() + 0.1).requires_grad_(True)
    gaussian_nll(x, x_hat, shifted).sum().backward()
    assert (shifted.grad > 1.0).all()


def test_optimal_running_average_used_in_eval(pair):
    x, x_hat = pair
    lik = OptimalSigma("batch", momentum=0.5, log_sigma_min=-30.0)  # clip far away
    lik.train()
    v1 = (x - x_hat).pow(2).mean()
    lik.nll(x, x_hat)
    v2 = (x - 0.5 * x_hat).pow(2).mean()
    lik.nll(x, 0.5 * x_hat)
    expected = 0.5 * v1 + 0.5 * v2
    torch.testing.assert_close(lik.running_var, expected.float())
    lik.eval()
    out = lik.nll(x, x_hat)
    torch.testing.assert_close(out.sigma.pow(2), expected.to(x.dtype), rtol=1e-6, atol=0)
    # Cumulative average (negative momentum) weights batches equally.
    cum = OptimalSigma("batch", momentum=-1).train()
    for scale in (1.0, 0.5, 0.25):
        cum.nll(x, scale * x_hat)
    ref = torch.stack([(x - s * x_hat).pow(2).mean() for s in (1.0, 0.5, 0.25)]).mean()
    torch.testing.assert_close(cum.running_var, ref.float())


def test_mse_is_original_svg_objective_over_beta(pair):
    """The original loss Σ_t mean_frame((x − x̂)²) + β·KL has the gradients of (NLL + KL)·β."""
    x, x_hat = pair
    beta = 1e-4
    a = x_hat.clone().requires_grad_(True)
    MSE(beta).nll(x, a).nll.sum().backward()
    b = x_hat.clone().requires_grad_(True)
    ((x - b).pow(2).mean(dim=(2, 3, 4)).sum(1) / beta).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)
    sigma2 = beta * C * H * W / 2
    out = MSE(beta).nll(x, x_hat)
    torch.testing.assert_close(out.effective_beta(), torch.full((B,), sigma2, dtype=x.dtype))


def test_learned_sigma_trains_towards_rmse(pair):
    x, x_hat = pair
    lik = build_likelihood(LikelihoodConfig(name="learned"))
    assert lik.log_sigma.item() == 0.0
    opt = torch.optim.Adam(lik.parameters(), lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        lik.nll(x.float(), x_hat.float()).nll.mean().backward()
        opt.step()
    rmse = (x - x_hat).pow(2).mean().sqrt().item()
    assert lik.nll(x.float(), x_hat.float()).sigma.item() == pytest.approx(rmse, rel=0.02)


def test_per_pixel_uses_map_and_soft_clips(pair):
    x, x_hat = pair
    lik = build_likelihood(LikelihoodConfig(name="per_pixel", log_sigma_min=-2.0))
    log_sigma = torch.linspace(-10, 1, x.numel(), dtype=x.dtype).view_as(x)
    out = lik.nll(x, x_hat, log_sigma)
    clipped = -2.0 + torch.nn.functional.softplus(log_sigma + 2.0)
    torch.testing.assert_close(out.nll, normal_nll(x, x_hat, clipped.exp()))
    assert out.sigma.min() > math.exp(-2.0)
    with pytest.raises(ValueError, match="needs log_sigma"):
        lik.nll(x, x_hat)


def test_softclip_bounds_and_keeps_large_values():
    v = torch.linspace(-100, 100, 2001)
    out = softclip(v, -6.0)
    assert (out >= -6.0).all() and (out[v > -20] > -6.0).all()   # float32 reaches the bound
    assert torch.all(out[1:] >= out[:-1])                    # monotone
    torch.testing.assert_close(out[v > 20], v[v > 20])       # identity far above the bound


def test_bernoulli_matches_binary_cross_entropy(pair):
    x, x_hat = pair
    out = build_likelihood(LikelihoodConfig(name="bernoulli")).nll(x, x_hat)
    ref = torch.nn.functional.binary_cross_entropy(x_hat, x, reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(out.nll, ref)
    torch.testing.assert_close(out.effective_beta(), (x_hat * (1 - x_hat)).flatten(1).mean(1))
    with pytest.raises(ValueError, match="probabilities"):
        build_likelihood(LikelihoodConfig(name="bernoulli")).nll(x, x_hat + 1.5)


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_every_likelihood_runs_on_images_and_sequences(name):
    lik = build_likelihood(LikelihoodConfig(name=name))
    for shape in ((2, 3, 8, 8), (2, 4, 3, 8, 8)):
        x, x_hat = torch.rand(shape), torch.rand(shape)
        ls = torch.zeros(shape) if lik.predicts_log_sigma else None
        out = lik.nll(x, x_hat, ls)
        assert out.nll.shape == (2,) and torch.isfinite(out.nll).all()
        assert out.sigma_per_sample().shape == (2,)
        assert out.effective_beta().shape == (2,)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown likelihood 'l2'.*bernoulli"):
        build_likelihood(LikelihoodConfig(name="l2"))
    with pytest.raises(ValueError, match="unknown axes 'pixel'"):
        build_likelihood(LikelihoodConfig(name="optimal", axes="pixel"))
    lik = build_likelihood(LikelihoodConfig(name="gaussian"))
    with pytest.raises(ValueError, match=r"x has shape \(2, 3\) but x_hat has \(2, 4\)"):
        lik.nll(torch.rand(2, 3), torch.rand(2, 4))
    with pytest.raises(ValueError, match="does not take a log_sigma"):
        lik.nll(torch.rand(2, 3), torch.rand(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        build_likelihood(LikelihoodConfig(name="gaussian", sigma=0.0))

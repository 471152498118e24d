"""The motion heads (models.heads): warping against numpy shifts, copy-last-frame at mask 1,
generation feeding back its own frames, the likelihood scoring the composed frame, and checkpoints
that record their head."""
import numpy as np
import pytest
import torch
from torch.distributions import Normal

from models import BACKBONES
from models.heads import HEADS, MASK_OFFSET, warp
from models.likelihoods import softclip
from svg import LikelihoodConfig
from tests.test_model import small_model


def numpy_shift(img, dy, dx):
    """img (H, W) translated by integer (dy, dx), the border replicated: out[y, x] = img[y-dy, x-dx]."""
    h, w = img.shape
    pad = max(abs(dy), abs(dx))
    padded = np.pad(img, pad, mode="edge")
    return padded[pad - dy:pad - dy + h, pad - dx:pad - dx + w]


@pytest.mark.parametrize("dy,dx", [(0, 0), (3, 0), (0, -2), (4, -4), (-1, 5)])
def test_a_constant_flow_translates_like_a_numpy_shift(dy, dx):
    img = np.random.default_rng(0).random((2, 17, 23))
    flow = torch.empty(2, 2, 17, 23, dtype=torch.float64)
    flow[:, 0], flow[:, 1] = -dx, -dy            # backward flow: out[p] = prev[p + f]
    out = warp(torch.from_numpy(img).unsqueeze(1), flow)[:, 0].numpy()
    for i in range(2):
        np.testing.assert_allclose(out[i], numpy_shift(img[i], dy, dx), rtol=0, atol=1e-12)


def test_a_half_pixel_flow_is_the_mean_of_its_two_neighbours():
    img = np.random.default_rng(1).random((9, 11))
    flow = torch.zeros(1, 2, 9, 11, dtype=torch.float64)
    flow[:, 0] = -2.5
    out = warp(torch.from_numpy(img)[None, None], flow)[0, 0].numpy()
    expected = 0.5 * (numpy_shift(img, 0, 2) + numpy_shift(img, 0, 3))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_warp_equals_grid_sample_with_border_padding():
    """Random flows, many pointing outside the image: torch's own bilinear sampler agrees."""
    g = torch.Generator().manual_seed(2)
    prev = torch.rand(3, 2, 20, 24, generator=g, dtype=torch.float64)
    flow = 5 * torch.randn(3, 2, 20, 24, generator=g, dtype=torch.float64)
    gx = (torch.arange(24).view(1, 1, 24) + flow[:, 0]) * (2 / 23) - 1
    gy = (torch.arange(20).view(1, 20, 1) + flow[:, 1]) * (2 / 19) - 1
    ref = torch.nn.functional.grid_sample(prev, torch.stack([gx, gy], -1), mode="bilinear",
                                          padding_mode="border", align_corners=True)
    torch.testing.assert_close(warp(prev, flow), ref, rtol=0, atol=1e-12)


def set_head(model, mask_logit=None, flow=(0.0, 0.0)):
    """Make the head's output constant: weights of its channels zero, biases chosen."""
    c = model.cfg.channels
    with torch.no_grad():
        model.decoder.out.weight.transpose(0, 1)[c:].zero_()
        model.decoder.out.bias[c] = mask_logit
        if model.cfg.head == "warp":
            model.decoder.out.bias[c + 1] = flow[0]
            model.decoder.out.bias[c + 2] = flow[1]
    return model


@pytest.mark.parametrize("head", ["composite", "warp"])
def test_mask_one_and_zero_flow_copy_the_previous_frame(head):
    torch.manual_seed(0)
    model = set_head(small_model(head=head, n_past=2), mask_logit=1e4).eval()
    x = torch.rand(2, 5, 1, 64, 64)
    out = model.loss(x)
    # teacher forcing: frame t is predicted from the ground truth x_{t−1}
    torch.testing.assert_close(out.x_hat, x[:, :-1], rtol=0, atol=0)
    gen = model.generate(x[:, :2], n_future=3, n_samples=2)
    last = x[:, 1:2].expand(2, 3, 1, 64, 64).unsqueeze(0).expand(2, 2, 3, 1, 64, 64)
    torch.testing.assert_close(gen[:, :, 2:], last, rtol=0, atol=0)


def test_at_initialisation_the_heads_start_near_copying_the_last_frame():
    torch.manual_seed(0)
    model = small_model(head="warp").eval()
    v, parts = model.generate(torch.rand(2, 2, 1, 64, 64), n_future=2, parts=True)
    assert torch.equal(parts["flow"], torch.zeros_like(parts["flow"]))
    torch.testing.assert_close(parts["mask"], torch.full_like(parts["mask"],
                                                              float(torch.sigmoid(torch.tensor(MASK_OFFSET)))))


def test_generation_feeds_back_its_own_frame():
    """With the mask at 1 and a flow of one pixel, step k shows the last context frame moved by k
    pixels: each step warps the model's own previous frame, not the context."""
    torch.manual_seed(0)
    model = set_head(small_model(head="warp", n_past=2), mask_logit=1e4, flow=(-1.0, 0.0)).eval()
    ctx = torch.rand(1, 2, 1, 64, 64, dtype=torch.float64)
    model = model.double()
    with torch.no_grad():
        gen = model.generate(ctx, n_future=3, n_samples=1)[0, 0, 2:, 0].numpy()
    last = ctx[0, -1, 0].numpy()
    for k in range(3):
        np.testing.assert_allclose(gen[k], numpy_shift(last, 0, k + 1), rtol=0, atol=1e-9)


def test_the_likelihood_scores_the_composed_frame():
    """Optimal σ's NLL of the composed frame (here the previous frame), computed by hand."""
    torch.manual_seed(0)
    model = set_head(small_model(head="composite", n_past=2), mask_logit=1e4).eval()
    x = torch.rand(3, 4, 1, 64, 64, dtype=torch.float64)
    model = model.double()
    out = model.loss(x)
    err = x[:, 1:] - x[:, :-1]
    log_sigma = 0.5 * torch.log(err.pow(2).mean(dim=(1, 2, 3, 4), keepdim=True))
    sigma = softclip(log_sigma, model.cfg.likelihood.log_sigma_min).exp()   # σ* = RMSE, soft-clipped
    expected = -Normal(x[:, :-1], sigma).log_prob(x[:, 1:]).flatten(1).sum(1)
    torch.testing.assert_close(out.nll, expected, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_head_on_every_backbone(name, head):
    torch.manual_seed(0)
    channels = 3
    model = small_model(name, channels, head=head, likelihood=LikelihoodConfig(name="per_pixel"))
    s = model.image_size
    x = torch.rand(2, 3, channels, s, s)
    out = model.loss(x)
    out.objective().backward()
    assert torch.isfinite(out.total).all() and out.x_hat.shape == (2, 2, channels, s, s)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    video, parts = model.generate(x[:, :2], n_future=2, n_samples=2, parts=True)
    assert video.shape == (2, 2, 4, channels, s, s)
    expected = {"pixels": {"appearance"}, "composite": {"appearance", "mask"},
                "warp": {"appearance", "mask", "flow"}}[head]
    assert set(parts) == expected


def test_bf16_autocast_composes_in_float32():
    torch.manual_seed(0)
    model = small_model(head="warp")
    x = torch.rand(2, 4, 1, 64, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.loss(x)
    assert out.x_hat.dtype == torch.float32 and torch.isfinite(out.total).all()
    out.objective().backward()


def test_an_unknown_head_is_a_user_error():
    from core.errors import UserError
    with pytest.raises(UserError, match="unknown head 'flow'"):
        small_model(head="flow")


@pytest.mark.parametrize("head", ["composite", "warp"])
def test_score_branches_adds_each_branch_scored_alone_and_keeps_the_elbo(head):
    """With the mask at 1, the frame is the (warped) previous one; the appearance is
    sigmoid(bias) and the warped frame is the previous frame moved by the flow. Each branch's NLL
    under optimal σ, computed by hand, is added to the objective; the ELBO does not change."""
    torch.manual_seed(0)
    plain = set_head(small_model(head=head, n_past=2), mask_logit=1e4, flow=(-1.0, 0.0)).eval().double()
    scored = set_head(small_model(head=head, n_past=2, score_branches=True), mask_logit=1e4,
                      flow=(-1.0, 0.0)).eval().double()
    scored.load_state_dict(plain.state_dict())
    x = torch.rand(3, 4, 1, 64, 64, dtype=torch.float64)
    eps = torch.randn(3, 3, plain.cfg.z_dim, dtype=torch.float64)
    a, b = plain.loss(x, eps), scored.loss(x, eps)
    assert a.branch_nll is None
    torch.testing.assert_close(b.total, a.total, rtol=0, atol=0)

    def nll(pred):
        err = x[:, 1:] - pred
        log_sigma = 0.5 * torch.log(err.pow(2).mean(dim=(1, 2, 3, 4), keepdim=True))
        sigma = softclip(log_sigma, plain.cfg.likelihood.log_sigma_min).exp()
        return -Normal(pred, sigma).log_prob(x[:, 1:]).flatten(1).sum(1)

    # the appearance: the decoder's frame channel through a sigmoid
    parts = {}

    def grab(module, inputs, output):
        parts["out"] = output
    hook = scored.decoder.register_forward_hook(grab)
    scored.loss(x, eps)
    hook.remove()
    appearance = torch.sigmoid(parts["out"][:, :1]).view(3, 3, 1, 64, 64)
    expected = nll(appearance)
    if head == "warp":
        shifted = np.stack([[numpy_shift(f[0], 0, 1)[None] for f in seq] for seq in x[:, :-1].numpy()])
        expected = expected + nll(torch.from_numpy(shifted))
    torch.testing.assert_close(b.branch_nll, expected, rtol=1e-9, atol=1e-6)
    torch.testing.assert_close(b.objective(), (a.total + expected).mean(), rtol=1e-9, atol=1e-6)


def test_pixels_ignores_score_branches():
    torch.manual_seed(0)
    model = small_model(head="pixels", score_branches=True)
    out = model.loss(torch.rand(2, 3, 1, 64, 64))
    assert out.branch_nll is None and torch.equal(out.objective(), out.total.mean())

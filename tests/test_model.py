"""The SVG-LP model: time-batched maths against an independent step-by-step computation."""
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from models import BACKBONES
from svg import SVG, LikelihoodConfig, ModelConfig, eval_mode
from models.heads import compose
from models.likelihoods import softclip

SMALL = dict(g_dim=16, z_dim=4, rnn_size=24, width=8)


def small_model(backbone="dcgan64", channels=1, n_past=2, **kw):
    lik = kw.pop("likelihood", LikelihoodConfig())
    return SVG(ModelConfig(backbone=backbone, channels=channels, n_past=n_past, likelihood=lik,
                           **{**SMALL, **kw}))


def roughen(model):
    """Larger LSTM/linear weights, so that KL terms and σ maps are far from trivial."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.LSTM)):
                for p in m.parameters():
                    p.normal_(0.0, 0.5)
    return model


def roughen_head(model):
    """Random weights for a motion head's channels (they start at zero), so that its mask and flow
    vary from pixel to pixel."""
    frame = model.cfg.channels * (2 if model.likelihood.predicts_log_sigma else 1)
    with torch.no_grad():
        model.decoder.out.weight.transpose(0, 1)[frame:].normal_(0.0, 0.3)
    return model


class HandLSTM:
    """Steps a models.lstm module by hand from its weights (the LSTM equations written out)."""

    def __init__(self, module, batch, dtype):
        self.m = module
        self.h = [torch.zeros(batch, module.hidden_size, dtype=dtype) for _ in range(module.n_layers)]
        self.c = [torch.zeros_like(h) for h in self.h]

    def __call__(self, x):
        inp = self.m.embed(x)
        for layer in range(self.m.n_layers):
            w_ih = getattr(self.m.lstm, f"weight_ih_l{layer}")
            w_hh = getattr(self.m.lstm, f"weight_hh_l{layer}")
            b = getattr(self.m.lstm, f"bias_ih_l{layer}") + getattr(self.m.lstm, f"bias_hh_l{layer}")
            i, f, g, o = (inp @ w_ih.T + self.h[layer] @ w_hh.T + b).chunk(4, -1)
            self.c[layer] = torch.sigmoid(f) * self.c[layer] + torch.sigmoid(i) * torch.tanh(g)
            self.h[layer] = torch.sigmoid(o) * torch.tanh(self.c[layer])
            inp = self.h[layer]
        return inp


def step_by_step_loss(model, x, eps):
    """The SVG training loss as the original code computes it: a loop over time, one encoder call
    per frame, one call of each network per step; NLL and KL from torch.distributions."""
    cfg = model.cfg
    b, t_len = x.shape[:2]
    post = HandLSTM(model.posterior, b, x.dtype)
    prior = HandLSTM(model.prior, b, x.dtype) if model.prior is not None else None
    pred = HandLSTM(model.predictor, b, x.dtype)
    x_hats, log_sigmas, kl = [], [], torch.zeros(b, dtype=x.dtype)
    lik = cfg.likelihood
    skip = None
    for t in range(1, t_len):
        h_target, _ = model.encoder(x[:, t])
        h_prev, skip_prev = model.encoder(x[:, t - 1])
        if cfg.skip == "previous" or t <= cfg.n_past - (cfg.skip == "original"):
            skip = skip_prev
        q = post(h_target)
        mu_q, lv_q = model.posterior.mu(q), model.posterior.logvar(q)
        z = mu_q + torch.exp(0.5 * lv_q) * eps[:, t - 1]
        if prior is not None:
            p = prior(h_prev)
            p_dist = Normal(model.prior.mu(p), torch.exp(0.5 * model.prior.logvar(p)))
        else:
            p_dist = Normal(torch.zeros_like(mu_q), torch.ones_like(mu_q))
        kl = kl + kl_divergence(Normal(mu_q, torch.exp(0.5 * lv_q)), p_dist).sum(-1)
        g = torch.tanh(model.predictor.out(pred(torch.cat([h_prev, z], 1))))
        out = model.decoder(g, skip)
        if cfg.head == "pixels":
            x_hats.append(torch.sigmoid(out[:, :cfg.channels]))
        else:   # the motion heads reuse the ground-truth previous frame (warp tested in test_heads)
            x_hats.append(compose(cfg.head, out, x[:, t - 1], cfg.channels, lik.name == "per_pixel").mean)
        log_sigmas.append(out[:, cfg.channels:2 * cfg.channels])
    x_hat, target = torch.stack(x_hats, 1), x[:, 1:]
    if lik.name == "optimal":   # per-sequence σ* = RMSE, soft-clipped
        raw = 0.5 * torch.log((target - x_hat).pow(2).mean(dim=(1, 2, 3, 4), keepdim=True))
        sigma = softclip(raw, lik.log_sigma_min).exp()
    elif lik.name == "per_pixel":
        sigma = softclip(torch.stack(log_sigmas, 1), lik.log_sigma_min).exp()
    else:
        assert lik.name == "gaussian"
        sigma = torch.tensor(lik.sigma, dtype=x.dtype)
    nll = -Normal(x_hat, sigma).log_prob(target).flatten(1).sum(1)
    return nll, kl


@pytest.mark.parametrize("backbone,channels,kw", [
    ("dcgan64", 1, dict()),
    ("dcgan64", 1, dict(skip="previous", prior="fixed")),
    ("vgg64", 3, dict(likelihood=LikelihoodConfig(name="per_pixel"))),
    ("dcgan64", 2, dict(likelihood=LikelihoodConfig(name="gaussian", sigma=0.5), n_past=3)),
    ("vgg64", 1, dict(skip="original", n_past=3)),
    ("dcgan64", 1, dict(head="warp", skip="previous")),
    ("vgg64", 3, dict(head="composite", likelihood=LikelihoodConfig(name="per_pixel"))),
])
def test_time_batched_loss_equals_step_by_step(backbone, channels, kw):
    torch.manual_seed(0)
    model = roughen_head(roughen(small_model(backbone, channels, **kw).double()))
    b, t_len = 2, 5
    x = torch.rand(b, t_len, channels, 64, 64, dtype=torch.float64)
    eps = torch.randn(b, t_len - 1, model.cfg.z_dim, dtype=torch.float64)
    model.eval()   # BatchNorm with running statistics, identical per frame and per batch
    with torch.no_grad():
        out = model.loss(x, eps=eps)
        nll_ref, kl_ref = step_by_step_loss(model, x, eps)
    assert kl_ref.min() > 0.1   # the comparison is not between two zeros
    torch.testing.assert_close(out.nll, nll_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(out.kl, kl_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(out.total, nll_ref + kl_ref, rtol=0, atol=1e-5)
    assert out.n_dims == (t_len - 1) * channels * 64 * 64


def test_skip_index_follows_paper_by_default():
    model = small_model(n_past=3)
    assert model.skip_index(7) == [0, 1, 2, 2, 2, 2]
    assert small_model(n_past=3, skip="previous").skip_index(7) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_backbone_shapes_and_finite_loss(name, channels):
    """Every registered backbone, checked against what its entry declares (image size, skips)."""
    torch.manual_seed(0)
    bb = BACKBONES[name]
    model = small_model(name, channels, n_past=1)
    s = bb.image_size
    enc_h, skips = model.encoder(torch.rand(2, channels, s, s))
    assert enc_h.shape == (2, SMALL["g_dim"]) and enc_h.abs().max() <= 1
    assert [tuple(k.shape[1:]) for k in skips] == [(c, side, side)
                                                   for c, side in bb.skip_shapes(s, SMALL["width"])]
    assert model.decoder(enc_h, skips).shape == (2, channels, s, s)
    x = torch.rand(1, 2, channels, s, s)
    out = model.loss(x)
    assert out.total.shape == (1,) and torch.isfinite(out.total).all()
    out.objective().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert out.x_hat.shape == (1, 1, channels, s, s)


def test_per_pixel_decoder_has_sigma_channels():
    model = small_model(likelihood=LikelihoodConfig(name="per_pixel"))
    assert model.decoder.out.out_channels == 2


@pytest.mark.parametrize("prior", ["learned", "fixed"])
def test_generate_reproducible_and_leaves_batchnorm_alone(prior):
    torch.manual_seed(0)
    model = small_model(prior=prior, n_past=3)
    model.train()
    model.loss(torch.rand(4, 5, 1, 64, 64))   # non-trivial running statistics
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = torch.rand(2, 3, 1, 64, 64)
    a = model.generate(ctx, n_future=4, n_samples=3, generator=torch.Generator().manual_seed(7))
    b = model.generate(ctx, n_future=4, n_samples=3, generator=torch.Generator().manual_seed(7))
    c = model.generate(ctx, n_future=4, n_samples=3, generator=torch.Generator().manual_seed(8))
    torch.manual_seed(3)
    d = model.generate(ctx, n_future=4, n_samples=3)
    torch.manual_seed(3)
    e = model.generate(ctx, n_future=4, n_samples=3)
    assert a.shape == (3, 2, 7, 1, 64, 64)
    assert torch.equal(a, b) and torch.equal(d, e) and not torch.equal(a, c)
    assert torch.equal(a[:, :, :3], ctx.expand(3, *ctx.shape))
    assert not torch.equal(a[0, :, 3:], a[1, :, 3:])   # samples differ
    assert (a >= 0).all() and (a <= 1).all()
    assert model.training and all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def step_by_step_generate(model, ctx, n_future, n_samples, generator):
    """Rollouts one sample and one step at a time, as the original code does, with the noise
    drawn in the layout the batched generator uses (sample-major rows of B·N)."""
    cfg = model.cfg
    b, k = ctx.shape[:2]
    zd = cfg.z_dim
    eps_ctx = torch.randn((n_samples * b, k - 1, zd), generator=generator, dtype=ctx.dtype) \
        if k > 1 else None
    eps_fut = [torch.randn((n_samples * b, zd), generator=generator, dtype=ctx.dtype)
               for _ in range(n_future)]
    samples = []
    for n in range(n_samples):
        rows = slice(n * b, (n + 1) * b)
        post, prior, pred = (HandLSTM(m, b, ctx.dtype) for m in (model.posterior, model.prior,
                                                                model.predictor))
        for t in range(1, k):
            h_target, _ = model.encoder(ctx[:, t])
            h_prev, _ = model.encoder(ctx[:, t - 1])
            q = post(h_target)
            z = model.posterior.mu(q) + torch.exp(0.5 * model.posterior.logvar(q)) * eps_ctx[rows, t - 1]
            prior(h_prev)
            pred(torch.cat([h_prev, z], 1))
        x_in, frames, skip = ctx[:, k - 1], [], None
        if cfg.skip == "original":   # frozen one frame before the last context frame
            skip = model.encoder(ctx[:, k - 2])[1]
        for t in range(n_future):
            h_prev, s = model.encoder(x_in)
            if skip is None or cfg.skip == "previous":
                skip = s
            p = prior(h_prev)
            z = model.prior.mu(p) + torch.exp(0.5 * model.prior.logvar(p)) * eps_fut[t][rows]
            g = torch.tanh(model.predictor.out(pred(torch.cat([h_prev, z], 1))))
            out = model.decoder(g, skip)
            x_in = (torch.sigmoid(out[:, :cfg.channels]) if cfg.head == "pixels"
                    else compose(cfg.head, out, x_in, cfg.channels, False).mean)
            frames.append(x_in)
        samples.append(torch.cat([ctx, torch.stack(frames, 1)], 1))
    return torch.stack(samples)


@pytest.mark.parametrize("skip,k,head", [("last_context", 3, "pixels"), ("previous", 2, "pixels"),
                                         ("last_context", 1, "pixels"), ("original", 3, "pixels"),
                                         ("previous", 2, "warp"), ("last_context", 3, "composite")])
def test_generate_batch_equals_step_by_step_rollouts(skip, k, head):
    """All N samples rolled out as one B·N batch equal N separate step-by-step rollouts."""
    torch.manual_seed(0)
    model = roughen_head(roughen(small_model(n_past=2, skip=skip, head=head).double())).eval()
    ctx = torch.rand(2, k, 1, 64, 64, dtype=torch.float64)
    batched = model.generate(ctx, n_future=3, n_samples=3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = step_by_step_generate(model, ctx, 3, 3, torch.Generator().manual_seed(1))
    assert not torch.allclose(ref[0], ref[1])
    torch.testing.assert_close(batched, ref, rtol=0, atol=1e-9)


def test_reconstruct_keeps_context_and_uses_posterior():
    torch.manual_seed(0)
    model = small_model(n_past=2)
    x = torch.rand(2, 5, 1, 64, 64)
    rec = model.reconstruct(x, generator=torch.Generator().manual_seed(0))
    assert rec.shape == x.shape
    assert torch.equal(rec[:, :2], x[:, :2])
    with eval_mode(model):
        eps = torch.randn((2, 4, SMALL["z_dim"]), generator=torch.Generator().manual_seed(0))
        expected = model.loss(x, eps=eps).x_hat
    torch.testing.assert_close(rec[:, 2:], expected[:, 1:])


def test_bad_input_errors():
    model = small_model(n_past=2)
    with pytest.raises(ValueError, match="rank 4"):
        model.loss(torch.rand(2, 1, 64, 64))
    with pytest.raises(ValueError, match=r"\(1, 64, 64\).*got \(3, 64, 64\)"):
        model.loss(torch.rand(2, 3, 3, 64, 64))
    with pytest.raises(ValueError, match=r"\[0, 1\].*255"):
        model.loss(torch.rand(2, 3, 1, 64, 64) * 255)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.loss(torch.full((2, 3, 1, 64, 64), float("nan")))
    with pytest.raises(ValueError, match="2 frames; need at least 3"):
        model.loss(torch.rand(2, 2, 1, 64, 64))
    with pytest.raises(ValueError, match="dtype torch.uint8"):
        model.loss(torch.zeros(2, 3, 1, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        model.generate(torch.rand(1, 2, 1, 64, 64), 3, 0)
    with pytest.raises(ValueError, match="unknown backbone 'resnet'.*dcgan64"):
        SVG(ModelConfig(backbone="resnet"))
    with pytest.raises(ValueError, match="unknown likelihood 'l1'"):
        SVG(ModelConfig(likelihood=LikelihoodConfig(name="l1")))
    with pytest.raises(ValueError, match="unknown prior 'flow'"):
        SVG(ModelConfig(prior="flow"))


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_declared_widths_at_full_width(name):
    """At the paper's width 64 the skip maps have the channels and sides the entry declares."""
    bb = BACKBONES[name]
    model = SVG(ModelConfig(backbone=name, channels=3))
    s = bb.image_size
    with torch.no_grad():
        h, skips = model.eval().encoder(torch.rand(1, 3, s, s))
        out = model.decoder(h, skips)
    assert [(k.shape[1], k.shape[-1]) for k in skips] == list(bb.skip_shapes(s, 64))
    assert h.shape == (1, 128) and out.shape == (1, 3, s, s)


@pytest.mark.parametrize("name,expected", [
    ("dcgan64", [(64, 32), (128, 16), (256, 8), (512, 4)]),
    ("dcgan128", [(64, 64), (128, 32), (256, 16), (512, 8), (512, 4)]),
    ("vgg64", [(64, 64), (128, 32), (256, 16), (512, 8)]),
    ("vgg128", [(64, 128), (128, 64), (256, 32), (512, 16), (512, 8)])])
def test_paper_widths(name, expected):
    """At width 64 the skip maps have the paper's channels: DCGAN 64,128,256,512(,512) at 1/2,
    1/4, ... resolution; VGG 64,128,256,512(,512) at full, 1/2, 1/4, ... resolution."""
    assert BACKBONES[name].skip_shapes(BACKBONES[name].image_size, 64) == expected

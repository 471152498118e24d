"""Gradient accumulation (``train.accumulate``): one step over N micro-batches is one step over the
whole batch (the same noise, one clip, one check, one update), it resumes exactly, and the config
refuses a batch that does not split."""
import copy

import pytest
import torch
from torch import nn

from core.errors import UserError
from svg import SVG, LikelihoodConfig, ModelConfig
from svg.config import load_config
from core.devices import autocast_context
from svg.runtime import Dist
from svg.train import loop
from svg.checkpoints import latest_checkpoint
from svg.train.step import _posterior_noise, train_step
from tiny_runs import TINY, tiny

TINY_MODEL = dict(width=8, g_dim=16, z_dim=4, rnn_size=16, n_past=2)


def without_batchnorm(model: nn.Module) -> nn.Module:
    """``model`` with every BatchNorm replaced by the identity: its batch statistics are the one
    thing (with a σ shared over the batch) that differs between micro-batches and the batch."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
    return model


def one_step(model, x, accumulate, seed=7, grad_clip=1.0, **kwargs):
    """A copy of ``model`` after one SGD step on x; the step's stats."""
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)   # the update is linear in the gradient
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    stats = train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(seed),
                       grad_clip=grad_clip, accumulate=accumulate, **kwargs)
    return model, stats


@pytest.mark.parametrize("dtype, amp", [(torch.float32, "none"), (torch.float32, "bf16"),
                                        (torch.float64, "bf16")])
def test_the_noise_drawn_once_per_step_is_the_noise_the_model_draws(dtype, amp):
    # against a draw in the dtype the posterior's μ really has (autocast leaves float64 alone)
    torch.manual_seed(0)
    model = SVG(ModelConfig(**TINY_MODEL)).to(dtype)
    x = torch.rand(3, 5, 1, 64, 64, dtype=dtype)
    with autocast_context(x.device, amp):
        mu_q = model.posterior(model.encode(x)[0][:, 1:])[0]
        eps = torch.randn(mu_q.shape, generator=torch.Generator().manual_seed(5), dtype=mu_q.dtype)
        drawn = model(x, generator=torch.Generator().manual_seed(5))
        given = model(x, eps=eps)
    ahead = _posterior_noise(model, x, torch.Generator().manual_seed(5), amp)
    assert ahead.dtype == mu_q.dtype and torch.equal(ahead, eps)
    assert torch.equal(drawn.total, given.total)


@pytest.mark.parametrize("likelihood", [LikelihoodConfig(name="optimal", axes="sequence"),
                                        LikelihoodConfig(name="gaussian", sigma=0.5)],
                         ids=["optimal-sequence", "gaussian"])
@pytest.mark.parametrize("accumulate", [2, 4])
def test_a_step_over_micro_batches_equals_a_step_over_the_whole_batch(accumulate, likelihood):
    torch.manual_seed(0)
    model = without_batchnorm(SVG(ModelConfig(**TINY_MODEL, likelihood=likelihood)))
    x = torch.rand(4, 4, 1, 64, 64)
    whole, a = one_step(model, x, 1)
    parts, b = one_step(model, x, accumulate)
    assert not a.skipped and not b.skipped
    assert a.grad_norm > 1.0   # so the clip acted, once, on the whole gradient
    for name in ("loss", "nll_per_dim", "kl", "sigma", "effective_beta", "grad_norm"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-4, abs=1e-7), name
    for (name, p), q in zip(whole.named_parameters(), parts.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-7, msg=name)
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-7, msg=name)


def test_a_non_finite_micro_batch_skips_the_whole_step():
    torch.manual_seed(0)
    model = SVG(ModelConfig(**TINY_MODEL))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    x = torch.rand(4, 4, 1, 64, 64)
    train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(0), accumulate=2)
    before = ({k: v.clone() for k, v in model.state_dict().items()},
              {k: v.clone() for k, v in opt.state_dict()["state"][0].items()})
    real_loss, calls = SVG.loss, []

    def nan_in_the_last(self, x, eps=None, generator=None):
        out = real_loss(self, x, eps, generator)   # runs BatchNorm and σ updates for real
        calls.append(eps is not None)
        if len(calls) == 2:
            out.total = out.total * float("nan")
        return out

    SVG.loss = nan_in_the_last
    try:
        stats = train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(1), accumulate=2)
    finally:
        SVG.loss = real_loss
    assert calls == [True, True] and stats.skipped
    after = model.state_dict()
    for k, v in before[0].items():   # BatchNorm statistics and σ² as before both micro-batches
        assert torch.equal(v, after[k]), k
    for k, v in before[1].items():
        assert torch.equal(v, opt.state_dict()["state"][0][k]), k
    assert all(p.grad is None for p in model.parameters())


def test_under_ddp_only_the_last_micro_batch_all_reduces(tmp_path):
    """One process of the gloo backend: DDP's gradients equal the plain model's, and every
    micro-batch but the last runs under ``no_sync``."""
    import torch.distributed as dist

    torch.manual_seed(0)
    model = without_batchnorm(SVG(ModelConfig(**TINY_MODEL)))
    x = torch.rand(4, 4, 1, 64, 64)
    plain, _ = one_step(model, x, 4)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        ddp_model = copy.deepcopy(model)
        net = nn.parallel.DistributedDataParallel(ddp_model)
        real_no_sync, entered = net.no_sync, []
        net.no_sync = lambda: (entered.append(1), real_no_sync())[1]
        opt = torch.optim.SGD(ddp_model.parameters(), lr=0.1)
        stats = train_step(ddp_model, net, opt, torch.amp.GradScaler("cpu", enabled=False), x,
                           torch.Generator().manual_seed(7), grad_clip=1.0, accumulate=4,
                           d=Dist(distributed=True))
    finally:
        dist.destroy_process_group()
    assert not stats.skipped and len(entered) == 3
    for p, q in zip(plain.parameters(), ddp_model.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-6, atol=1e-8)


def test_resume_with_accumulation_is_bitwise_identical(tmp_path, monkeypatch):
    monkeypatch.setattr(loop, "final_report", lambda *a, **k: {})   # the weights are the point
    accumulate = ("train.accumulate=2",)
    loop.train(tiny(tmp_path / "a", 4, *accumulate), progress=False)
    loop.train(tiny(tmp_path / "b", 2, *accumulate), progress=False)
    summary = loop.train(tiny(tmp_path / "b", 4, *accumulate), progress=False)   # resumes at 2
    assert summary["step"] == 4
    a, b = (torch.load(latest_checkpoint(str(tmp_path / r)), weights_only=False)["model"]
            for r in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_batch_that_does_not_split_is_refused_naming_both_keys():
    cfg = load_config(None, TINY + ["train.batch_size=6", "train.accumulate=4"])
    with pytest.raises(UserError, match=r"train.batch_size=6 does not split into train.accumulate=4"):
        loop.check_config(cfg, torch.device("cpu"))
    with pytest.raises(UserError, match=r"train.accumulate=0 is out of range: it must be >= 1"):
        loop.check_config(load_config(None, TINY + ["train.accumulate=0"]), torch.device("cpu"))

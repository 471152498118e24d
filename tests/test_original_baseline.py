"""The original-layout SVG baseline (svg/testing/original_svg.py) against SVG.loss, skip='original'.

The baseline is written the way the original SVG code is (concatenated skips, LSTMCells, a loop
over time, per-pixel mean MSE + β·KL/B summed over steps). With the ``mse`` likelihood, SVG's
objective is that loss divided by β plus a constant:
mean_b Σ (x − x̂)² / (β·D_frame) + KL + D·(log σ + ½ log 2π), σ² = β·D_frame / 2.
"""
import math

import pytest
import torch

from svg import SVG, LikelihoodConfig, ModelConfig
from svg.testing import original_svg

BETA = 1e-4


def pair(backbone, channels, n_past, skip="original"):
    torch.manual_seed(0)
    cfg = ModelConfig(backbone=backbone, channels=channels, n_past=n_past, skip=skip, g_dim=16,
                      z_dim=4, rnn_size=24, width=8, likelihood=LikelihoodConfig(name="mse", mse_beta=BETA))
    model = SVG(cfg).double()
    with torch.no_grad():   # larger LSTM/linear weights so that the KL terms are far from zero
        for m in model.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.LSTM)):
                for p in m.parameters():
                    p.normal_(0.0, 0.5)
        for m in model.modules():   # non-trivial BatchNorm statistics for eval mode
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    base = original_svg.OriginalSVG(cfg, last_frame_skip=(skip == "previous")).double()
    original_svg.copy_weights(model, base)
    return model.eval(), base.eval()


@pytest.mark.parametrize("backbone,channels,n_past,skip", [
    ("vgg64", 3, 2, "original"), ("dcgan64", 1, 3, "original"), ("dcgan64", 2, 2, "previous")])
def test_original_baseline_equals_svg_loss(backbone, channels, n_past, skip):
    model, base = pair(backbone, channels, n_past, skip)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in base.parameters())
    b, t_len = 2, 5
    x = torch.rand(b, t_len, channels, 64, 64, dtype=torch.float64)
    eps = torch.randn(b, t_len - 1, 4, dtype=torch.float64)
    ours = model.loss(x, eps=eps)
    d_frame = channels * 64 * 64
    const = (t_len - 1) * d_frame * (0.5 * math.log(BETA * d_frame / 2) + 0.5 * math.log(2 * math.pi))
    ours_scaled = BETA * (ours.objective() - const)
    theirs = base.loss(x, BETA, eps=eps)
    assert ours.kl.min() > 0.1   # not a comparison of two zeros
    torch.testing.assert_close(ours_scaled, theirs, rtol=1e-9, atol=1e-12)
    # Same gradients for every copied tensor (parameters in the same order on both sides).
    ours_scaled.backward()
    theirs.backward()
    for p, q in zip(model.parameters(), base.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-7, atol=1e-10)


def test_original_skip_differs_from_last_context():
    """The frozen skip frame matters: 'last_context' gives another loss than the baseline."""
    model, base = pair("dcgan64", 1, 3)
    model.cfg.skip = "last_context"
    x = torch.rand(2, 5, 1, 64, 64, dtype=torch.float64)
    eps = torch.randn(2, 4, 4, dtype=torch.float64)
    d_frame = 64 * 64
    const = 4 * d_frame * (0.5 * math.log(BETA * d_frame / 2) + 0.5 * math.log(2 * math.pi))
    with torch.no_grad():
        diff = BETA * (model.loss(x, eps=eps).objective() - const) - base.loss(x, BETA, eps=eps)
    assert diff.abs() > 1e-6


def test_original_skip_index_and_errors():
    cfg = dict(g_dim=16, z_dim=4, rnn_size=24, width=8)
    model = SVG(ModelConfig(n_past=3, skip="original", **cfg))
    assert model.skip_index(7) == [0, 1, 1, 1, 1, 1]   # frozen at 0-based frame n_past − 2
    with pytest.raises(ValueError, match="n_past >= 2; got n_past=1"):
        SVG(ModelConfig(n_past=1, skip="original", **cfg))
    with pytest.raises(ValueError, match="context has 1 frames; need at least 2"):
        model.generate(torch.rand(1, 1, 1, 64, 64), 2)
    with pytest.raises(ValueError, match="unknown skip mode 'first'"):
        SVG(ModelConfig(skip="first", **cfg))
    with pytest.raises(ValueError, match="backbone must be one of"):
        original_svg.OriginalSVG(ModelConfig(backbone="vgg128", **cfg))

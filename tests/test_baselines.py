"""The copy-last-frame floor and the diversity of samples, against hand computations."""
import math

import numpy as np
import pytest
import torch

from svg.eval.baselines import SampleSpread, copy_last_frame
from svg.eval.metrics import psnr


def test_copy_last_frame_repeats_the_last_context_frame_and_its_psnr_is_the_hand_value():
    context = torch.zeros(1, 3, 1, 4, 4)
    context[0, 2] = 0.5                              # the last context frame: all 0.5
    pred = copy_last_frame(context, 2)
    assert pred.shape == (1, 2, 1, 4, 4) and torch.equal(pred, torch.full((1, 2, 1, 4, 4), 0.5))
    target = torch.zeros(1, 2, 1, 4, 4)
    target[0, :, 0, 0, 0] = 1.0                     # one pixel of 16 is 1 in every future frame
    # MSE = (15·0.25 + 0.25) / 16 = 0.25 → PSNR = 10·log10(1/0.25) = 6.0206 dB
    assert torch.allclose(psnr(pred, target), torch.full((1, 2), 10 * math.log10(4)), atol=1e-5)
    with pytest.raises(ValueError, match="n_future ≥ 1"):
        copy_last_frame(context, 0)


def test_identical_samples_have_zero_diversity():
    one = torch.rand(1, 2, 3, 1, 8, 8)
    spread = SampleSpread()
    spread.add(one.expand(10, -1, -1, -1, -1, -1))
    assert torch.equal(spread.per_sequence(), torch.zeros(2))


def test_diversity_is_numpys_sample_std_whatever_the_chunks():
    rng = np.random.default_rng(0)
    samples = rng.random((7, 3, 4, 1, 6, 6))               # (N, B, T, C, H, W)
    expected = samples.std(axis=0, ddof=1).reshape(3, -1).mean(1)
    for chunks in ([7], [1] * 7, [3, 4], [2, 2, 2, 1]):
        spread, start = SampleSpread(), 0
        for n in chunks:
            spread.add(torch.from_numpy(samples[start:start + n]).float())
            start += n
        assert np.allclose(spread.per_sequence().numpy(), expected, atol=1e-6), chunks


def test_diversity_of_one_sample_is_refused():
    spread = SampleSpread()
    spread.add(torch.rand(1, 2, 3, 1, 4, 4))
    with pytest.raises(ValueError, match="at least 2 samples"):
        spread.per_sequence()


def test_evaluate_reports_the_floor_and_diversity_beside_the_model(tmp_path):
    """``evaluate`` scores copy-last-frame on the same videos and frames (checked here by hand with
    the same metric) and the samples' spread; a model whose samples are all the last context
    frame ties with the floor (not beaten) and has zero diversity."""
    from data_loaders.moving_squares.dataset import MovingSquares
    from svg import SVG, ModelConfig
    from svg.config import EvalConfig
    from svg.eval.evaluate import evaluate, resolve_lengths

    model = SVG(ModelConfig(n_past=2, width=8, g_dim=16, z_dim=4, rnn_size=16))
    data = MovingSquares(6, 64, 1, 3, seed=2, split="test")
    cfg = resolve_lengths(EvalConfig(n_samples=4, metrics=["psnr"], likelihood=False, max_videos=3),
                          model, 4)
    rep = evaluate(model, data, cfg)
    by_hand = torch.stack([psnr(copy_last_frame(v[None, :2], 4), v[None, 2:6]).mean() for v in
                           (data[i] for i in range(3))])
    assert abs(rep["copy_last_frame"]["psnr"]["mean"] - by_hand.double().mean().item()) < 1e-4
    assert rep["copy_last_frame"]["psnr"]["model_beats_it"] == (rep["metrics"]["psnr"]["mean"] >
                                                                 by_hand.double().mean().item())
    assert rep["diversity"]["mean"] > 0        # a random model's samples differ

    def copies(self, context, n_future, n_samples=1, generator=None, eps=None):
        pred = copy_last_frame(context, n_future)
        out = torch.cat([context, pred], 1)
        return out.unsqueeze(0).expand(n_samples, *out.shape)

    import types
    model.generate = types.MethodType(copies, model)
    rep = evaluate(model, data, cfg)
    assert rep["diversity"]["mean"] == 0.0
    assert rep["metrics"]["psnr"]["mean"] == pytest.approx(rep["copy_last_frame"]["psnr"]["mean"])
    assert rep["copy_last_frame"]["psnr"]["model_beats_it"] is False and not rep["beats_copy_last_frame"]
    from svg.eval.report import headline   # what the benchmarks keep of a report: the floor stays beside it
    assert headline(rep) == {"metrics": {"psnr": rep["metrics"]["psnr"]["mean"]},
                             "ci95": {"psnr": rep["metrics"]["psnr"]["ci95"]},
                             "copy_last_frame": {"psnr": rep["copy_last_frame"]["psnr"]["mean"]},
                             "beats_copy_last_frame": False, "diversity": 0.0}

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

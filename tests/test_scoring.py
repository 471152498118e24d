"""Best-of-N selection on hand-made cases whose answer is known."""
import pytest
import torch

from svg.eval.metrics import psnr
from svg.eval.scoring import best_of_n, score_samples


def test_best_of_n_picks_by_time_mean_not_by_single_frame():
    # 3 samples × 2 sequences × 2 frames. Sequence 0: sample 2 has the best single frame (9) but
    # sample 1 the best mean (6); sequence 1: sample 0 is best.
    s = torch.tensor([[[1.0, 1.0], [7.0, 3.0]],
                      [[6.0, 6.0], [2.0, 2.0]],
                      [[9.0, 0.0], [1.0, 1.0]]])
    hi = best_of_n(s, higher_is_better=True)
    assert hi.best_index.tolist() == [1, 0]
    assert hi.best.tolist() == [6.0, 5.0]
    assert hi.curve.tolist() == [6.5, 4.5]
    assert hi.mean == pytest.approx(5.5)
    lo = best_of_n(s, higher_is_better=False)
    assert lo.best_index.tolist() == [0, 2]
    assert lo.best.tolist() == [1.0, 1.0]


def test_score_samples_finds_the_exact_future_and_ignores_context():
    g = torch.Generator().manual_seed(0)
    truth = torch.rand(2, 5, 1, 8, 8, generator=g)
    samples = torch.rand(4, 2, 5, 1, 8, 8, generator=g)
    samples[:, :, :2] = 0.0                   # context frames are not scored
    samples[3, 0, 2:] = truth[0, 2:]          # sample 3 reproduces sequence 0 exactly
    samples[1, 1, 2:] = truth[1, 2:] * 0.99   # sample 1 is nearly right for sequence 1
    res = score_samples(truth, samples, 2, {"psnr": psnr}, {"psnr": True})["psnr"]
    assert res.best_index.tolist() == [3, 1]
    assert res.per_sample.shape == (4, 2, 3)
    assert res.best[0].item() == 100.0
    with pytest.raises(ValueError, match="n_past=5"):
        score_samples(truth, samples, 5, {"psnr": psnr}, {"psnr": True})
    with pytest.raises(ValueError, match=r"\(N, B, T, C, H, W\)"):
        score_samples(truth, samples[0], 2, {"psnr": psnr}, {"psnr": True})

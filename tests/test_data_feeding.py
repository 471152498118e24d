"""Feeding training: per-step seeding fetched a batch at a time, and uint8 items made float on the device."""
import os
import random

import numpy as np
import pytest
import torch

from data_loaders import build_dataset
from svg.config import DataConfig
from svg.data import make_dataset, unit_frames
from svg.train.batches import StepSeeded, step_seed, training_loader
from svg.testing.bair_records import write_tfrecords
from tiny_runs import tiny


def per_item_reference(dataset, seed, rank, key):
    """Item ``key`` = (step, j) seeded on its own, as the trainer defines it: every global
    generator from step_seed(seed, rank, step, 1 + j), then a uniform index."""
    s, j = key
    item_seed = step_seed(seed, rank, s, 1 + j)
    torch.manual_seed(item_seed)
    np.random.seed(item_seed % 2 ** 32)
    random.seed(item_seed)
    return dataset[int(torch.randint(len(dataset), ()))]


def test_a_batch_fetched_at_once_equals_items_seeded_one_by_one_and_leaves_the_callers_generators():
    dataset = build_dataset("smmnist", "train", None, 6)
    keys = [(7, j) for j in range(5)] + [(8, 0)]
    torch.manual_seed(123)
    np.random.seed(4)
    random.seed(5)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    got = StepSeeded(dataset, 3, 1).__getitems__(keys)
    after = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1]) and before[2] == after[2]
    want = [per_item_reference(dataset, 3, 1, k) for k in keys]
    assert all(torch.equal(g, w) for g, w in zip(got, want))
    assert not torch.equal(got[0], got[1])
    assert torch.equal(StepSeeded(dataset, 3, 1)[(7, 2)], want[2])


@pytest.mark.parametrize("workers", [0, 2])
def test_the_training_loader_gives_uint8_batches_that_are_the_float_items(workers):
    cfg = DataConfig(name="smmnist")
    u8 = make_dataset(cfg, "train", 6, uint8_items=True)
    floats = make_dataset(cfg, "train", 6)
    batches = list(training_loader(u8, 0, 0, 4, 6, 3, workers, False))
    assert [b.dtype for b in batches] == [torch.uint8] * 2 and batches[0].shape == (3, 6, 1, 64, 64)
    for s, batch in zip((4, 5), batches):
        want = torch.stack([per_item_reference(floats, 0, 0, (s, j)) for j in range(3)])
        assert want.dtype == torch.float32 and torch.equal(unit_frames(batch), want)


def test_unit_frames_divides_uint8_by_255_and_leaves_float_alone():
    x = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 1, 16, 16)
    y = unit_frames(x)
    assert y.dtype == torch.float32 and y[0, 0, 0, 15, 15] == 1.0 and y[0, 0, 0, 0, 1] == np.float32(1 / 255)
    f = torch.rand(2, 3)
    assert unit_frames(f) is f


def uint8_and_float(name, split, root, seq_len, n=3, **options):
    """Items 0..n−1 of a fixed split built twice, with and without uint8 items."""
    cfg = DataConfig(name=name, root=root, options=options)
    u8, fl = (make_dataset(cfg, split, seq_len, uint8_items=flag) for flag in (True, False))
    return [u8[i] for i in range(n)], [fl[i] for i in range(n)]


def check_same_frames(u8_items, float_items):
    for a, b in zip(u8_items, float_items):
        assert a.dtype == torch.uint8 and b.dtype == torch.float32 and a.shape == b.shape
        assert torch.equal(unit_frames(a), b)
        assert torch.equal((b * 255).round().to(torch.uint8), a)


def test_uint8_items_of_every_uint8_dataset_are_its_float_items(tmp_path):
    check_same_frames(*uint8_and_float("smmnist", "val", None, 8))
    check_same_frames(*uint8_and_float("smmnist", "test", None, 8, protocol="srvp"))
    rng = np.random.default_rng(0)
    np.save(tmp_path / "mnist_test_seq.npy", rng.integers(0, 256, (12, 20, 64, 64), dtype=np.uint8))
    check_same_frames(*uint8_and_float("mmnist", "test", str(tmp_path), 10, n=2, split_at=10,
                                       val_videos=2, layout="NTHW"))
    clips = tmp_path / "clips"
    for split in ("train", "val", "test"):
        os.makedirs(clips / split)
        np.save(clips / split / "a.npy", rng.integers(0, 256, (14, 64, 64, 3), dtype=np.uint8))
    check_same_frames(*uint8_and_float("videos", "test", str(clips), 12, n=1, clip_len=12))
    bair = tmp_path / "bair" / "test"
    os.makedirs(bair)
    videos = [rng.integers(0, 256, (2, 30, 64, 64, 3), dtype=np.uint8) for _ in range(2)]
    write_tfrecords(str(bair / "traj_0_to_1.tfrecords"), *videos,
                    rng.standard_normal((2, 30, 4)).astype(np.float32),
                    rng.standard_normal((2, 30, 3)).astype(np.float32))
    check_same_frames(*uint8_and_float("bair", "test", str(tmp_path / "bair"), 12, n=2))


def test_a_dataset_that_makes_float_frames_keeps_them():
    u8, fl = uint8_and_float("moving_squares", "val", None, 5, n=2)
    assert all(a.dtype == torch.float32 and torch.equal(a, b) for a, b in zip(u8, fl))


def test_a_training_run_feeds_the_model_float_frames_in_0_1(tmp_path, monkeypatch):
    from svg.train import loop
    seen = []
    real = loop.train_step

    def spy(model, net, opt, scaler, x, *args, **kwargs):
        seen.append((x.dtype, float(x.min()), float(x.max())))
        return real(model, net, opt, scaler, x, *args, **kwargs)

    monkeypatch.setattr(loop, "train_step", spy)
    loop.train(tiny(tmp_path / "run", 2, "data.name=smmnist"), progress=False)
    assert [d for d, _, _ in seen] == [torch.float32] * 2
    assert all(0.0 <= lo and hi <= 1.0 and hi > 0.5 for _, lo, hi in seen)

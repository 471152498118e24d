"""BAIR: real TFRecords in the exact schema, the converted format, PNG folders, and bad input."""
import os
import subprocess
import sys

import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from data_loaders import build_dataset
from data_loaders.bair.dataset import BAIRConverted, BAIRPngFolders, BAIRTFRecords
from data_loaders.bair.convert import convert
from svg.testing.bair_records import write_tfrecords


def make_videos(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 30, 64, 64, 3), dtype=np.uint8),
            rng.integers(0, 256, (n, 30, 64, 64, 3), dtype=np.uint8),
            rng.standard_normal((n, 30, 4)).astype(np.float32),
            rng.standard_normal((n, 30, 3)).astype(np.float32))


@pytest.fixture(scope="module")
def bair_root(tmp_path_factory):
    """softmotion30_44k layout: train/ with two record files, test/ with one."""
    root = tmp_path_factory.mktemp("softmotion30_44k")
    data = {}
    for split, files in (("train", [("traj_0_to_2.tfrecords", 3, 0), ("traj_3_to_4.tfrecords", 2, 1)]),
                         ("test", [("traj_0_to_255.tfrecords", 4, 2)])):
        os.makedirs(root / split)
        parts = []
        for name, n, seed in files:
            vids = make_videos(n, seed)
            write_tfrecords(str(root / split / name), *vids)
            parts.append(vids)
        data[split] = [np.concatenate(p) for p in zip(*parts)]
    return root, data


def as_uint8(x):
    return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_tfrecords_round_trip_pixel_exact(bair_root):
    root, data = bair_root
    aux, main, actions, endeff = data["test"]
    ds = build_dataset("bair", "test", str(root), 30, format="tfrecords", with_actions=True)
    assert len(ds) == 4
    item = ds[2]
    assert item["frames"].shape == (30, 3, 64, 64) and item["frames"].dtype == torch.float32
    assert np.array_equal(as_uint8(item["frames"]), aux[2])
    assert np.array_equal(item["actions"].numpy(), actions[2])
    assert np.array_equal(item["endeffector"].numpy(), endeff[2])
    main_ds = BAIRTFRecords(str(root / "test"), 30, "test", camera="image_main")
    assert np.array_equal(as_uint8(main_ds[1]), main[1])
    assert len(build_dataset("bair", "train", str(root), 30, val_videos=0)) == 5   # two files, in order
    assert np.array_equal(as_uint8(build_dataset("bair", "train", str(root), 30, format="tfrecords",
                                                 val_videos=0)[4]), data["train"][0][4])


def test_training_clips_start_at_random_frames_test_clips_at_zero(bair_root):
    root, data = bair_root
    train = BAIRTFRecords(str(root / "train"), 10, "train")
    starts = set()
    for seed in range(30):
        torch.manual_seed(seed)
        clip = as_uint8(train[1])
        s = next(s for s in range(21) if np.array_equal(clip, data["train"][0][1, s:s + 10]))
        starts.add(s)
    assert len(starts) > 5
    test = BAIRTFRecords(str(root / "test"), 10, "test")
    loader = DataLoader(test, batch_size=3, num_workers=2)
    got = np.concatenate([np.stack([as_uint8(v) for v in b]) for b in loader])
    assert np.array_equal(got, data["test"][0][:, :10])                 # in order, each once, frame 0


def test_conversion_round_trip_interrupt_and_rerun(bair_root, tmp_path, monkeypatch):
    root, data = bair_root
    dst = tmp_path / "converted"
    import data_loaders.bair.convert as bc
    real = bc.decode_example
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated interruption")
        return real(*a, **k)

    monkeypatch.setattr(bc, "decode_example", dying)
    with pytest.raises(KeyboardInterrupt):
        convert(str(root), str(dst), progress=False)
    with pytest.raises(FileNotFoundError, match="not a finished conversion"):
        BAIRConverted(str(dst / "train"), 30)
    monkeypatch.setattr(bc, "decode_example", real)
    manifests = convert(str(root), str(dst), progress=False)
    assert manifests["train"]["videos"] == 5 and manifests["test"]["videos"] == 4
    ds = build_dataset("bair", "test", str(dst), 30, with_actions=True)   # format detected
    assert isinstance(ds, BAIRConverted)
    for i in range(4):
        assert np.array_equal(as_uint8(ds[i]["frames"]), data["test"][0][i])
        assert np.array_equal(ds[i]["actions"].numpy(), data["test"][2][i])
    mtime = os.path.getmtime(dst / "train" / "videos.npy")
    convert(str(root), str(dst), progress=False)                         # finished: skipped
    assert os.path.getmtime(dst / "train" / "videos.npy") == mtime
    assert not [f for f in os.listdir(dst / "train") if ".tmp-" in f]


def test_convert_command(bair_root, tmp_path):
    root, _ = bair_root
    proc = subprocess.run([sys.executable, "-m", "svg.cli", "convert-bair", str(root), str(tmp_path / "o"),
                           "--splits", "test"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "test: 4 videos from 1 records" in proc.stdout
    assert "convert test" in proc.stderr                                 # tqdm progress bar


def test_png_folders_round_trip(bair_root, tmp_path):
    _, data = bair_root
    aux = data["test"][0]
    for k in range(4):
        folder = tmp_path / "processed_data" / "test" / "traj_0_to_255" / str(k)
        os.makedirs(folder)
        for t in range(30):
            imageio.imwrite(folder / f"{t}.png", aux[k, t])
    ds = build_dataset("bair", "test", str(tmp_path / "processed_data"), 30)
    assert isinstance(ds, BAIRPngFolders) and len(ds) == 4
    assert np.array_equal(as_uint8(ds[3]), aux[3])
    imageio.imwrite(tmp_path / "processed_data" / "test" / "traj_0_to_255" / "1" / "5.png",
                    np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"5.png: expected a 64×64 uint8 image"):
        ds[1]


def test_bad_records_give_clear_errors(bair_root, tmp_path):
    root, data = bair_root
    src = root / "test" / "traj_0_to_255.tfrecords"
    raw = bytearray(src.read_bytes())
    bad = tmp_path / "corrupt"
    os.makedirs(bad)
    flipped = bytearray(raw)
    flipped[5000] ^= 0xFF                                               # inside the first record's data
    (bad / "a.tfrecords").write_bytes(bytes(flipped))
    ds = BAIRTFRecords(str(bad), 30, "test")
    with pytest.raises(ValueError, match=r"a.tfrecords: corrupt record at byte 0 \(data CRC mismatch\)"):
        ds[0]
    trunc = tmp_path / "trunc"
    os.makedirs(trunc)
    (trunc / "b.tfrecords").write_bytes(bytes(raw[:len(raw) - 100]))
    with pytest.raises(ValueError, match=r"b.tfrecords: truncated record at byte \d+"):
        BAIRTFRecords(str(trunc), 30, "test")
    small = tmp_path / "small"
    os.makedirs(small)
    aux, main, actions, endeff = make_videos(1, 0)
    write_tfrecords(str(small / "c.tfrecords"), aux[:, :, :32, :32], main, actions, endeff)
    with pytest.raises(ValueError, match=r"'0/image_aux1/encoded' holds \[3072\] bytes; expected"):
        BAIRTFRecords(str(small), 30, "test")[0]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BAIRTFRecords(str(tmp_path / "nothing"), 30)
    os.makedirs(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=r"no \*.tfrecords in"):
        BAIRTFRecords(str(tmp_path / "empty"), 30)
    with pytest.raises(ValueError, match="seq_len 31 does not fit BAIR's 30-frame videos"):
        BAIRTFRecords(str(root / "test"), 31)
    with pytest.raises(FileNotFoundError, match="no BAIR data in"):
        build_dataset("bair", "test", str(tmp_path / "empty"), 30)


def video_keys(ds):
    return [as_uint8(ds[i]).tobytes() for i in range(len(ds))]


@pytest.mark.parametrize("fmt", ["tfrecords", "converted"])
def test_train_val_test_are_disjoint_and_val_is_the_stated_tail(bair_root, tmp_path, fmt):
    root, data = bair_root
    if fmt == "converted":
        convert(str(root), str(tmp_path / "c"), progress=False)
        root = tmp_path / "c"
    splits = {s: build_dataset("bair", s, str(root), 30, format=fmt, val_videos=2)
              for s in ("train", "val", "test")}
    assert [len(splits[s]) for s in ("train", "val", "test")] == [3, 2, 4]
    keys = {s: video_keys(d) for s, d in splits.items()}
    # val = the last 2 training videos in sorted file order (all of traj_3_to_4), train the rest
    assert keys["val"] == [v.tobytes() for v in data["train"][0][3:]]
    assert keys["train"] == [v.tobytes() for v in data["train"][0][:3]]
    assert keys["test"] == [v.tobytes() for v in data["test"][0]]
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not set(keys[a]) & set(keys[b]), (a, b)
    val_clip = build_dataset("bair", "val", str(root), 10, format=fmt, val_videos=2)[0]
    assert np.array_equal(as_uint8(val_clip), data["train"][0][3, :10])      # val clips start at 0


def test_val_size_errors_name_the_value(bair_root):
    root, _ = bair_root
    with pytest.raises(ValueError, match="val_videos=5 must be at least 0 and below its 5 training videos"):
        build_dataset("bair", "val", str(root), 30, val_videos=5)
    with pytest.raises(ValueError, match="val split is empty"):
        build_dataset("bair", "val", str(root), 30, val_videos=0)

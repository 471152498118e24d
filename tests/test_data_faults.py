"""Data faults through the CLI: corrupt BAIR records (svg check-data, mid-training), files of
random bytes, a Moving MNIST file smaller than its split point, the demo config switched to
mmnist, and `svg generate`'s arguments."""
import os

import imageio.v2 as imageio
import numpy as np
import pytest

from data_loaders import build_dataset
from svg.cli import main
from svg.testing.bair_records import write_random_videos

TINY_MODEL = ["model.width=8", "model.g_dim=16", "model.z_dim=2", "model.rnn_size=16"]


def write_videos(path, n, seed, size=64):
    write_random_videos(str(path), n, np.random.default_rng(seed), size)


def flip_byte(path, at):
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.fixture()
def bair(tmp_path):
    """train/ holds a.tfrecords (4 videos, records 1 and 3 corrupt), b.tfrecords (3 videos, cut
    inside record 2), c.tfrecords (2 intact videos); test/ one intact file. Returns (root, record
    size, expected problems) with offsets computed from the file sizes."""
    root = tmp_path / "softmotion30_44k"
    os.makedirs(root / "train")
    os.makedirs(root / "test")
    for name, n, seed in (("a", 4, 0), ("b", 3, 1), ("c", 2, 2)):
        write_videos(root / "train" / f"{name}.tfrecords", n, seed)
    write_videos(root / "test" / "t.tfrecords", 2, 3)
    rec = os.path.getsize(root / "train" / "c.tfrecords") // 2     # every record has the same size
    a, b = root / "train" / "a.tfrecords", root / "train" / "b.tfrecords"
    flip_byte(a, 1 * rec + 12 + 1000)                               # inside record 1's data
    flip_byte(a, 3 * rec + 12 + 77)                                 # inside record 3's data
    b.write_bytes(b.read_bytes()[:2 * rec + 500])                   # record 2 cut short
    expected = [f"{a}: corrupt record at byte {1 * rec} (data CRC mismatch)",
                f"{a}: corrupt record at byte {3 * rec} (data CRC mismatch)",
                f"{b}: truncated record at byte {2 * rec}"]
    return root, rec, expected


def test_check_data_lists_every_bad_record(bair, capsys):
    root, rec, expected = bair
    assert main(["check-data", str(root)]) == 1
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 4, out
    for line, want in zip(lines, expected):
        assert line.startswith(want), (line, want)
    assert lines[3] == (f"checked checksums and image_aux1 frames of 10 records in 4 files "
                        f"({sum(os.path.getsize(p) for p in root.glob('*/*.tfrecords')) / 1e6:.1f} MB): "
                        f"3 problems listed above")
    assert "check records" in err and "100%" in err                 # the tqdm progress bar
    # options may sit between the paths; intact files pass
    assert main(["check-data", str(root / "test"), "--no-progress",
                 str(root / "train" / "c.tfrecords")]) == 0
    assert capsys.readouterr().out.strip().endswith("of 4 records in 2 files (3.0 MB): all intact")


def test_check_data_finds_records_that_are_not_bair_videos(tmp_path, capsys):
    write_videos(tmp_path / "small.tfrecords", 2, 0, size=32)      # intact checksums, 32×32 frames
    assert main(["check-data", "--no-progress", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    rec = os.path.getsize(tmp_path / "small.tfrecords") // 2
    assert f"small.tfrecords (byte {rec}): '0/image_aux1/encoded' holds [3072] bytes" in out
    assert main(["check-data", "--no-progress", "--checksums-only", str(tmp_path)]) == 0
    assert main(["check-data", str(tmp_path / "missing")]) == 2
    assert "missing does not exist" in capsys.readouterr().err


def test_corrupt_record_mid_training_names_file_and_offset(bair, tmp_path, capsys):
    root, rec, expected = bair
    # train: a's 4 videos (records 1 and 3 corrupt) and c's first; val: c's last (intact)
    os.remove(root / "train" / "b.tfrecords")
    a = root / "train" / "a.tfrecords"
    run = tmp_path / "run"
    rc = main(["train", "--no-progress", "data.name=bair", f"data.root={root}", "data.num_workers=1",
               "data.options={val_videos: 1}", "data.n_future=1", "model.n_past=1", "model.channels=3",
               *TINY_MODEL, "model.backbone=dcgan64", "train.epochs=1", "train.steps_per_epoch=8",
               "train.ckpt_every=100", "train.seed=1", "train.batch_size=1", "train.val_batches=1", f"run_dir={run}"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    assert (f"{a}: corrupt record at byte {rec} (data CRC mismatch)" in err
            or f"{a}: corrupt record at byte {3 * rec} (data CRC mismatch)" in err), err
    # the steps before it are not lost: the last good one was saved before the error went on
    # (with train.seed=1 the first corrupt video is drawn after a few good steps)
    saved = [p.name for p in run.glob("ckpt_*.pt")]
    assert len(saved) == 1 and 0 < int(saved[0][5:14]) < 8, saved


def random_bytes(path, n=4096):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # imageio's plugins probing the bytes
def test_files_of_random_bytes_are_named(tmp_path, capsys):
    random_bytes(tmp_path / "mnist_test_seq.npy")
    assert main(["train", "data.name=mmnist", f"data.root={tmp_path}", "model.n_past=2", *TINY_MODEL,
                 f"run_dir={tmp_path / 'run'}"]) == 2
    assert f"{tmp_path / 'mnist_test_seq.npy'} is not a NumPy .npy or .npz file" in capsys.readouterr().err
    conv = tmp_path / "converted" / "test"
    os.makedirs(conv)
    (conv / "manifest.json").write_text('{"videos": 2}')
    random_bytes(conv / "videos.npy")
    with pytest.raises(ValueError, match=f"{conv / 'videos.npy'} is not a NumPy"):
        build_dataset("bair", "test", str(tmp_path / "converted"), 10)
    random_bytes(conv / "manifest.json")
    with pytest.raises(ValueError, match=f"{conv / 'manifest.json'} is not valid JSON"):
        build_dataset("bair", "test", str(tmp_path / "converted"), 10)
    frames = tmp_path / "png" / "test" / "traj" / "0"
    os.makedirs(frames)
    for t in range(30):
        random_bytes(frames / f"{t}.png")
    with pytest.raises(ValueError, match=f"{frames / '0.png'} is not a readable image"):
        build_dataset("bair", "test", str(tmp_path / "png"), 10)[0]
    idx = tmp_path / "idx"
    os.makedirs(idx)
    for split in ("train", "t10k"):
        for name in (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"):
            random_bytes(idx / name)
    with pytest.raises(ValueError, match="cannot read the MNIST train idx files .*train-images-idx3-ubyte"):
        build_dataset("smmnist", "train", str(idx), 10)
    random_bytes(tmp_path / "real.npy")
    os.makedirs(tmp_path / "gifs")
    random_bytes(tmp_path / "gifs" / "v.gif")
    npy, gifs = str(tmp_path / "real.npy"), str(tmp_path / "gifs")
    for args, named in (([npy, npy], npy), ([gifs, npy], os.path.join(gifs, "v.gif"))):
        assert main(["fvd", *args]) == 2
        assert f"{named} is not a" in capsys.readouterr().err


def write_mmnist(folder, n_videos):
    """A (20, N, 64, 64) uint8 file laid out like mnist_test_seq.npy: a bright 8×8 square moving."""
    data = np.zeros((20, n_videos, 64, 64), np.uint8)
    for t in range(20):
        for v in range(n_videos):
            x = (v * 7 + 2 * t) % 56
            data[t, v, 20:28, x:x + 8] = 255
    np.save(folder / "mnist_test_seq.npy", data)


@pytest.fixture(scope="module")
def mmnist_demo_run(tmp_path_factory):
    """The README's `--demo data.name=mmnist` override, shrunk to one step of a tiny model."""
    folder = tmp_path_factory.mktemp("mmnist")
    write_mmnist(folder, 60)
    run = folder / "run"
    args = ["train", "--demo", "--no-progress", "data.name=mmnist", f"data.root={folder}",
            "data.options.split_at=40", "data.options.val_videos=5", "data.n_future=2", "data.eval_n_future=3", "model.n_past=2",
            *TINY_MODEL, "train.steps_per_epoch=1", "train.batch_size=2", "train.val_batches=1",
            f"run_dir={run}"]
    return folder, run, args


def test_demo_config_switched_to_mmnist_and_its_split_point(mmnist_demo_run, capsys, caplog):
    folder, run, args = mmnist_demo_run
    assert main(args[:5] + args[6:]) == 2              # without split_at: 9000 > the file's 60 videos
    err = capsys.readouterr().err
    assert (f"{folder / 'mnist_test_seq.npy'} holds 60 videos; the splits need 0 <= "
            f"data.options.val_videos < data.options.split_at < 60, got val_videos=5, "
            f"split_at=9000") in err
    assert main(args) == 0
    assert "dropping that file's data.options {'num_digits': 2}" in caplog.text
    assert "best of 10 on 16 test sequences" in caplog.text


def trained(mmnist_demo_run):
    """The demo run's folder, trained here unless an earlier test of the module has done it."""
    _, run, args = mmnist_demo_run
    if not any(run.glob("ckpt_*.pt")):
        assert main(args) == 0
    return run


def test_generate_arguments(mmnist_demo_run, tmp_path, capsys):
    run = trained(mmnist_demo_run)
    out = tmp_path / "videos"
    assert main(["generate", "--run", str(run), "--out", str(out), "--n-samples", "2",
                 "--max-videos", "1", "--scale", "1"]) == 0
    gif = imageio.mimread(out / "video_0000.gif")
    assert len(gif) == 5                                         # n_past 2 + eval_n_future 3
    # truth | posterior | best of 2 | 2 random samples: 5 columns of 64 + 2·2 border pixels
    assert gif[0].shape[1] == 5 * (64 + 4)
    for bad, message in ((["--scale", "0"], "--scale 0: must be at least 1"),
                         (["--n-samples", "2", "--show", "3"], "--show 3 random samples cannot exceed"),
                         (["--max-videos", "0"], "--max-videos 0: must be at least 1")):
        target = tmp_path / f"bad{bad[1]}"
        assert main(["generate", "--run", str(run), "--out", str(target), *bad]) == 2
        assert message in capsys.readouterr().err
        assert not target.exists()                                # nothing created


def test_damaged_checkpoints_are_named(mmnist_demo_run, tmp_path, capsys):
    run = trained(mmnist_demo_run)
    good = sorted(run.glob("ckpt_*.pt"))[-1]
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    random_bytes(tmp_path / "noise.pt")
    for name in ("cut.pt", "noise.pt"):
        assert main(["generate", "--run", str(tmp_path / name), "--out", str(tmp_path / "v")]) == 2
        err = capsys.readouterr().err
        assert f"checkpoint {tmp_path / name} cannot be read (" in err and "Traceback" not in err

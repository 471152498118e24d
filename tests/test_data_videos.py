"""data.name=videos: real mp4/avi files (PyAV), frame folders and arrays of a moving rectangle, not
square and not 64 pixels; items against an independent decode and resize, the hash split against
an independent hash, training, evaluation and prediction through the CLI on every layout, and each
bad input's message."""
import hashlib
import json
import os
import shutil

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest
import torch

from clip_files import expected_fit
from data_loaders import build_dataset
from core.errors import InputWarning, UserError
from svg.cli import main
from svg.config import load_config
from svg.testing.videos import moving_rect, write_video
from tiny_runs import TINY

T, N_PAST, SIZE = 10, 2, 64          # frames per source video; TINY's n_past; the model's side
FRACTIONS = dict(val_fraction=0.25, test_fraction=0.25)
# names whose SHA-256 puts them in each split with val and test fractions of 0.25 (asserted below)
TREE = {"lab1/walk0.mp4": "test", "lab1/walk1.mp4": "train", "lab1/walk2.mp4": "test",
        "lab1/walk3.mp4": "train", "lab1/walk4.mp4": "val", "lab2/run0.avi": "train",
        "lab2/run1.avi": "train", "lab2/run2.avi": "train"}
NPY_SPLITS = {0: "test", 1: "val", 2: "train", 3: "train", 4: "test", 5: "test", 6: "val", 7: "val"}


def hash_split(key, val=0.25, test=0.25):
    """The documented rule, computed here from hashlib alone."""
    u = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2 ** 64
    return "test" if u < test else "val" if u < test + val else "train"


def clip(k, h=72, w=96, n=T):
    """Video k: (n, h, w, 3) uint8, its own colour and start, so items identify their source."""
    return moving_rect(n, h, w, colour=(60 + 20 * k, 200 - 15 * k, 40 + 10 * k), x0=2 + k % 5, y0=4 + k % 7)


def write(path, frames):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fmt, codec = ("avi", "mpeg4") if path.endswith(".avi") else ("mp4", "libx264")
    write_video(str(path), frames, fmt, codec)


def assert_fit(item, want):
    """An item (T, C, S, S) in [0, 1] matches the independent fit ``want`` (T, S, S, C) in [0, 255]:
    PIL's and torch's bicubic round apart by a level, rarely two."""
    diff = np.abs(item.permute(0, 2, 3, 1).numpy() * 255 - want)
    assert diff.max() <= 2.001 and (diff > 1.001).mean() < 1e-3, (diff.max(), (diff > 1.001).mean())


def decoded(path):
    """Every frame of a video file as imageio's PyAV plugin decodes it (independent of our reader)."""
    return iio.imread(path, plugin="pyav")


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """name → data.root of each layout: a hash-split tree of mp4 and avi files, train/ val/ test/
    folders, frame folders, one .npy of clips, and the tree converted by svg convert-videos."""
    base = tmp_path_factory.mktemp("videos")
    for k, key in enumerate(TREE):
        h, w = ((72, 96), (60, 80))[k % 2]
        write(str(base / "tree" / key), clip(k, h, w))
    folders = base / "folders"
    for k, rel in enumerate(["train/a.mp4", "train/b.avi", "train/c.mp4", "val/v.avi", "test/t.mp4", "test/u.mp4"]):
        write(str(folders / rel), clip(k, *((72, 96), (60, 80))[k % 2]))
    write(str(folders / "loose.mp4"), clip(9))                     # outside the split folders: not used
    for k, rel in enumerate(["train/s0", "train/s1", "val/s2", "test/s3"]):
        os.makedirs(base / "frames" / rel)
        for t, f in enumerate(clip(k)[..., 1]):                      # grey frames, 1-based numbers
            imageio.imwrite(base / "frames" / rel / f"frame_{t + 1}.png", f)
    os.makedirs(base / "npy")
    np.save(base / "npy" / "clips.npy", np.stack([clip(k) for k in range(8)]))   # (8, T, 72, 96, 3)
    assert main(["convert-videos", str(base / "tree"), str(base / "converted")]) == 0
    return {name: base / name for name in ("tree", "folders", "frames", "npy", "converted")}


def videos(root, split, seq_len=4, **options):
    return build_dataset("videos", split, str(root), seq_len, **{"clip_len": 6, **options})


def test_splits_follow_the_hash_of_each_path_and_the_folders(layouts, caplog):
    assert {key: hash_split(key) for key in TREE} == TREE
    assert {i: hash_split(f"clips.npy#{i}") for i in NPY_SPLITS} == NPY_SPLITS
    for split in ("train", "val", "test"):
        keys = [v.key for v in videos(layouts["tree"], split, **FRACTIONS).videos]
        assert keys == sorted(k for k, s in TREE.items() if s == split)
        assert [v.key for v in videos(layouts["converted"], split, **FRACTIONS).videos] == keys
        npy = [v.key for v in videos(layouts["npy"], split, **FRACTIONS).videos]
        assert npy == [f"clips.npy#{i}" for i, s in NPY_SPLITS.items() if s == split]
    by_folder = {s: [v.key for v in videos(layouts["folders"], s).videos] for s in ("train", "val", "test")}
    assert by_folder == {"train": ["train/a.mp4", "train/b.avi", "train/c.mp4"], "val": ["val/v.avi"],
                         "test": ["test/t.mp4", "test/u.mp4"]}
    assert [v.key for v in videos(layouts["frames"], "train").videos] == ["train/s0", "train/s1"]
    with caplog.at_level("INFO", logger="data_loaders.videos.dataset"):
        videos(layouts["tree"], "val", **FRACTIONS)
        videos(layouts["folders"], "val")
    said = [r.getMessage() for r in caplog.records]
    per_split = ", ".join(f"{s} {sum(v == s for v in TREE.values())}" for s in ("train", "val", "test"))
    assert said[0].startswith(f"videos: {layouts['tree']}: 8 videos, split by a hash of each video's relative "
                              f"path (SHA-256") and said[0].endswith(f"val_fraction 0.25, test_fraction 0.25: "
                                                                     f"{per_split}")   # how many each split got
    assert said[1] == (f"videos: {layouts['folders']}: 7 videos, split by the train/ val/ test/ folders: "
                       f"train 3, val 1, test 2")
    assert said[2].endswith("1 video(s) outside train/ val/ test/ are not used: loose.mp4")


def test_adding_a_file_moves_no_other(layouts, tmp_path):
    root = tmp_path / "tree"
    shutil.copytree(layouts["tree"], root)
    before = {s: {v.key for v in videos(root, s, **FRACTIONS).videos} for s in ("train", "val", "test")}
    for k, name in enumerate(["lab1/new.mp4", "lab3/more.avi", "zzz.mp4", "lab1/walk0b.mp4"]):
        write(str(root / name), clip(k))
    after = {s: {v.key for v in videos(root, s, **FRACTIONS).videos} for s in ("train", "val", "test")}
    for split in before:
        assert before[split] <= after[split]
        assert {k for k in after[split] - before[split]} == {k for k in ("lab1/new.mp4", "lab3/more.avi",
                                                                           "zzz.mp4", "lab1/walk0b.mp4")
                                                              if hash_split(k) == split}


def test_items_are_the_resized_source_frames(layouts):
    root = layouts["folders"]
    test = videos(root, "test", 6)
    assert len(test) == 2 * (T - 6 + 1)                       # fewer distinct clips than 256
    for i in range(len(test)):
        # clip i: numpy.random.default_rng([seed, i]) draws a video, then a start (test: seed 0)
        rng = np.random.default_rng([0, i])
        video = test.videos[int(rng.integers(2))]
        start = int(rng.integers(T - 6 + 1))
        assert test.clip(i) == (video, start)
        item = test[i]
        assert item.shape == (6, 3, SIZE, SIZE) and item.dtype == torch.float32
        want = expected_fit(decoded(video.path)[start:start + 6], SIZE, 3)
        assert_fit(item, want)
        assert torch.equal(videos(root, "test", 3)[i], item[:3])          # prefix-stable
    val = videos(root, "val", 6, seed=5)
    rng = np.random.default_rng([6, 0])                                   # val: seed + 1
    rng.integers(1)
    assert val.clip(0)[1] == int(rng.integers(T - 6 + 1))
    grey = videos(layouts["frames"], "test", 4, channels=1, resize="squash")
    video, start = grey.clip(0)
    want = expected_fit(clip(3)[start:start + 4, ..., 1:2], SIZE, 1, "squash")   # the PNGs' frames
    assert_fit(grey[0], want)
    assert videos(root, "test", 4, length=3, image_size=128)[2].shape == (4, 3, 128, 128)


def test_training_clips_come_from_torch_global_generator_with_frame_step(layouts):
    train = videos(layouts["tree"], "train", 3, frame_step=2, **FRACTIONS)
    assert [v.frames for v in train.videos] == [T // 2] * 5
    seen = set()
    for seed in range(8):
        torch.manual_seed(seed)
        video, start = train.clip(0)
        torch.manual_seed(seed)
        item = train[123]
        want = expected_fit(decoded(video.path)[::2][start:start + 3], SIZE, 3)
        assert_fit(item, want)
        seen.add((video.key, start))
    assert len({key for key, _ in seen}) > 2


def test_converted_items_equal_raw_ones(layouts):
    manifest = json.loads((layouts["converted"] / "manifest.json").read_text())
    assert {k: manifest[k] for k in ("dataset", "image_size", "channels", "resize", "frame_step", "folders")} \
        == {"dataset": "videos", "image_size": 64, "channels": 3, "resize": "crop", "frame_step": 1, "folders": False}
    assert [(v["key"], v["file"], v["frames"]) for v in manifest["videos"]] == \
        [(k, f"{k}.npy", T) for k in sorted(TREE)]
    for v in manifest["videos"]:
        assert v["source_bytes"] == os.path.getsize(layouts["tree"] / v["key"])
        arr = np.load(layouts["converted"] / v["file"])
        assert arr.shape == (T, SIZE, SIZE, 3) and arr.dtype == np.uint8
    assert manifest["skipped"] == [] and not (layouts["converted"] / "converting.json").exists()
    raw, conv = (videos(layouts[k], "test", 6, **FRACTIONS) for k in ("tree", "converted"))
    assert len(raw) == len(conv) and all(torch.equal(raw[i], conv[i]) for i in range(len(raw)))
    for seed in range(3):
        items = []
        for k in ("tree", "converted"):
            torch.manual_seed(seed)
            items.append(videos(layouts[k], "train", 4, **FRACTIONS)[0])
        assert torch.equal(*items)


def test_arrays_npz_and_float(tmp_path):
    a = np.stack([clip(k) for k in range(3)])                                  # (3, T, H, W, 3)
    np.savez(tmp_path / "pack.npz", first=a, grey=a[0, ..., 0] / 255.0)        # (T, H, W) float: one clip
    ds = build_dataset("videos", "train", str(tmp_path), 4, val_fraction=0, test_fraction=0)
    assert [v.key for v in ds.videos] == ["pack.npz#first#0", "pack.npz#first#1", "pack.npz#first#2",
                                          "pack.npz#grey"]
    ds.videos = ds.videos[3:]
    torch.manual_seed(0)
    video, start = ds.clip(0)
    torch.manual_seed(0)
    want = expected_fit(a[0, start:start + 4, ..., :1], SIZE, 3)
    assert_fit(ds[0], want)
    np.save(tmp_path / "mnist_test_seq.npy", np.zeros((20, 3, 64, 64), np.uint8))
    with pytest.warns(InputWarning, match="mnist_test_seq.npy: the standard Moving MNIST file is .T, N, H, W., "
                                          "time first, not .N, T, H, W.; use data.name=mmnist"):
        assert len(build_dataset("videos", "train", str(tmp_path), 4, val_fraction=0, test_fraction=0).videos) == 4


def train_run(root, run, *extra):
    tiny = [a for a in TINY if not a.startswith("data.name=")]
    return main(["train", "--no-progress", *tiny, "train.steps_per_epoch=2", f"run_dir={run}",
                 "data.name=videos", f"data.root={root}", "model.channels=3", "data.eval_n_future=3",
                 "data.options.clip_len=6", *extra])


@pytest.mark.parametrize("layout, options, predict_input", [
    ("tree", FRACTIONS, "lab1/walk0.mp4"), ("folders", {}, "test/t.mp4"), ("frames", {}, "test/s3"),
    ("npy", FRACTIONS, "clips.npy"), ("converted", FRACTIONS, None)])
def test_train_evaluate_predict_through_the_cli(layouts, tmp_path, capsys, layout, options, predict_input):
    root = layouts[layout]
    extra = [f"data.options.{k}={v}" for k, v in options.items()]
    assert train_run(root, tmp_path / "run", *extra) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["step"] == 2 and summary["protocol"]["dataset"] == "videos"
    assert main(["evaluate", "--run", str(tmp_path / "run"), "--n-samples", "2", "--max-videos", "2",
                 "--lpips", "none", "--out", str(tmp_path / "eval")]) == 0
    protocol = json.loads((tmp_path / "eval" / "metrics.json").read_text())["protocol"]
    assert (protocol["dataset"], protocol["split"], protocol["videos"], protocol["n_future"]) == ("videos", "test", 2, 3)
    path = str((layouts["tree"] if predict_input is None else root) / (predict_input or "lab1/walk2.mp4"))
    assert main(["predict", "--run", str(tmp_path / "run"), path, "--n-future", "3", "--n-samples", "2",
                 "--device", "cpu", "--out", str(tmp_path / "pred")]) == 0
    stem = os.path.splitext(os.path.basename(path))[0] + ("_5" if layout == "npy" else "")
    samples = np.load(tmp_path / "pred" / f"{stem}.pred.npz")["samples"]
    assert samples.shape == (2, N_PAST + 3, SIZE, SIZE, 3)
    source = {"frames": clip(3)[..., 1:2], "npy": clip(5)}.get(layout)
    source = decoded(path) if source is None else source
    for sample in samples:
        assert_fit(torch.from_numpy(sample[:N_PAST]).permute(0, 3, 1, 2) / 255, expected_fit(source[-N_PAST:], SIZE, 3))


def test_convert_is_resumable_and_notices_changed_sources(layouts, tmp_path):
    from data_loaders.videos.convert import convert

    src, dst = tmp_path / "src", tmp_path / "dst"
    shutil.copytree(layouts["tree"], src)
    (src / "lab1" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 40)
    with pytest.warns(InputWarning, match="broken.mp4: cannot be read as a video"):
        same_split = videos(src, hash_split("lab1/broken.mp4"), 4, **FRACTIONS)   # the dataset skips it too
    assert "lab1/broken.mp4" not in [v.key for v in same_split.videos]
    first = convert(str(src), str(dst), frame_step=2, progress=False)
    assert [s["key"] for s in first["skipped"]] == ["lab1/broken.mp4"]
    assert "broken.mp4: cannot be read as a video" in first["skipped"][0]["reason"]
    assert {v["frames"] for v in first["videos"]} == {T // 2}
    # a conversion killed mid-way: its manifest gone, one array missing, a dead writer's temporary
    (dst / "manifest.json").unlink()
    (dst / "lab2" / "run1.avi.npy").unlink()
    stale = dst / "lab1" / ".walk1.mp4.npy.tmp-999999999.npy"
    stale.write_bytes(b"partial")
    sizes = {v["file"]: v["source_bytes"] for v in first["videos"]}
    (dst / "converting.json").write_text(json.dumps({"settings": {"image_size": 64, "channels": 3, "resize": "crop",
                                                                  "frame_step": 2}, "sources": sizes}))
    with pytest.raises(UserError, match="unfinished `svg convert-videos` output .converting.json"):
        videos(dst, "train", 4)
    kept = os.stat(dst / "lab1" / "walk1.mp4.npy")
    write(str(src / "lab1" / "walk3.mp4"), clip(3, n=T + 4))         # changed: reconverted
    again = convert(str(src), str(dst), frame_step=2, progress=False)
    assert not stale.exists() and not (dst / "converting.json").exists()
    now = os.stat(dst / "lab1" / "walk1.mp4.npy")
    assert (now.st_ino, now.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)          # kept, not redone
    assert np.load(dst / "lab1" / "walk3.mp4.npy").shape[0] == (T + 4) // 2
    assert (dst / "lab2" / "run1.avi.npy").exists()
    assert {v["key"]: v["frames"] for v in again["videos"]}["lab1/walk3.mp4"] == (T + 4) // 2
    manifest = os.stat(dst / "manifest.json")
    convert(str(src), str(dst), frame_step=2, progress=False)                          # finished: no work
    assert os.stat(dst / "manifest.json").st_ino == manifest.st_ino
    with pytest.raises(UserError, match="holds a conversion with frame_step 2; convert into a new folder"):
        convert(str(src), str(dst), progress=False)
    with pytest.raises(UserError, match=r"was converted with frame_step 2 \(options: 1\); convert the source "
                                        r"again into a new folder with `svg convert-videos SRC DST "
                                        r"--image-size 64 --channels 3 --resize crop --frame-step 1`"):
        videos(dst, "train", 4)
    with pytest.raises(UserError, match="is inside"):
        convert(str(src), str(src / "out"), progress=False)


def test_convert_command_prints_counts_and_skipped(layouts, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(layouts["folders"], src)
    (src / "train" / "junk.avi").write_bytes(b"RIFF garbage" * 30)
    assert main(["convert-videos", str(src), str(tmp_path / "out"), "--channels", "1", "--resize", "squash"]) == 0
    captured = capsys.readouterr()
    assert f"7 videos, {7 * T} frames of 64×64×1 → {tmp_path / 'out'}" in captured.out
    assert "skipped 1 source(s) that cannot be read" in captured.out and "junk.avi" in captured.out
    assert "convert videos" in captured.err                                       # tqdm's bar
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["folders"] is True and manifest["resize"] == "squash"
    with pytest.warns(InputWarning, match="1 source file.s. could not be converted and are not used .listed under "
                                          "'skipped' in manifest.json"):
        ds = videos(tmp_path / "out", "val", 4, channels=1, resize="squash")
    assert [v.key for v in ds.videos] == ["val/v.avi"] and ds[0].shape == (4, 1, SIZE, SIZE)
    with pytest.raises(SystemExit) as stop:
        main(["convert-videos", str(src), str(tmp_path / "o2"), "--image-size", "96"])
    assert stop.value.code == 2
    assert "invalid choice: 96" in capsys.readouterr().err


def test_bad_inputs_say_what_is_wrong(layouts, tmp_path):
    root = tmp_path / "few"
    for k, name in enumerate(["a.mp4", "b.mp4", "c.mp4"]):
        write(str(root / name), clip(k))
    split = next(s for s in ("test", "val") if all(hash_split(n, 0.1, 0.1) != s for n in ("a.mp4", "b.mp4", "c.mp4")))
    with pytest.raises(UserError, match=rf"videos {split} split of {root} is empty: none of its 3 videos hashes "
                                        rf"into {split} \({split}_fraction = 0.1\); add videos, or put them in "
                                        rf"train/ val/ test/ folders"):
        build_dataset("videos", split, str(root), 4)
    trunc = tmp_path / "trunc"
    os.makedirs(trunc / "train")
    shutil.copytree(layouts["folders"] / "val", trunc / "val")
    shutil.copytree(layouts["folders"] / "test", trunc / "test")
    good = (layouts["folders"] / "train" / "a.mp4").read_bytes()
    (trunc / "train" / "cut.mp4").write_bytes(good[:len(good) // 2])                 # no moov atom
    with pytest.warns(InputWarning, match=r"videos train: skipped 1 file\(s\) that cannot be read: \S*cut.mp4: "
                                          r"cannot be read as a video"):
        with pytest.raises(UserError, match="videos train: none of the 1 videos of .*'s train split can be read"):
            build_dataset("videos", "train", str(trunc), 4)
    write(str(trunc / "train" / "short.mp4"), clip(1, n=3))
    write(str(trunc / "train" / "long.mp4"), clip(2))
    (trunc / "train" / "cut.mp4").unlink()
    with pytest.warns(InputWarning, match=r"videos train: skipped 1 of 2 videos shorter than 5 frames: "
                                          r"train/short.mp4 \(3\)"):
        ds = build_dataset("videos", "train", str(trunc), 5)
    assert [v.key for v in ds.videos] == ["train/long.mp4"]
    with pytest.raises(UserError, match=r"seq_len 7 is longer than the videos test clips \(clip_len 6\); set "
                                        r"data.options.clip_len"):
        videos(layouts["folders"], "test", 7)
    for options, message in [
            ({"image_size": 96}, "image_size must be 64 or 128"), ({"channels": 2}, "channels must be 1 .grey. or 3"),
            ({"resize": "fit"}, "resize must be one of crop, squash, got 'fit'"),
            ({"frame_step": 0}, "frame_step must be a positive integer, got 0"),
            ({"val_fraction": 1.5}, r"val_fraction must lie in \[0, 1\), got 1.5"),
            ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction \\+ test_fraction must be below 1"),
            ({"clip_len": 0}, "clip_len must be a positive integer")]:
        with pytest.raises(UserError, match=f"videos option.? {message}"):
            videos(layouts["folders"], "train", **options)
    with pytest.raises(UserError, match="videos needs data.root"):
        build_dataset("videos", "train", None, 4)
    os.makedirs(tmp_path / "empty" / "sub")
    (tmp_path / "empty" / "notes.txt").write_text("no videos here")
    with pytest.raises(FileNotFoundError, match="empty holds no videos; expected video files"):
        build_dataset("videos", "train", str(tmp_path / "empty"), 4)


def test_cli_errors_are_one_line(layouts, tmp_path, capsys):
    assert train_run(layouts["folders"], tmp_path / "r", "data.options.image_size=96") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "svg train: error: the training config: dataset 'videos' gives 96×96 frames but " \
                     "backbone 'dcgan64' reads 64×64; set data.options.image_size=64" \
        and "Traceback" not in "\n".join(err)
    assert train_run(layouts["folders"], tmp_path / "grey", "model.channels=1") == 2   # colour data
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "svg train: error: the training config: dataset 'videos' gives 3-channel frames but " \
                     "model.channels is 1; set model.channels=3 or data.options.channels=1"
    assert not (tmp_path / "grey").exists()   # refused before the run folder is made


def test_shipped_config_reads_a_videos_folder(layouts):
    from svg.config import load_config
    from svg.data import make_dataset

    cfg = load_config(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs",
                                   "videos.yaml"), [f"data.root={layouts['folders']}"])
    o = cfg.data.options
    assert (cfg.data.name, cfg.model.channels, o["channels"], o["image_size"]) == ("videos", 3, 3, 64)
    assert o["clip_len"] >= cfg.model.n_past + cfg.data.eval_n_future
    with pytest.warns(InputWarning, match="shorter than 30 frames"):   # the test videos have 10 frames
        with pytest.raises(UserError, match="none of the 2 videos has 30 frames"):
            make_dataset(cfg.data, "test", cfg.model.n_past + cfg.data.eval_n_future)
    assert make_dataset(cfg.data, "train", 10)[0].shape == (10, 3, 64, 64)


def test_an_empty_split_stops_training_before_the_first_step(tmp_path, capsys):
    """A hash split of few files that leaves test empty is refused when training starts, with the
    videos per split and the fix, and nothing is trained or written but the log."""
    keys = [f"v{k}.mp4" for k in range(200)]
    names = ([k for k in keys if hash_split(k, 0.1, 0.1) == "train"][:3]
             + [k for k in keys if hash_split(k, 0.1, 0.1) == "val"][:1])   # train and val, no test
    root = tmp_path / "few"
    for k, name in enumerate(names):
        write(str(root / name), clip(k))
    counts = {s: sum(hash_split(n, 0.1, 0.1) == s for n in names) for s in ("train", "val", "test")}
    assert counts["test"] == 0
    run = tmp_path / "run"
    assert train_run(root, run, "data.options.val_fraction=0.1", "data.options.test_fraction=0.1") == 2
    err = capsys.readouterr().err
    assert f"videos test split of {root} is empty" in err and "train/ val/ test/ folders" in err
    assert f"Videos per split: train {counts['train']}, val {counts['val']}, test 0" in err
    assert not list(run.glob("ckpt_*.pt")) and not (run / "summary.json").exists()


def test_a_failed_end_of_run_report_leaves_checkpoint_gif_and_summary(layouts, tmp_path, monkeypatch):
    import svg.train.loop as loop

    def broken_report(*args, **kwargs):
        raise RuntimeError("the test split went away")

    monkeypatch.setattr(loop, "final_report", broken_report)
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="the test split went away"):
        loop.train(load_config(None, [a for a in TINY if not a.startswith("data.name=")] + [
            "train.steps_per_epoch=2", f"run_dir={run}", "data.name=videos", f"data.root={layouts['folders']}",
            "model.channels=3", "data.eval_n_future=3", "data.options.clip_len=6"]), progress=False)
    assert (run / "ckpt_000000002.pt").exists() and (run / "rollouts.gif").exists()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 2 and summary["stopped_by"] is None
    assert summary["final_report"].startswith("failed: RuntimeError: the test split went away")

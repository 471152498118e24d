"""KTH: real AVIs written with PyAV (a bright square moving on a dark background, KTH's naming),
decoded, split by person, converted, read as PNG folders, and every error."""
import os
import subprocess
import sys

import av
import imageio.v2 as imageio
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from data_loaders import build_dataset
from data_loaders.kth.dataset import srvp_clips
from data_loaders.kth.convert import convert
from data_loaders.kth.files import CLASSES, detect_format, list_videos
from data_loaders.common.video import decode_video, header_frame_count
from svg.testing.kth_videos import write_video

BG, FG, SQ = 20, 230, 24      # background and square grey levels, square side in source pixels


def square_video(n, x0, y0, vx, vy, w=160, h=120, side=SQ):
    """(n, h, w) uint8 frames; the square's top-left corner is (y0 + vy·t, x0 + vx·t) at frame t."""
    frames = np.full((n, h, w), BG, np.uint8)
    for t in range(n):
        y, x = y0 + vy * t, x0 + vx * t
        frames[t, y:y + side, x:x + side] = FG
    return frames


def kth_name(person, action, scenario):
    return f"person{person:02d}_{action}_d{scenario}"


def write_kth(root, person, action, scenario, frames):
    os.makedirs(root / action, exist_ok=True)
    path = root / action / f"{kth_name(person, action, scenario)}_uncomp.avi"
    write_video(str(path), frames)
    return path


def centroid(img, threshold=128):
    ys, xs = np.nonzero(img > threshold)
    return ys.mean(), xs.mean()


@pytest.fixture(scope="module")
def kth_root(tmp_path_factory):
    """Raw KTH layout: people 1, 2 (train), 20 (val), 21, 22 (test); boxing and walking, d1 and d2.

    Video k is 44 + 2k frames long and its square starts at x = 4 + k (so clips identify videos).
    """
    root = tmp_path_factory.mktemp("kth")
    sources = {}
    k = 0
    for person in (1, 2, 20, 21, 22):
        for action in ("boxing", "walking"):
            for scenario in (1, 2):
                frames = square_video(44 + 2 * k, 4 + k, 10, 1, 1)
                write_kth(root, person, action, scenario, frames)
                sources[kth_name(person, action, scenario)] = frames
                k += 1
    return root, sources


def grey(x):
    """(T, 1, H, W) float in [0, 1] → (T, H, W) uint8."""
    return (x[:, 0] * 255).round().to(torch.uint8).numpy()


def test_decoded_frames_count_size_and_square_position(tmp_path):
    frames = square_video(30, 20, 30, 3, 2)
    path = write_kth(tmp_path, 1, "running", 1, frames)
    assert header_frame_count(str(path)) == 30
    with av.open(str(path)) as c:   # the file is what KTH distributes: MPEG-4 in AVI, 160×120
        s = c.streams.video[0]
        assert (s.codec_context.name, s.width, s.height, int(s.average_rate)) == ("mpeg4", 160, 120, 25)
    video = decode_video(str(path))
    assert video.shape == (30, 64, 64) and video.dtype == np.uint8
    for t in (0, 13, 29):   # the square's centre, scaled by 64/160 across and 64/120 down
        y, x = centroid(video[t])
        assert abs(y - (30 + 2 * t + SQ / 2) * 64 / 120 + 0.5) < 0.5
        assert abs(x - (20 + 3 * t + SQ / 2) * 64 / 160 + 0.5) < 0.5
    # independent reference: PIL's bicubic resize of the frames before encoding
    ref = np.stack([np.asarray(Image.fromarray(f).resize((64, 64), Image.BICUBIC)) for f in frames])
    diff = np.abs(video.astype(int) - ref)
    assert diff.mean() < 2.0 and np.percentile(diff, 99) < 10
    assert abs(int(video[0, 0, 0]) - BG) <= 2 and abs(int(video[0, 19, 11]) - FG) <= 3
    part = decode_video(str(path), 10, 14)
    assert np.array_equal(part, video[10:14])


def test_splits_by_person(kth_root):
    root, _ = kth_root
    people = {}
    for split in ("train", "val", "test"):
        ds = build_dataset("kth", split, str(root), 20)
        people[split] = {v.person for v in ds.videos}
    assert people == {"train": {1, 2}, "val": {20}, "test": {21, 22}}
    train_all = build_dataset("kth", "train", str(root), 20, val_people=[])
    assert {v.person for v in train_all.videos} == {1, 2, 20} and len(train_all.videos) == 12
    with pytest.raises(ValueError, match=r"no val split with val_people=\[\]"):
        build_dataset("kth", "val", str(root), 20, val_people=[])
    with pytest.raises(ValueError, match=r"\[21\] are not training people"):
        build_dataset("kth", "train", str(root), 20, val_people=[21])
    with pytest.raises(FileNotFoundError, match=r"no KTH videos of people \[3\]"):
        build_dataset("kth", "val", str(root), 20, val_people=[3])


def test_training_clips_come_from_torch_global_generator(kth_root):
    root, sources = kth_root
    ds = build_dataset("kth", "train", str(root), 12)
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        video, start = ds.clip(0)
        torch.manual_seed(seed)
        item = ds[5]
        assert item.shape == (12, 1, 64, 64) and item.dtype == torch.float32
        assert 0 <= item.min() and item.max() <= 1
        assert np.array_equal(grey(item), decode_video(video.path, start, start + 12))
        y, x = centroid(grey(item)[0])   # the square sits where the source video put it
        src = sources[video.name][start]
        y_src, x_src = centroid(src)
        assert abs(x - (x_src + 0.5) * 64 / 160 + 0.5) < 0.5 and abs(y - (y_src + 0.5) * 64 / 120 + 0.5) < 0.5
        seen.add((video.name, start))
    assert len({name for name, _ in seen}) > 3 and len(seen) == 12


def test_test_set_is_fixed_and_prefix_stable(kth_root):
    root, _ = kth_root
    long = build_dataset("kth", "test", str(root), 40, length=12)
    short = build_dataset("kth", "test", str(root), 15, length=6)
    again = build_dataset("kth", "test", str(root), 40, length=12)
    assert len(long) == 12 and len(short) == 6
    for i in range(6):
        a = long[i]
        assert a.shape == (40, 1, 64, 64)
        assert torch.equal(short[i], a[:15]) and torch.equal(again[i], a)
    # clip i is (seed, i) → a video uniform over the test videos, then a start uniform over it
    for i in range(12):
        rng = np.random.default_rng([0, i])
        video = long.videos[int(rng.integers(len(long.videos)))]
        assert long.clip(i) == (video, int(rng.integers(video.frames - 40 + 1)))
    assert long.videos == sorted(long.videos, key=lambda v: (CLASSES.index(v.action), v.name))
    other = build_dataset("kth", "test", str(root), 40, length=12, seed=1)
    assert [other.clip(i) for i in range(12)] != [long.clip(i) for i in range(12)]
    val = build_dataset("kth", "val", str(root), 40, length=12)
    assert {v.person for v, _ in (val.clip(i) for i in range(12))} == {20}
    with pytest.raises(ValueError, match="seq_len 41 is longer than the KTH test clips"):
        build_dataset("kth", "test", str(root), 41)
    loader = DataLoader(short, batch_size=4, num_workers=2)   # raw decoding in worker processes
    assert torch.equal(torch.cat(list(loader)), torch.stack([short[i] for i in range(6)]))


def test_formats_agree_converted_and_png(kth_root, tmp_path):
    root, _ = kth_root
    dst = tmp_path / "converted"
    manifest = convert(str(root), str(dst), progress=False)
    assert len(manifest["videos"]) == 20 and manifest["size"] == 64
    png = tmp_path / "processed_64"   # SRVP's ffmpeg layout: RGB PNGs, image-001.png, ...
    _, videos = list_videos(str(root))
    for v in videos:
        frames = decode_video(v.path)
        arr = np.load(dst / v.action / f"{v.name}.npy")
        assert np.array_equal(arr, frames)
        os.makedirs(png / v.action / v.name)
        for t, f in enumerate(frames):
            imageio.imwrite(png / v.action / v.name / f"image-{t + 1:03d}.png", np.stack([f] * 3, -1))
    assert (detect_format(str(dst)), detect_format(str(png))) == ("converted", "png")
    raw_test = build_dataset("kth", "test", str(root), 40, length=8)
    for other in (dst, png):
        ds = build_dataset("kth", "test", str(other), 40, length=8)
        assert [v.frames for v in ds.videos] == [v.frames for v in raw_test.videos]
        for i in range(8):
            assert torch.equal(ds[i], raw_test[i])
        torch.manual_seed(3)
        a = build_dataset("kth", "train", str(other), 10)[0]
        torch.manual_seed(3)
        assert torch.equal(a, build_dataset("kth", "train", str(root), 10)[0])


def test_srvp_protocol(tmp_path):
    """All 120 test videos (people 21–25, six classes, d1–d4), small frames, varied lengths."""
    lengths = {}
    for k, (action, person, scenario) in enumerate(
            (a, p, s) for a in CLASSES for p in range(21, 26) for s in range(1, 5)):
        n = 40 + (k * 7) % 23
        frames = np.full((n, 24, 32), BG, np.uint8)
        frames[np.arange(n), :, np.arange(n) % 32] = FG   # a bright column moving with time
        write_kth(tmp_path, person, action, scenario, frames)
        lengths[(action, person, scenario)] = n
    ds = build_dataset("kth", "test", str(tmp_path), 40, protocol="srvp")
    assert len(ds) == 1000
    # SRVP's make_test_set.py, with NumPy's legacy global generator, drawn independently here
    np.random.seed(42)
    for i in range(1000):
        action = CLASSES[np.random.randint(6)]
        person, scenario = np.random.randint(21, 26), np.random.randint(1, 5)
        t0 = np.random.randint(lengths[(action, person, scenario)] - 40 + 1)
        video, start = ds.clip(i)
        assert (video.name, start) == (kth_name(person, action, scenario), t0), i
    assert np.array_equal(grey(ds[7][:5]), decode_video(ds.clip(7)[0].path, ds.clip(7)[1], ds.clip(7)[1] + 5))
    assert torch.equal(build_dataset("kth", "test", str(tmp_path), 10, protocol="srvp", length=20)[19],
                       ds[19][:10])
    os.remove(tmp_path / "walking" / "person23_walking_d2_uncomp.avi")
    videos = list_videos(str(tmp_path), people=range(21, 26))[1]
    with pytest.raises(ValueError, match=r"clip \d+ draws person23_walking_d2, which is missing"):
        srvp_clips(videos)


def test_converter_is_atomic_and_resumable(kth_root, tmp_path, monkeypatch):
    root, _ = kth_root
    dst = tmp_path / "c"
    import data_loaders.kth.convert as kc

    real_fsync, calls = os.fsync, {"n": 0}

    def dying_fsync(fd):
        calls["n"] += 1
        if calls["n"] == 5:   # the third video's array is written in full but not yet renamed
            raise KeyboardInterrupt("simulated interruption")
        return real_fsync(fd)

    monkeypatch.setattr(kc.os, "fsync", dying_fsync)
    with pytest.raises(KeyboardInterrupt):
        convert(str(root), str(dst), progress=False)
    monkeypatch.setattr(kc.os, "fsync", real_fsync)
    done = sorted(p.name for p in (dst / "boxing").iterdir())
    assert done == ["person01_boxing_d1.npy", "person01_boxing_d2.npy"]   # the third's temporary removed
    with pytest.raises(FileNotFoundError, match="not a finished conversion"):
        build_dataset("kth", "test", str(dst), 10)
    first = os.stat(dst / "boxing" / "person01_boxing_d1.npy")
    dead_writer = dst / "boxing" / ".person01_boxing_d3.npy.tmp-999999999.npy"   # a killed run's
    dead_writer.write_bytes(b"partial")
    convert(str(root), str(dst), progress=False)
    again = os.stat(dst / "boxing" / "person01_boxing_d1.npy")
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)   # kept, not redone
    assert not list(dst.rglob(".*.tmp-*"))
    assert len(build_dataset("kth", "test", str(dst), 10)) == 1000
    manifest = os.stat(dst / "manifest.json")
    convert(str(root), str(dst), progress=False)                                     # finished: nothing
    assert os.stat(dst / "manifest.json").st_ino == manifest.st_ino


def test_convert_command(kth_root, tmp_path):
    root, _ = kth_root
    proc = subprocess.run([sys.executable, "-m", "svg.cli", "convert-kth", str(root), str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "20 videos, 1260 frames of 64×64" in proc.stdout
    assert "convert KTH" in proc.stderr                                              # tqdm progress bar


def test_errors_name_the_file(kth_root, tmp_path):
    root, sources = kth_root
    bad = tmp_path / "bad"
    os.makedirs(bad / "jogging")
    (bad / "jogging" / "person01_jogging_d1_uncomp.avi").write_bytes(b"not a video" * 50)
    with pytest.raises(ValueError, match=r"person01_jogging_d1_uncomp.avi: cannot be read as a video"):
        build_dataset("kth", "train", str(bad), 10)
    trunc = tmp_path / "trunc"
    raw = (root / "boxing" / "person01_boxing_d1_uncomp.avi").read_bytes()
    os.makedirs(trunc / "boxing")
    (trunc / "boxing" / "person01_boxing_d1_uncomp.avi").write_bytes(raw[:len(raw) * 3 // 10])
    with pytest.raises(ValueError, match="person01_boxing_d1_uncomp.avi: cannot be read as a video; the file "
                                         "is truncated, corrupt or not a video"):
        build_dataset("kth", "train", str(trunc), 40)
    empty = tmp_path / "empty"
    os.makedirs(empty / "raw" / "boxing")
    with pytest.raises(FileNotFoundError, match=r"holds none of the six KTH class folders \(the class "
                                                r"folders are in .*raw: use that as data.root\); expected "
                                                r"ROOT/\{class\}/person\{PP\}_\{class\}_d\{S\}_uncomp.avi"):
        build_dataset("kth", "train", str(empty), 10)
    os.makedirs(tmp_path / "named" / "boxing")
    write_video(str(tmp_path / "named" / "boxing" / "person01_walking_d1_uncomp.avi"), sources["person01_boxing_d1"])
    with pytest.raises(ValueError, match=r"not a KTH boxing video name; expected person\{01..25\}_boxing_d\{1..4\}"):
        build_dataset("kth", "train", str(tmp_path / "named"), 10)
    with pytest.raises(ValueError, match="kth needs data.root"):
        build_dataset("kth", "train", None, 10)
    with pytest.raises(ValueError, match="KTH option clip_len must be a positive integer, got 0"):
        build_dataset("kth", "test", str(root), 10, clip_len=0)
    with pytest.raises(ValueError, match="unknown KTH protocol 'svg'"):
        build_dataset("kth", "test", str(root), 10, protocol="svg")


def test_truncated_video_keeps_its_complete_frames_and_says_so(kth_root, tmp_path):
    root, _ = kth_root
    intact = root / "boxing" / "person01_boxing_d1_uncomp.avi"
    raw = intact.read_bytes()
    src = tmp_path / "trunc"
    os.makedirs(src / "boxing")
    cut = src / "boxing" / "person01_boxing_d1_uncomp.avi"
    cut.write_bytes(raw[:len(raw) * 8 // 10])
    (src / "boxing" / "person02_boxing_d1_uncomp.avi").write_bytes(
        (root / "boxing" / "person02_boxing_d1_uncomp.avi").read_bytes())
    with pytest.warns(UserWarning, match=r"KTH: 1 truncated video\(s\); only their complete frames are "
                                         r"used: \S*person01_boxing_d1_uncomp.avi \(\d+ of 44 frames decode\)$"):
        _, videos = list_videos(str(src))
    n = videos[0].frames
    assert 0 < n < 44 and videos[0].declared == 44 and not videos[1].truncated
    full = decode_video(str(intact))
    assert np.array_equal(decode_video(str(cut)), full[:n])          # exact: the damaged frame is dropped
    with pytest.raises(ValueError, match=rf"person01_boxing_d1_uncomp.avi: truncated or corrupt video: it "
                                         rf"ends after {n} frames, 44 were needed; its header declares 44"):
        decode_video(str(cut), 0, 44)
    with pytest.warns(UserWarning, match="truncated"):
        manifest = convert(str(src), str(tmp_path / "out"), progress=False)
    entry = manifest["videos"][0]
    assert (entry["frames"], entry["declared_frames"]) == (n, 44) and manifest["truncated"] == [entry["name"]]
    assert np.array_equal(np.load(tmp_path / "out" / "boxing" / "person01_boxing_d1.npy"), full[:n])
    with pytest.warns(UserWarning, match="truncated"):
        ds = build_dataset("kth", "train", str(src), n)
    for seed in range(6):                                             # clips stay inside what decodes
        torch.manual_seed(seed)
        assert ds[0].shape == (n, 1, 64, 64)


def test_short_videos_are_skipped_counted_and_reported_once(kth_root, tmp_path):
    root, sources = kth_root
    short = tmp_path / "short"
    for person, n in ((1, 50), (2, 12), (3, 8), (21, 45), (22, 30)):
        write_kth(short, person, "handwaving", 1, sources["person01_boxing_d1"][:n])
    with pytest.warns(UserWarning, match=r"KTH train: skipped 2 of 3 videos shorter than 20 frames: "
                                         r"person02_handwaving_d1 \(12\), person03_handwaving_d1 \(8\)") as rec:
        ds = build_dataset("kth", "train", str(short), 20)
    assert len(rec) == 1 and [v.name for v in ds.videos] == ["person01_handwaving_d1"]
    with pytest.warns(UserWarning, match=r"KTH test: skipped 1 of 2 videos shorter than 40 frames"):
        test = build_dataset("kth", "test", str(short), 20, length=5)
    assert {test.clip(i)[0].name for i in range(5)} == {"person21_handwaving_d1"}


@pytest.mark.parametrize("name, likelihood", [("kth", "optimal"), ("kth_mse", "mse")])
def test_shipped_configs_hold_svg_kth_settings(kth_root, name, likelihood):
    from svg.config import load_config
    from svg.data import make_dataset

    root, _ = kth_root
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = load_config(os.path.join(repo, "configs", f"{name}.yaml"), [f"data.root={root}"])
    m = cfg.model
    assert (m.backbone, m.channels, m.z_dim, m.g_dim, m.n_past) == ("vgg64", 1, 24, 128, 10)
    assert (cfg.data.name, cfg.data.n_future, cfg.data.eval_n_future, cfg.train.lr) == ("kth", 10, 30, 8e-4)
    assert m.likelihood.name == likelihood and (likelihood != "mse" or m.likelihood.mse_beta == 1e-6)
    test = make_dataset(cfg.data, "test", m.n_past + cfg.data.eval_n_future)   # its options are valid
    assert test[0].shape == (40, 1, 64, 64)
    assert {v.person for v in make_dataset(cfg.data, "val", 20).videos} == {20}

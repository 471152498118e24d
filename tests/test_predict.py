"""``svg predict`` and ``svg.Predictor`` on a tiny trained run: every input kind, outputs, errors."""
import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from clip_files import HEIGHT, WIDTH, expected_fit, moving_rect, write_video
from core.errors import UserError
from svg.cli import main
from tiny_runs import TINY

N_PAST, SIZE = 2, 64   # TINY's model.n_past; moving_squares' dcgan64


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", "--no-progress", *TINY, "train.steps_per_epoch=2", f"run_dir={run}"]) == 0
    return run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """name → (path, raw frames (T, H, W, C) uint8 as a reader independent of ours sees them)."""
    d = tmp_path_factory.mktemp("inputs")
    rgb, grey = moving_rect(8), moving_rect(6)[..., :1]
    for name, fmt, codec in (("walk.mp4", "mp4", "libx264"), ("walk2.avi", "avi", "mpeg4")):
        write_video(str(d / name), rgb, fmt, codec)
    (d / "frames").mkdir()
    for t in range(len(grey)):
        imageio.imwrite(d / "frames" / f"f{t + 1}.png", grey[t, ..., 0])
    imageio.mimsave(d / "loop.gif", list(grey[..., 0]), duration=100, loop=0)
    np.save(d / "clips.npy", np.stack([rgb[:5], rgb[3:]]))             # (N, T, H, W, 3)
    return {"walk": (d / "walk.mp4", iio.imread(d / "walk.mp4", plugin="pyav")),
            "walk2": (d / "walk2.avi", iio.imread(d / "walk2.avi", plugin="pyav")),
            "frames": (d / "frames", grey), "loop": (d / "loop.gif", grey),
            "clips_0": (d / "clips.npy", rgb[:5]), "clips_1": (d / "clips.npy", rgb[3:])}


def predict(run_dir, out, *args):
    return main(["predict", "--run", str(run_dir), "--out", str(out), "--device", "cpu", *args])


def test_every_input_kind(run_dir, inputs, tmp_path):
    paths = sorted({str(p) for p, _ in inputs.values()})
    assert predict(run_dir, tmp_path, *paths, "--n-future", "3", "--n-samples", "2") == 0
    for name, (path, raw) in inputs.items():
        saved = np.load(tmp_path / f"{name}.pred.npz")
        samples = saved["samples"]
        assert samples.shape == (2, N_PAST + 3, SIZE, SIZE, 1) and samples.dtype == np.uint8, name
        want = expected_fit(raw[-N_PAST:], SIZE, 1)
        assert np.abs(samples[:, :N_PAST].astype(float) - want).max() <= 1, name
        assert (samples[0, :N_PAST] == samples[1, :N_PAST]).all()        # one context for all
        assert str(saved["input"]) == str(path) and int(saved["start"]) == len(raw) - N_PAST
        assert (int(saved["n_past"]), int(saved["n_future"]), int(saved["n_samples"])) == (2, 3, 2)
        assert int(saved["step"]) == 2 and str(saved["checkpoint"]).endswith("best.pt")
        with Image.open(tmp_path / f"{name}.pred.gif") as gif:
            # 2 labelled columns of (64 + 4)·2 pixels, under a 14-pixel label row
            assert (gif.height, gif.width) == (14 + 136, 2 * 136)
            # context then future at 4 fps (Pillow merges identical neighbouring frames into one)
            durations = [gif.info["duration"] for _ in ImageSequence.Iterator(gif)]
        assert sum(durations) == (N_PAST + 3) * 250
    assert int(np.load(tmp_path / "clips_1.pred.npz")["clip"]) == 1


def test_start_squash_and_defaults(run_dir, inputs, tmp_path):
    path, raw = inputs["clips_0"]
    assert predict(run_dir, tmp_path, str(path), "--start", "1", "--n-past", "3",
                   "--resize", "squash", "--seed", "7") == 0
    saved = np.load(tmp_path / "clips_0.pred.npz")
    # defaults: one sample of the run's data.eval_n_future (20) frames
    assert saved["samples"].shape == (1, 3 + 20, SIZE, SIZE, 1)
    want = expected_fit(raw[1:4], SIZE, 1, "squash")
    assert np.abs(saved["samples"][0, :3].astype(float) - want).max() <= 1
    assert (int(saved["start"]), int(saved["seed"]), str(saved["resize"])) == (1, 7, "squash")


def error_of(capsys, rc):
    assert rc == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("svg predict: error: ") and "Traceback" not in "\n".join(err)
    return err[0]


def test_user_errors_are_one_line(run_dir, inputs, tmp_path, capsys):
    short = tmp_path / "short.npy"
    np.save(short, moving_rect(1))
    assert "short.npy: 1 frames; 2 context frames (--n-past) need at least 2" in error_of(
        capsys, predict(run_dir, tmp_path, str(short)))
    clip = str(inputs["walk"][0])
    assert "need at least 9" in error_of(capsys, predict(run_dir, tmp_path, clip, "--start", "7"))
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"RIFF garbage" * 20)
    assert "junk.avi: cannot be read as a video" in error_of(capsys, predict(run_dir, tmp_path, str(junk)))
    empty = tmp_path / "no_checkpoint"
    empty.mkdir()
    assert "holds no checkpoint" in error_of(capsys, predict(empty, tmp_path, clip))
    for option, value in (("--n-samples", "0"), ("--n-future", "0"), ("--n-past", "0"), ("--start", "-1")):
        assert f"{option} {value}: must be at least" in error_of(
            capsys, predict(run_dir, tmp_path, clip, option, value))
    other = tmp_path / "elsewhere"
    other.mkdir()
    np.save(other / "walk.npy", moving_rect(3))
    assert "would both be written as walk.pred.gif" in error_of(
        capsys, predict(run_dir, tmp_path / "out", clip, str(other / "walk.npy")))
    assert not (tmp_path / "out").exists()     # checked before anything is written


@pytest.fixture(scope="module")
def predictor(run_dir):
    from svg import Predictor

    return Predictor.from_run(str(run_dir), device="cpu")


def test_predictor_on_numpy_and_tensors(predictor):
    assert (predictor.image_size, predictor.channels, predictor.n_past) == (SIZE, 1, N_PAST)
    frames = moving_rect(5)                                              # (T, H, W, 3) uint8
    out = predictor.predict(frames, n_future=4, n_samples=3, seed=1)
    assert out.shape == (3, N_PAST + 4, 1, SIZE, SIZE) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    want = expected_fit(frames[-N_PAST:], SIZE, 1) / 255                 # (K, S, S, 1)
    assert np.abs(out[:, :N_PAST].permute(0, 1, 3, 4, 2).numpy() - want).max() <= 1 / 255 + 1e-6
    tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255   # (T, 3, H, W)
    out = predictor.predict(tensor, n_future=2, seed=1)
    want = expected_fit(frames[-N_PAST:].astype(np.float32) / 255, SIZE, 1)
    assert out.shape == (1, N_PAST + 2, 1, SIZE, SIZE)
    assert np.abs(out[0, :N_PAST].permute(0, 2, 3, 1).numpy() - want).max() < 1e-3
    fitting = torch.rand(3, 1, SIZE, SIZE)                               # already the model's size
    assert torch.equal(predictor.predict(fitting, 1)[0, :N_PAST], fitting[-N_PAST:])
    grey = frames[..., 0]                                                # (T, H, W)
    assert predictor.predict(grey, 1).shape == (1, N_PAST + 1, 1, SIZE, SIZE)


def test_predictor_seeds_and_errors(predictor):
    frames = moving_rect(4)
    a, b = (predictor.predict(frames, 2, n_samples=2, seed=3) for _ in range(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, predictor.predict(frames, 2, n_samples=2, seed=4))
    with pytest.raises(UserError, match="the clip has 1 frames; it needs at least n_past = 2"):
        predictor.predict(frames[:1], 3)
    with pytest.raises(UserError, match="n_samples = 0: must be a whole number of at least 1"):
        predictor.predict(frames, 3, n_samples=0)
    with pytest.raises(UserError, match=r"float frames must lie in \[0, 1\]"):
        predictor.predict(torch.full((2, 3, 8, 8), 2.0), 3)
    assert WIDTH != HEIGHT


def test_a_folder_of_videos_is_named_as_such(run_dir, inputs, tmp_path, capsys):
    # it said "no frame images in this folder", which names neither the cause nor the fix
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.avi"):
        (folder / name).write_bytes(inputs["walk"][0].read_bytes())
    line = error_of(capsys, predict(run_dir, tmp_path / "out", str(folder)))
    assert f"{folder} is a folder of 2 video(s) (a.mp4, b.avi), not of frame images" in line
    assert f"give the videos themselves as inputs, e.g. {folder}/*" in line

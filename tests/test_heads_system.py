"""A motion head through the whole system: training with EMA, exact resume, the run folder's
pictures of mask and flow, checkpoints that record the head, export, evaluate, generate, predict
and ``Predictor``."""
import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from svg import Predictor
from svg.cli import main
from svg.checkpoints import latest_checkpoint, load_model
from svg.train.loop import train
from tiny_runs import tiny

HEAD = ["model.head=warp", "train.ema=0.9", "train.gif_every=2"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "warp"
    summary = train(tiny(run, 4, *HEAD), progress=False)
    assert summary["step"] == 4
    return run


def test_the_run_folder_and_tensorboard_show_mask_and_flow(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for name in ("gifs/step_000000002_head.png", "gifs/step_000000004_head.png", "rollouts_head.png"):
        img = imageio.imread(run_dir / name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.std() > 0, name
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert set(events.Tags()["images"]) == {"rollouts", "head"}
    assert [e.step for e in events.Images("head")] == [2, 4]


def test_a_checkpoint_records_its_head_and_loads_with_it(run_dir):
    saved = torch.load(latest_checkpoint(str(run_dir)), weights_only=False)
    assert saved["config"]["model"]["head"] == "warp"
    model, cfg, _, _ = load_model(str(run_dir), torch.device("cpu"))
    assert cfg.model.head == model.cfg.head == "warp"
    assert model.decoder.out.out_channels == 1 + 3       # frame, mask, flow x and y


def test_resume_with_a_head_is_bitwise_identical(run_dir, tmp_path):
    train(tiny(tmp_path / "b", 2, *HEAD), progress=False)
    train(tiny(tmp_path / "b", 4, *HEAD), progress=False)
    a = torch.load(latest_checkpoint(str(run_dir)), weights_only=False)
    b = torch.load(latest_checkpoint(str(tmp_path / "b")), weights_only=False)
    for x, y in ((a["model"], b["model"]), (a["ema"]["model"], b["ema"]["model"])):
        assert x.keys() == y.keys()
        for k in x:
            assert torch.equal(x[k], y[k]), k


def test_export_evaluate_generate_and_predict(run_dir, tmp_path, capsys):
    out = tmp_path / "warp.pt"
    assert main(["export", "--run", str(run_dir), str(out)]) == 0
    exported, cfg, _, _ = load_model(str(out), torch.device("cpu"))
    assert cfg.model.head == "warp"
    assert main(["evaluate", "--run", str(out), "--max-videos", "2", "--n-samples", "2",
                 "--lpips", "none", "--device", "cpu", "--out", str(tmp_path / "eval")]) == 0
    assert (tmp_path / "eval" / "metrics.json").exists()
    assert main(["generate", "--run", str(out), "--max-videos", "1", "--device", "cpu",
                 "--out", str(tmp_path / "videos")]) == 0
    assert list((tmp_path / "videos").iterdir())
    clip = tmp_path / "clip"
    clip.mkdir()
    frames = (np.random.default_rng(0).random((4, 64, 64)) * 255).astype(np.uint8)
    imageio.mimsave(clip / "in.gif", list(frames), duration=100, loop=0)
    assert main(["predict", "--run", str(out), str(clip / "in.gif"), "--device", "cpu",
                 "--out", str(tmp_path / "pred")]) == 0
    assert list((tmp_path / "pred").iterdir())
    future = Predictor.from_run(str(out), device="cpu").predict(frames[:2], n_future=3, seed=0)
    assert future.shape[:2] == (1, 2 + 3) and torch.isfinite(future).all()

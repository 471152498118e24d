"""The training loop: outputs, TensorBoard, exact resume (also after kill -9), faults, torchrun."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from svg.checkpoints import latest_checkpoint, list_checkpoints
from svg.config import load_config
from svg.train.loop import TrainingDiverged, train
from tiny_runs import REPO, TINY as TINY_RUN, kill_9_then_rerun, tiny as tiny_run

TINY = TINY_RUN + ["train.gif_every=3"]   # rollout GIFs within the short runs


def tiny(run_dir, steps=6, *extra):
    return tiny_run(run_dir, steps, "train.gif_every=3", *extra)


def final_weights(run_dir):
    return torch.load(latest_checkpoint(str(run_dir)), weights_only=False)["model"]


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_run_writes_checkpoints_gifs_tensorboard_and_summary(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    summary = train(tiny(run), progress=False)
    assert summary["step"] == 6 and summary["stopped_by"] is None
    assert set(summary["metrics"]) == {"psnr", "ssim", "lpips"}
    assert summary["protocol"]["n_samples"] == 10 and summary["protocol"]["split"] == "test"
    assert json.loads((run / "summary.json").read_text()) == summary
    assert load_config(str(run / "config.yaml")) == tiny(run)
    assert [os.path.basename(p) for p in list_checkpoints(str(run))] == [
        "ckpt_000000002.pt", "ckpt_000000004.pt", "ckpt_000000006.pt"]
    assert (run / "best.pt").exists()
    assert sorted(os.listdir(run / "gifs")) == ["step_000000003.gif", "step_000000006.gif"]
    import imageio.v2 as imageio
    assert len(imageio.mimread(run / "rollouts.gif")) == 4            # n_past + n_future frames
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    for tag in ("loss", "nll_per_dim", "kl", "sigma", "effective_beta", "lr", "grad_norm",
                "sequences_per_s"):
        assert f"train/{tag}" in tags
    assert {"val/loss", "val/nll_per_dim", "val/kl"} <= tags
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4, 5, 6]
    assert events.Tags()["images"] == ["rollouts"]


def test_resume_is_bitwise_identical(tmp_path):
    train(tiny(tmp_path / "a", 6), progress=False)
    train(tiny(tmp_path / "b", 6, "train.epochs=1", "train.steps_per_epoch=4"), progress=False)
    # The same run folder with a longer schedule continues from step 4.
    cfg = tiny(tmp_path / "b", 6)
    summary = train(cfg, progress=False)
    assert summary["step"] == 6
    assert_bitwise_equal(final_weights(tmp_path / "a"), final_weights(tmp_path / "b"))


def test_resume_after_kill_9_is_bitwise_identical(tmp_path):
    train(tiny(tmp_path / "ref", 8), progress=False)
    kill_9_then_rerun(tmp_path / "killed", 8, 4)
    assert_bitwise_equal(final_weights(tmp_path / "ref"), final_weights(tmp_path / "killed"))


def test_sigint_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY,
            "train.steps_per_epoch=100000", "train.ckpt_every=100000", f"run_dir={run}"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "tensorboard").exists() or not os.listdir(run / "tensorboard"):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "stopped by SIGINT" in err and "; checkpoint saved, resume by re-running" in err
    # the closing line lists only what exists: no rollouts.gif or summary metrics after a stop
    assert "rollouts.gif" not in err.strip().splitlines()[-1] and not (run / "rollouts.gif").exists()
    ckpt = latest_checkpoint(str(run))
    step = torch.load(ckpt, weights_only=False)["step"]
    assert 0 < step < 100000
    assert json.loads((run / "summary.json").read_text())["stopped_by"] == "SIGINT"


def test_non_finite_losses_skip_then_stop(tmp_path, monkeypatch, caplog):
    from models import svg_lp as model_module
    real_loss = model_module.SVG.loss
    calls = {"n": 0}

    def flaky(self, x, eps=None, generator=None):
        out = real_loss(self, x, eps, generator)
        calls["n"] += 1
        if self.training and calls["n"] in (2,) or calls["n"] >= 5:
            out.total = out.total * float("nan")
        return out

    monkeypatch.setattr(model_module.SVG, "loss", flaky)
    with pytest.raises(TrainingDiverged, match="3 consecutive non-finite steps at step 7; nothing was "
                                               "saved from the diverged state, and no checkpoint"):
        train(tiny(tmp_path / "run", 20, "train.max_nonfinite=3", "train.ckpt_every=100"), progress=False)
    assert "non-finite loss or gradient (1 in a row); step skipped" in caplog.text
    assert latest_checkpoint(str(tmp_path / "run")) is None     # nothing written from poisoned state


@pytest.mark.parametrize("data", ["smmnist", "mmnist", "bair", "kth"])
def test_a_few_steps_on_each_dataset_type(tmp_path, data):
    import numpy as np
    rng = np.random.default_rng(0)
    extra = ["data.name=" + data]
    if data == "mmnist":
        frames = rng.integers(0, 256, (20, 30, 64, 64), dtype=np.uint8)
        np.save(tmp_path / "mnist_test_seq.npy", frames)
        extra += [f"data.root={tmp_path}", "data.options={split_at: 20, val_videos: 5}"]
    if data == "bair":
        from svg.testing.bair_records import write_tfrecords
        for split in ("train", "test"):
            os.makedirs(tmp_path / split)
            video = rng.integers(0, 256, (3, 30, 64, 64, 3), dtype=np.uint8)
            write_tfrecords(str(tmp_path / split / "traj.tfrecords"), video, video,
                            np.zeros((3, 30, 4), np.float32), np.zeros((3, 30, 3), np.float32))
        extra += [f"data.root={tmp_path}", "model.channels=3", "data.options={val_videos: 1}"]
    if data == "kth":
        from svg.testing.kth_videos import write_video
        for person in (1, 20, 21):   # train, val, test
            os.makedirs(tmp_path / "boxing", exist_ok=True)
            write_video(str(tmp_path / "boxing" / f"person{person:02d}_boxing_d1_uncomp.avi"),
                        rng.integers(0, 256, (40, 120, 160), dtype=np.uint8))
        extra += [f"data.root={tmp_path}"]
    summary = train(tiny(tmp_path / "run", 2, *extra), progress=False)
    assert summary["step"] == 2 and summary["protocol"]["dataset"] == data


def test_resume_with_another_model_config_names_the_keys(tmp_path):
    train(tiny(tmp_path / "run", 2), progress=False)
    with pytest.raises(ValueError, match=r"model.g_dim: checkpoint 16 vs config 32"):
        train(tiny(tmp_path / "run", 4, "model.g_dim=32"), progress=False)


def test_bad_training_config(tmp_path):
    with pytest.raises(ValueError, match="train.amp=fp32 is out of range: it must be one of none, bf16, fp16, auto"):
        train(tiny(tmp_path / "r", 2, "train.amp=fp32"), progress=False)
    with pytest.raises(ValueError, match="fp16 needs CUDA"):
        train(tiny(tmp_path / "r", 2, "train.amp=fp16", "train.device=cpu"), progress=False)


@pytest.mark.parametrize("head", ["pixels", "warp"])
def test_bf16_autocast_on_cpu_trains(tmp_path, head):
    summary = train(tiny(tmp_path / "r", 2, "train.amp=bf16", f"model.head={head}"), progress=False)
    assert summary["step"] == 2
    assert all(torch.isfinite(v).all() for v in final_weights(tmp_path / "r").values()
               if v.is_floating_point())


@pytest.mark.parametrize("sync_bn", [False, True])
def test_torchrun_two_processes_stay_in_sync(tmp_path, sync_bn):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           f"--master_port={29533 + sync_bn}", os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY,
           "train.steps_per_epoch=4", "train.device=cpu", f"train.sync_batchnorm={sync_bn}", f"run_dir={run}",
           "train.ema=0.9", "train.lr_schedule=cosine", "train.lr_warmup=1", "model.head=warp"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if sync_bn:   # train.device=cpu here
        assert proc.returncode != 0 and "sync_batchnorm=true needs CUDA" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["ranks_in_sync"] is True and len(summary["rank_checksums"]) == 2
    assert len(set(summary["ema_rank_checksums"])) == 1   # every rank holds the same average
    assert summary["step"] == 4
    # Only rank 0 writes: one TensorBoard file.
    assert len(os.listdir(run / "tensorboard")) == 1
    state = torch.load(latest_checkpoint(str(run)), weights_only=False)["model"]
    # SyncBatchNorm keeps BatchNorm's state-dict keys, so the checkpoint loads either way
    assert any(k.endswith("running_mean") for k in state)
    assert "SyncBatchNorm across" not in (run / "train.log").read_text()   # plain BatchNorm per rank

"""Config merging and errors; atomic checkpoints with pruning, best tracking and config checks."""
import dataclasses
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from core.atomic_files import remove_stale_temporaries
from svg.checkpoints import atomic_save, latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from svg.config import Config, ModelConfig, config_to_yaml, load_config


def test_yaml_then_command_line_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("model:\n  backbone: vgg64\n  channels: 3\ntrain:\n  lr: 0.01\n  batch_size: 8\n")
    cfg = load_config(str(f), ["train.lr=0.5", "model.likelihood.axes=frame"])
    assert isinstance(cfg, Config)
    assert (cfg.model.backbone, cfg.model.channels, cfg.train.batch_size) == ("vgg64", 3, 8)
    assert cfg.train.lr == 0.5 and cfg.model.likelihood.axes == "frame"
    assert cfg.model.g_dim == 128                       # untouched default
    again = tmp_path / "again.yaml"
    again.write_text(config_to_yaml(cfg))
    assert load_config(str(again)) == cfg               # the written config round-trips


def test_config_errors_name_the_key_and_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown config key 'train.lrr' in the command line; "
                                         r"valid keys here: epochs, .*lr,"):
        load_config(None, ["train.lrr=1"])
    f = tmp_path / "bad.yaml"
    f.write_text("model:\n  likelihood:\n    axis: frame\n")
    with pytest.raises(ValueError, match=rf"'model.likelihood.axis' in {f}.*axes"):
        load_config(str(f))
    with pytest.raises(ValueError, match="'train.batch_size'.*could not be converted"):
        load_config(None, ["train.batch_size=ten"])
    with pytest.raises(ValueError, match="key=value"):
        load_config(None, ["train.lr"])
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(str(tmp_path / "nope.yaml"))


def test_keep_last_and_best(tmp_path):
    cfg = dataclasses.asdict(Config())
    for step, val in [(10, 5.0), (20, 3.0), (30, 4.0), (40, None)]:
        save_checkpoint(str(tmp_path), {"model": {}, "config": cfg}, step, keep_last=2, val_loss=val)
    names = [os.path.basename(p) for p in list_checkpoints(str(tmp_path))]
    assert names == ["ckpt_000000030.pt", "ckpt_000000040.pt"]
    assert latest_checkpoint(str(tmp_path)).endswith("ckpt_000000040.pt")
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    assert (best["step"], best["val_loss"]) == (20, 3.0)


def test_checkpoint_config_mismatch_is_named(tmp_path):
    cfg = dataclasses.asdict(Config())
    path = save_checkpoint(str(tmp_path), {"model": {}, "config": cfg}, 1, keep_last=1)
    load_checkpoint(path, ModelConfig())
    with pytest.raises(ValueError, match=r"model.backbone: checkpoint 'dcgan64' vs config 'vgg64'"):
        load_checkpoint(path, ModelConfig(backbone="vgg64"))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(str(tmp_path / "missing.pt"))


def test_crash_while_writing_never_leaves_a_loadable_partial_file(tmp_path):
    """A process killed in the middle of torch.save leaves the previous checkpoint as latest."""
    good = save_checkpoint(str(tmp_path), {"model": {"w": torch.zeros(3)}, "config": {}}, 1, 5)
    script = textwrap.dedent(f"""
        import os, torch
        from svg import checkpoints as checkpoint
        real_save = torch.save
        def dying_save(obj, f):
            real_save(obj, f)
            f.flush()
            os._exit(9)          # killed after writing the bytes, before fsync and rename
        torch.save = dying_save
        checkpoint.save_checkpoint({str(tmp_path)!r}, {{"model": {{"w": torch.ones(10**6)}},
                                   "config": {{}}}}, 2, 5)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == 9, proc.stderr.decode()
    assert latest_checkpoint(str(tmp_path)) == good
    assert torch.equal(torch.load(good, weights_only=False)["model"]["w"], torch.zeros(3))
    leftovers = [p for p in os.listdir(tmp_path) if p.startswith(".")]
    assert leftovers                                  # the partial temp file is there, unlisted
    assert list_checkpoints(str(tmp_path)) == [good]
    # the next run removes the dead writer's leftover, but not a live writer's temporary file
    live = tmp_path / f".ckpt_000000003.pt.tmp-{os.getpid()}"
    live.write_bytes(b"partial")
    assert remove_stale_temporaries(str(tmp_path)) == [str(tmp_path / leftovers[0])]
    assert sorted(os.listdir(tmp_path)) == [live.name, os.path.basename(good)]


def test_atomic_save_replaces_whole_file(tmp_path):
    p = tmp_path / "x.pt"
    atomic_save({"a": 1}, str(p))
    atomic_save({"a": 2}, str(p))
    assert torch.load(p, weights_only=False) == {"a": 2}
    assert os.listdir(tmp_path) == ["x.pt"]


@pytest.mark.parametrize("override, named", [
    ("train.lr=-1", "train.lr=-1.0 is out of range: it must be > 0 and finite"),
    ("train.lr=0", "train.lr=0.0 is out of range"),
    ("model.beta=-0.5", "model.beta=-0.5 is out of range: it must be >= 0"),
    ("model.n_past=0", "model.n_past=0 is out of range: it must be >= 1"),
    ("data.n_future=0", "data.n_future=0 is out of range: it must be >= 1"),
    ("data.eval_n_future=0", "data.eval_n_future=0 is out of range"),
    ("train.batch_size=0", "train.batch_size=0 is out of range: it must be >= 1"),
    ("train.steps_per_epoch=-3", "train.steps_per_epoch=-3 is out of range"),
    ("train.beta1=1.0", "train.beta1=1.0 is out of range: it must be in [0, 1)"),
    ("train.grad_clip=0", "train.grad_clip=0.0 is out of range"),
])
def test_values_out_of_range_are_refused_naming_the_key_and_range(override, named):
    with pytest.raises(ValueError) as e:
        load_config(None, [override])
    assert str(e.value) == named or str(e.value).startswith(named)


def test_a_negative_learning_rate_is_one_line_from_the_command(tmp_path, capsys):
    from svg.cli import main

    assert main(["train", "train.lr=-1", f"run_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("svg train: error: train.lr=-1.0 is out of range") and "Traceback" not in err
    assert not (tmp_path / "run").exists()

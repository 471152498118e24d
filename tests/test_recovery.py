"""Runs that recover by themselves: skipped steps leave no trace, divergence, corrupt checkpoints,
changed settings on resume, failures mid-run. Driven through the CLI where a user would be."""
import json
import os

import pytest
import torch

from svg import SVG, ModelConfig
from svg.checkpoints import latest_checkpoint, list_checkpoints
from svg.config import load_config
from svg.train.step import train_step
from svg.train.loop import train
from tiny_runs import cli_train, tiny

def test_a_skipped_step_leaves_no_trace():
    torch.manual_seed(0)
    model = SVG(ModelConfig(width=8, g_dim=16, z_dim=4, rnn_size=16, n_past=2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    x = torch.rand(3, 4, 1, 64, 64)
    train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(0))   # optimizer has state
    before = ({k: v.clone() for k, v in model.state_dict().items()},
              {k: v.clone() for k, v in opt.state_dict()["state"][0].items()})
    real_loss = SVG.loss

    def nan_loss(self, x, eps=None, generator=None):
        out = real_loss(self, x, eps, generator)       # runs BatchNorm and σ updates for real
        out.total = out.total * float("nan")
        return out

    SVG.loss = nan_loss
    try:
        stats = train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(1))
    finally:
        SVG.loss = real_loss
    assert stats.skipped
    after = model.state_dict()
    for k, v in before[0].items():   # BatchNorm running statistics and σ² running average included
        assert torch.equal(v, after[k]), k
    for k, v in before[1].items():
        assert torch.equal(v, opt.state_dict()["state"][0][k]), k
    assert all(p.grad is None for p in model.parameters())


def test_grad_clip_bounds_the_gradient_norm():
    torch.manual_seed(0)
    model = SVG(ModelConfig(width=8, g_dim=16, z_dim=4, rnn_size=16, n_past=2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    stats = train_step(model, model, opt, scaler, torch.rand(3, 4, 1, 64, 64), torch.Generator(),
                       grad_clip=1e-3)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert stats.grad_norm > 1e-3                          # the reported norm is before clipping
    assert norm.item() == pytest.approx(1e-3, rel=1e-4)


def test_diverged_run_is_rescued_by_rerunning_with_a_lower_lr(tmp_path):
    run = tmp_path / "run"
    first = cli_train(run, 12, "train.lr=1e8", "train.max_nonfinite=3")
    assert first.returncode != 0
    assert "consecutive non-finite steps" in first.stderr and "nothing was saved" in first.stderr
    assert list_checkpoints(str(run)) == []                # no checkpoint of the poisoned state
    again = cli_train(run, 6, "train.lr=1e-3")
    assert again.returncode == 0, again.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 6 and all(v["mean"] == v["mean"] for v in summary["metrics"].values())
    assert "train.log" in os.listdir(run)
    log_text = (run / "train.log").read_text()
    # appended across both sessions: the first one's skipped steps, then two starts from step 0
    assert "step skipped" in log_text and log_text.count("starting from step 0 of") == 2


def test_truncated_latest_checkpoint_falls_back_to_the_older_one(tmp_path, caplog):
    run = tmp_path / "run"
    train(tiny(run, 4), progress=False)
    latest = latest_checkpoint(str(run))
    assert latest.endswith("ckpt_000000004.pt")
    with open(latest, "r+b") as f:
        f.truncate(os.path.getsize(latest) // 2)
    summary = train(tiny(run, 6), progress=False)
    assert summary["step"] == 6
    assert os.path.exists(latest + ".corrupt")               # moved aside, not deleted
    assert "ckpt_000000004.pt cannot be read" in caplog.text and "resuming from" in caplog.text
    assert "ckpt_000000002.pt at step 2" in caplog.text


def test_no_intact_checkpoint_names_every_file(tmp_path):
    run = tmp_path / "run"
    train(tiny(run, 4), progress=False)
    for p in list_checkpoints(str(run)):
        with open(p, "wb") as f:
            f.write(os.urandom(100))
    with pytest.raises(ValueError, match=r"no intact checkpoint .*ckpt_000000004.pt.*ckpt_000000002.pt"):
        train(tiny(run, 6), progress=False)


def test_changed_settings_are_listed_recorded_and_refused_when_strict(tmp_path, caplog):
    run = tmp_path / "run"
    train(tiny(run, 2), progress=False)
    original = (run / "config.yaml").read_text()
    with pytest.raises(ValueError, match=r"strict-resume.*data.options.length: '<missing>' → 500"):
        train(tiny(run, 4, "data.options={length: 500}"), progress=False, strict_resume=True)
    train(tiny(run, 4, "data.options={length: 500}", "train.lr=0.001"), progress=False)
    assert "data.options.length: '<missing>' → 500" in caplog.text
    assert "train.lr: 0.002 → 0.001" in caplog.text
    assert (run / "config.yaml").read_text() == original     # never overwritten
    session = (run / "config.000000002.yaml").read_text()
    assert session.startswith("# resumed from") and "#   data.options.length: '<missing>' → 500" in session
    assert load_config(str(run / "config.000000002.yaml")).data.options == {"length": 500}


def test_resume_from_an_earlier_checkpoint_sets_later_ones_aside(tmp_path):
    run = tmp_path / "run"
    train(tiny(run, 6, "train.keep_last=5"), progress=False)
    early = str(run / "ckpt_000000002.pt")
    summary = train(tiny(run, 4, "train.lr=0.001"), progress=False, resume_from=early)
    assert summary["step"] == 4
    assert os.path.exists(run / "ckpt_000000006.pt.superseded")
    assert "ckpt_000000006.pt" not in os.listdir(run)
    assert (run / "config.000000002.yaml").exists()


def test_resume_with_a_smaller_keep_last_warns_before_deleting_checkpoints(tmp_path, caplog):
    run = tmp_path / "run"
    train(tiny(run, 6, "train.keep_last=5"), progress=False)          # ckpt 2, 4, 6
    train(tiny(run, 8, "train.keep_last=3"), progress=False)          # the usual rotation: no warning
    assert "the next checkpoint deletes" not in caplog.text
    assert [os.path.basename(p) for p in list_checkpoints(str(run))] == [
        "ckpt_000000004.pt", "ckpt_000000006.pt", "ckpt_000000008.pt"]
    train(tiny(run, 10, "train.keep_last=1"), progress=False)
    assert (f"{run} holds 3 checkpoints but train.keep_last is 1: the next checkpoint deletes the 3 "
            "oldest (ckpt_000000004.pt to ckpt_000000008.pt)") in caplog.text
    assert [os.path.basename(p) for p in list_checkpoints(str(run))] == ["ckpt_000000010.pt"]


def test_a_failure_mid_run_saves_the_last_good_step_first(tmp_path, monkeypatch):
    from svg.train import batches as data_module

    real = data_module.StepSeeded._seeded_item

    def failing(self, key):
        if key[0] == 3:      # the batch of step 4
            raise OSError("disk vanished while reading a record")
        return real(self, key)

    monkeypatch.setattr(data_module.StepSeeded, "_seeded_item", failing)
    run = tmp_path / "run"
    with pytest.raises(OSError, match="disk vanished"):
        train(tiny(run, 10, "train.ckpt_every=100"), progress=False)
    assert [os.path.basename(p) for p in list_checkpoints(str(run))] == ["ckpt_000000003.pt"]
    monkeypatch.undo()
    assert train(tiny(run, 5), progress=False)["step"] == 5


def test_a_skipped_step_with_a_gradient_scaler_lets_the_next_step_run():
    """fp16 (an enabled GradScaler; on a CPU here): a non-finite loss is skipped and the scaler
    backs off, and the next step runs instead of failing on an unfinished unscale_."""
    torch.manual_seed(0)
    model = SVG(ModelConfig(width=8, g_dim=16, z_dim=4, rnn_size=16, n_past=2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=True, init_scale=2.0 ** 8)
    x = torch.rand(3, 4, 1, 64, 64)
    real_loss = SVG.loss

    def nan_loss(self, x, eps=None, generator=None):
        out = real_loss(self, x, eps, generator)
        out.total = out.total * float("nan")
        return out

    SVG.loss = nan_loss
    try:
        assert train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(1)).skipped
    finally:
        SVG.loss = real_loss
    assert scaler.get_scale() < 2.0 ** 8                     # backed off after the overflow
    assert not train_step(model, model, opt, scaler, x, torch.Generator().manual_seed(2)).skipped

"""``svg export``: a run's model as one small file that every command loads like a run folder."""
import os

import numpy as np
import pytest
import torch

from svg.cli import main
from svg.checkpoints import load_checkpoint, load_model
from tiny_runs import TINY


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", "--no-progress", *TINY, "train.steps_per_epoch=2", f"run_dir={run}"]) == 0
    return run


def test_half_export_is_small_and_close(run_dir, tmp_path):
    out = tmp_path / "model.pt"
    assert main(["export", "--run", str(run_dir), str(out)]) == 0
    src = load_checkpoint(str(run_dir / "best.pt"))
    assert os.path.getsize(out) < os.path.getsize(run_dir / "best.pt") / 2   # no optimiser, half
    saved = torch.load(out, weights_only=False)
    assert "optimizer" not in saved and saved["weights_dtype"] == "float16"
    exported, cfg, _, step = load_model(str(out), torch.device("cpu"))
    assert step == src["step"] and cfg.model == load_model(str(run_dir), torch.device("cpu"))[1].model
    for name, v in exported.state_dict().items():
        ref = src["model"][name]
        assert v.dtype == ref.dtype   # back to float32 in the model
        if ref.is_floating_point():   # float16 keeps 11 significant bits (normal range)
            np.testing.assert_allclose(v.numpy(), ref.numpy(), rtol=2.0 ** -11, atol=2.0 ** -24)
        else:
            assert torch.equal(v, ref)


def test_fp32_export_is_exact_and_evaluates(run_dir, tmp_path):
    out = tmp_path / "model32.pt"
    assert main(["export", "--run", str(run_dir), str(out), "--fp32"]) == 0
    a, _, _, _ = load_model(str(out), torch.device("cpu"))
    b, _, _, _ = load_model(str(run_dir), torch.device("cpu"))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert main(["evaluate", "--run", str(out), "--max-videos", "2", "--n-samples", "2", "--lpips", "none",
                 "--device", "cpu", "--out", str(tmp_path / "eval")]) == 0
    assert (tmp_path / "eval" / "metrics.json").exists()


def test_export_of_nothing_is_a_plain_error(tmp_path, capsys):
    assert main(["export", "--run", str(tmp_path), str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err
    assert "holds no checkpoint" in err and "Traceback" not in err
    assert not (tmp_path / "x.pt").exists()


def test_weights_beyond_float16_name_the_option_that_keeps_them(run_dir, tmp_path, capsys):
    ckpt = torch.load(run_dir / "best.pt", weights_only=False)
    name = next(k for k, v in ckpt["model"].items() if v.is_floating_point())
    ckpt["model"][name] = ckpt["model"][name] + 1e5   # float16 tops out at 65504
    torch.save(ckpt, tmp_path / "big.pt")
    assert main(["export", "--run", str(tmp_path / "big.pt"), str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"svg export: error: {tmp_path / 'big.pt'}: some weights overflow float16; export them with --fp32"
    assert not (tmp_path / "x.pt").exists()
    assert main(["export", "--run", str(tmp_path / "big.pt"), str(tmp_path / "x.pt"), "--fp32"]) == 0

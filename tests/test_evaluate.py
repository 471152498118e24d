"""svg evaluate / svg generate on a tiny trained run: report fields, files, errors."""
import csv
import json

import imageio.v2 as imageio
import pytest
import torch

from eval_fvd import FeatureStats
from svg.cli import evaluate as cli_evaluate
from svg.checkpoints import latest_checkpoint
from svg.cli import main
from svg.cli.evaluate import evaluate_run
from svg.cli.generate import write_rollouts
from svg.config import EvalConfig, load_config
from svg.train.loop import train

TINY = ["data.name=moving_squares", "data.num_workers=0", "data.n_future=2", "data.eval_n_future=3",
        "model.n_past=2", "model.width=8", "model.g_dim=16", "model.z_dim=4", "model.rnn_size=16",
        "train.batch_size=4", "train.val_batches=1", "train.epochs=1", "train.steps_per_epoch=2",
        "train.gif_every=100"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tiny"
    train(load_config(None, TINY + [f"run_dir={run}"]), progress=False)
    return run


def evaluate(run, out_dir=None, progress=False, **kw):
    return evaluate_run(run, EvalConfig(**kw), out_dir=out_dir, progress=progress)


def test_evaluate_writes_report_with_protocol(run_dir, tmp_path):
    rep = evaluate(str(run_dir), n_samples=4, max_videos=5, batch_size=2, out_dir=str(tmp_path))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["metrics"] == rep["metrics"]
    assert set(saved["metrics"]) == {"psnr", "ssim", "lpips"}
    p = saved["protocol"]
    for key, value in {"dataset": "moving_squares", "split": "test", "videos": 5, "seed": 0, "n_past": 2,
                       "n_future": 3, "n_samples": 4, "checkpoint_step": 2}.items():
        assert p[key] == value, key
    assert "11x11 Gaussian window (sigma 1.5)" in p["ssim"] and "alex" in p["lpips"]
    assert "mean over channels" in p["psnr"] and "data range 1" in p["psnr"]
    assert abs(saved["test_nll_per_dim"]) < 10 and saved["kl_per_frame"] >= 0
    assert "test-time" in p["likelihood"]
    rows = list(csv.reader(open(tmp_path / "per_step.csv")))
    assert rows[0][:4] == ["frame", "psnr", "ssim", "lpips"] and [r[0] for r in rows[1:]] == ["3", "4", "5"]
    assert rows[0][4:] == ["psnr_copy_last_frame", "ssim_copy_last_frame", "lpips_copy_last_frame"]
    assert (tmp_path / "metrics.png").stat().st_size > 1000
    for k in ("psnr", "ssim", "lpips"):
        assert len(saved["per_step"][k]) == 3


def test_evaluate_cli_prints_protocol(run_dir, tmp_path, capsys):
    assert main(["evaluate", "--run", str(run_dir), "--n-samples", "2", "--max-videos", "2",
                 "--lpips", "none", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 videos, 2 → 3 frames, best of 2 samples (seed 0)" in out and "PSNR" in out


def test_evaluate_errors(run_dir, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
        evaluate(str(tmp_path))
    with pytest.raises(ValueError, match="n-samples must be >= 1"):
        evaluate(str(run_dir), n_samples=0)
    with pytest.raises(ValueError, match="max-videos must be >= 1"):
        evaluate(str(run_dir), max_videos=0)
    state = torch.load(latest_checkpoint(str(run_dir)), weights_only=False)
    state["config"]["model"]["g_dim"] = 32
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    with pytest.raises(ValueError, match="does not fit the model"):
        evaluate(str(bad))
    monkeypatch.setattr(cli_evaluate, "make_dataset",
                        lambda cfg, split, seq_len: [torch.zeros(4, 1, 64, 64)] * 3)
    with pytest.raises(ValueError, match="videos have 4 frames; n_past \\+ n_future = 5"):
        evaluate(str(run_dir), n_samples=1)


def test_generate_writes_labelled_gifs_and_strips(run_dir, tmp_path):
    paths = write_rollouts(str(run_dir), str(tmp_path), n_samples=4, show=2, max_videos=2, scale=2)
    assert sorted(p.split("/")[-1] for p in paths) == ["video_0000.gif", "video_0000.png",
                                                       "video_0001.gif", "video_0001.png"]
    frames = imageio.mimread(tmp_path / "video_0000.gif")
    assert len(frames) == 5                                          # 2 context + 3 predicted
    # 5 columns (truth, posterior, best, 2 samples) of (64 + 4)·2 pixels, under a 14-pixel label row
    assert frames[0].shape[:2] == (14 + 136, 5 * 136)
    strip = imageio.imread(tmp_path / "video_0000.png")
    assert strip.shape[:2] == (5 * (14 + 136), 5 * 136)
    # context frames framed green, predicted ones red (border pixels of the truth row)
    assert tuple(strip[14, 0, :3]) == (0, 204, 0) and tuple(strip[14, 3 * 136, :3]) == (230, 0, 0)


def test_evaluate_with_fvd(run_dir, tmp_path):
    rep = evaluate(str(run_dir), n_samples=2, n_future=7, max_videos=3, batch_size=3, metrics=["psnr"],
                   out_dir=str(tmp_path), fvd=True)
    assert rep["fvd"] > 0 and "one random sample each, all 9 frames" in rep["protocol"]["fvd"]
    # the real side cached in a statistics file: written on first use, then read, same FVD
    stats = tmp_path / "real_stats.npz"
    kw = dict(n_samples=2, n_future=7, batch_size=3, metrics=["psnr"], fvd=True,
              fvd_real_stats=str(stats))
    first = evaluate(str(run_dir), max_videos=3, out_dir=str(tmp_path / "a"), **kw)
    assert FeatureStats.load(str(stats)).count == 3 and "read from" not in first["protocol"]["fvd"]
    again = evaluate(str(run_dir), max_videos=3, out_dir=str(tmp_path / "b"), **kw)
    assert again["fvd"] == pytest.approx(rep["fvd"], rel=1e-9) == first["fvd"]
    assert "real-video statistics read from" in again["protocol"]["fvd"]
    with pytest.raises(ValueError, match="statistics of 3 real videos, but this evaluation uses 2"):
        evaluate(str(run_dir), max_videos=2, out_dir=str(tmp_path / "c"), **kw)
    # statistics of other videos (here: recorded as 20 frames long) are refused, naming the key
    other = FeatureStats.load(str(stats))
    assert other.source["frames"] == 9 and other.source["split"] == "test"
    other.source["frames"] = 20
    other.save(str(stats))
    with pytest.raises(ValueError, match=r"other videos .*frames: file 20, evaluation 9"):
        evaluate(str(run_dir), max_videos=3, out_dir=str(tmp_path / "d"), **kw)
    with pytest.raises(ValueError, match="FVD needs videos of at least 9 frames"):
        evaluate(str(run_dir), n_samples=1, max_videos=2, metrics=["psnr"], out_dir=str(tmp_path / "e"),
                 fvd=True)   # not over the first report: that is refused before this check


def test_data_overrides_change_the_test_set_and_get_their_own_folder(run_dir, capsys):
    args = ["evaluate", "--run", str(run_dir), "--n-samples", "2", "--max-videos", "2", "--lpips", "none"]
    assert main(args) == 0
    assert main(args + ["data.options={size: 32}"]) == 2      # the model's frames are 64×64
    assert "dataset 'moving_squares' gives 32×32 frames but backbone 'dcgan64' reads 64×64" \
        in capsys.readouterr().err
    assert main(args + ["data.options={length: 2}"]) == 0
    # named by every setting that changes the result: 2 of the videos, PSNR and SSIM only, the data
    plain = json.loads((run_dir / "eval_test_2to3_N2_videos2_psnr-ssim" / "metrics.json").read_text())
    [other] = [p for p in run_dir.glob("eval_test_2to3_N2_*psnr-ssim_data-*")]
    moved = json.loads((other / "metrics.json").read_text())
    assert plain["protocol"]["data_options"] == {} and moved["protocol"]["data_options"] == {"length": 2}
    assert main(args + ["model.g_dim=8"]) == 2
    assert "only keys under data. may change" in capsys.readouterr().err


def test_a_failing_fvd_still_writes_the_other_metrics(run_dir, tmp_path, monkeypatch):
    import eval_fvd

    def broken(model, videos):
        raise MemoryError("I3D ran out of memory")

    monkeypatch.setattr(eval_fvd, "i3d_features", broken)
    with pytest.raises(RuntimeError, match=r"FVD failed \(I3D ran out of memory\); the other metrics are "
                                           r"written to"):
        evaluate(str(run_dir), n_samples=2, n_future=7, max_videos=2, metrics=["psnr", "ssim"],
                 out_dir=str(tmp_path), fvd=True)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert set(saved["metrics"]) == {"psnr", "ssim"} and saved["fvd"] is None
    assert saved["protocol"]["fvd"] == "failed: MemoryError: I3D ran out of memory"

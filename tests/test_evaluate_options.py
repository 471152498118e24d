"""svg evaluate: options out of range, result folders, and where the results go (random-weight run)."""
import dataclasses
import errno
import json
import os

import pytest
import torch

from svg import SVG
from svg.cli import evaluate as cli_evaluate
from svg.cli import main
from svg.config import EvalConfig, load_config
from svg.eval.report import folder_name

SMALL = ["data.name=moving_squares", "data.num_workers=0", "data.eval_n_future=3", "model.n_past=2",
         "model.width=8", "model.g_dim=16", "model.z_dim=4", "model.rnn_size=16"]
FAST = ["--n-samples", "2", "--max-videos", "2", "--metrics", "psnr"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder holding a random-weight checkpoint of a small model."""
    run = tmp_path_factory.mktemp("runs") / "small"
    run.mkdir()
    cfg = load_config(None, SMALL + [f"run_dir={run}"])
    torch.manual_seed(0)
    torch.save({"model": SVG(cfg.model).state_dict(), "config": dataclasses.asdict(cfg), "step": 0},
               run / "best.pt")
    return run


@pytest.mark.parametrize("option, value, words", [
    ("--n-past", "0", "--n-past must be >= 1, got 0"),
    ("--n-future", "0", "--n-future must be >= 1, got 0"),
    ("--n-samples", "0", "--n-samples must be >= 1, got 0"),
    ("--batch-size", "0", "--batch-size must be >= 1, got 0"),
    ("--batch-size", "-2", "--batch-size must be >= 1, got -2"),
    ("--max-videos", "0", "--max-videos must be >= 1 (or left out for all videos), got 0"),
    ("--max-memory", "0", "--max-memory must be a positive size such as 3G"),
    ("--max-memory", "3X", "--max-memory must be a positive size such as 3G"),
])
def test_out_of_range_options_are_refused_in_one_line(tmp_path, capsys, option, value, words):
    # refused before anything is loaded: the run folder does not even exist
    assert main(["evaluate", "--run", str(tmp_path / "nothing"), option, value]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"svg evaluate: error: {words}" or err[0].startswith(f"svg evaluate: error: {words}")
    assert len(err) <= 2 and not any("Traceback" in line for line in err)


def test_zero_is_not_the_default_and_a_negative_seed_is_fine(run_dir, tmp_path, capsys):
    assert main(["evaluate", "--run", str(run_dir), "--n-past", "1", "--seed", "-3", *FAST,
                 "--out", str(tmp_path)]) == 0
    p = json.loads((tmp_path / "metrics.json").read_text())["protocol"]
    assert (p["n_past"], p["n_future"], p["seed"]) == (1, 3, -3)


def test_folder_names_tell_every_result_apart():
    d = EvalConfig(n_past=5, n_future=10)
    assert folder_name("test", d, 256, 256) == "eval_test_5to10_N100"
    variants = {
        "val": folder_name("val", d, 256, 256),
        "videos": folder_name("test", d, 16, 256),
        "N": folder_name("test", dataclasses.replace(d, n_samples=10), 256, 256),
        "horizon": folder_name("test", dataclasses.replace(d, n_future=20), 256, 256),
        "past": folder_name("test", dataclasses.replace(d, n_past=2), 256, 256),
        "fvd": folder_name("test", dataclasses.replace(d, fvd=True), 256, 256),
        "seed": folder_name("test", dataclasses.replace(d, seed=1), 256, 256),
        "metrics": folder_name("test", dataclasses.replace(d, metrics=["psnr"]), 256, 256),
        "ssim": folder_name("test", dataclasses.replace(d, metric_options={"ssim": {"window": "uniform"}}), 256, 256),
        "lpips": folder_name("test", dataclasses.replace(d, metric_options={"lpips": {"net": "vgg"}}), 256, 256),
        "likelihood": folder_name("test", dataclasses.replace(d, likelihood=False), 256, 256),
        "data": folder_name("test", d, 256, 256, ["data.root=/x"]),
        "data2": folder_name("test", d, 256, 256, ["data.root=/y"]),
        "checkpoint": folder_name("test", d, 256, 256, checkpoint="runs/a/ckpt_000001000.pt"),
    }
    assert len(set(variants.values()) | {"eval_test_5to10_N100"}) == len(variants) + 1, variants
    assert variants["videos"] == "eval_test_5to10_N100_videos16"
    assert variants["fvd"] == "eval_test_5to10_N100_fvd" and variants["seed"] == "eval_test_5to10_N100_seed1"
    # settings that change no result share the folder
    for same in (dict(batch_size=1), dict(max_memory=2 ** 30), dict(metrics=["lpips", "ssim", "psnr"]),
                 dict(fvd_real_stats="x.npz")):
        assert folder_name("test", dataclasses.replace(d, **same), 256, 256) == "eval_test_5to10_N100"
    assert folder_name("test", d, 256, 256, checkpoint="runs/a/best.pt") == "eval_test_5to10_N100"
    assert folder_name("test", d, 300, 256) == "eval_test_5to10_N100"   # more asked than there are


def test_a_trial_run_does_not_overwrite_another(run_dir):
    for seed in ("0", "1"):
        assert main(["evaluate", "--run", str(run_dir), *FAST, "--seed", seed]) == 0
    first = json.loads((run_dir / "eval_test_2to3_N2_videos2_psnr" / "metrics.json").read_text())
    second = json.loads((run_dir / "eval_test_2to3_N2_videos2_seed1_psnr" / "metrics.json").read_text())
    assert (first["protocol"]["seed"], second["protocol"]["seed"]) == (0, 1)


def test_an_unwritable_out_folder_is_refused_before_any_work(run_dir, tmp_path, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("evaluated before the output folder was checked")

    monkeypatch.setattr(cli_evaluate, "evaluate", no_work)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["evaluate", "--run", str(run_dir), *FAST, "--out", str(blocker / "eval")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"svg evaluate: error: the evaluation folder (--out) {blocker}/eval: {blocker} is a file, "
                      f"not a folder") and len(err) <= 2


def test_an_unwritable_default_folder_names_the_option_that_moves_it(run_dir, capsys):
    blocker = run_dir / "eval_test_2to3_N2_videos2_seed7_psnr"   # its folder name, taken by a file
    blocker.write_text("not a folder")
    assert main(["evaluate", "--run", str(run_dir), *FAST, "--seed", "7"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("svg evaluate: error: the evaluation folder (made next to the checkpoint; "
                             "--out chooses another) ") and err[0].endswith("is a file, not a folder")


def test_a_failed_write_still_prints_the_metrics(run_dir, tmp_path, capsys, monkeypatch):
    def full_disk(out_dir, report):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.path.join(out_dir, "metrics.json"))

    monkeypatch.setattr(cli_evaluate, "write_report", full_disk)
    assert main(["evaluate", "--run", str(run_dir), *FAST, "--out", str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert "best of 2 samples" in out and "PSNR" in out
    saved = json.loads(out[out.index("{"):])                # the report that could not be written
    assert set(saved["metrics"]) == {"psnr"} and saved["protocol"]["videos"] == 2
    assert (f"could not write metrics.json, per_step.csv, metrics.png, rollouts.npz, report.html to "
            f"{tmp_path / 'out'}") in err
    assert "No space left on device" in err


def test_a_report_that_cannot_be_drawn_keeps_the_numbers_and_nothing_old(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    for name in cli_evaluate.REPORT_FILES:   # an earlier evaluation's, replaced: --overwrite
        (out / name).write_text("an earlier evaluation's file")

    def broken(evaluations):
        raise RuntimeError("the template is broken")

    monkeypatch.setattr("svg.eval.html_report.render", broken)   # the page is drawn last
    with pytest.raises(RuntimeError, match="the template is broken"):
        cli_evaluate.evaluate_run(str(run_dir), EvalConfig(n_samples=2, max_videos=2, metrics=["psnr"]),
                                  out_dir=str(out), progress=False, overwrite=True)
    assert sorted(os.listdir(out)) == ["metrics.json"]   # nothing drawn is written, nothing old is left
    assert set(json.loads((out / "metrics.json").read_text())["metrics"]) == {"psnr"}


def test_the_write_check_leaves_no_empty_folder(run_dir, tmp_path, capsys):
    out = tmp_path / "new" / "eval"
    assert main(["evaluate", "--run", str(run_dir), *FAST, "--out", str(out), "data.options={size: 32}"]) == 2
    assert "dataset 'moving_squares' gives 32×32 frames but backbone 'dcgan64' reads 64×64" \
        in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    """A run folder whose checkpoint holds live weights and, apart from them, their average."""
    run = tmp_path_factory.mktemp("runs") / "ema"
    run.mkdir()
    cfg = load_config(None, SMALL + [f"run_dir={run}", "train.ema=0.9"])
    torch.manual_seed(0)
    live, average = SVG(cfg.model).state_dict(), SVG(cfg.model).state_dict()
    torch.save({"model": live, "ema": {"model": average}, "config": dataclasses.asdict(cfg), "step": 4},
               run / "best.pt")
    return run


def test_raw_weights_get_their_own_folder_and_the_summary_names_the_weights(ema_run, tmp_path, capsys):
    assert main(["evaluate", "--run", str(ema_run), *FAST]) == 0
    assert "the moving average of the weights (train.ema)" in capsys.readouterr().out
    assert main(["evaluate", "--run", str(ema_run), *FAST, "--raw-weights"]) == 0
    assert "the live weights" in capsys.readouterr().out
    averaged, raw = sorted(ema_run.glob("eval_*"))
    assert raw.name == averaged.name + "_raw"        # both kept, neither over the other
    reports = [json.loads((f / "metrics.json").read_text()) for f in (averaged, raw)]
    assert [r["protocol"]["weights"] for r in reports] == ["ema", "raw"]
    assert reports[0]["metrics"]["psnr"]["mean"] != reports[1]["metrics"]["psnr"]["mean"]
    # the same evaluation again is refused rather than written over the first
    assert main(["evaluate", "--run", str(ema_run), *FAST]) == 2
    assert "metrics.json already exists" in capsys.readouterr().err
    # an export holds only the average: --raw-weights cannot be honoured, and is not ignored
    assert main(["export", "--run", str(ema_run), str(tmp_path / "shared.pt")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--run", str(tmp_path / "shared.pt"), *FAST, "--raw-weights"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "--raw-weights" in err[0] and "holds only the moving average" in err[0] and len(err) <= 2
    assert not list(tmp_path.glob("eval_*"))


def test_the_time_is_estimated_after_the_first_batch_and_the_split_labels_the_nll(run_dir, tmp_path, capsys):
    assert main(["evaluate", "--run", str(run_dir), "--n-samples", "2", "--max-videos", "3",
                 "--batch-size", "1", "--split", "val", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    estimate = [line for line in err.splitlines() if "took" in line]
    assert len(estimate) == 1 and "the first 1 sequence(s) took" in estimate[0]
    assert "for all 3 at 2 samples each" in estimate[0] and "--max-videos 16 --n-samples 10" in estimate[0]
    assert "  val NLL per dimension" in out and "test NLL" not in out


def test_clips_are_not_called_videos(run_dir, tmp_path, capsys):
    """One test video of 30 frames gives several 5-frame clips: the report counts both (it said
    "3 videos")."""
    from svg.testing.videos import moving_rect, write_video

    for split in ("train", "val", "test"):
        (tmp_path / "vids" / split).mkdir(parents=True)
        write_video(str(tmp_path / "vids" / split / "one.mp4"), moving_rect(30))
    assert main(["evaluate", "--run", str(run_dir), *FAST, "--max-videos", "3", "data.name=videos",
                 f"data.root={tmp_path / 'vids'}", "data.options.channels=1", "data.options.clip_len=5",
                 "--out", str(tmp_path / "out")]) == 0
    assert ": 3 clips cut from 1 video," in capsys.readouterr().out
    protocol = json.loads((tmp_path / "out" / "metrics.json").read_text())["protocol"]
    assert (protocol["videos"], protocol["source_videos"]) == (3, 1)


def test_scoring_the_shipped_model_on_other_data_names_the_real_cause(tmp_path, capsys):
    shipped = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "pretrained", "smmnist_sigma.pt")
    assert main(["evaluate", "--run", shipped, "data.name=videos", f"data.root={tmp_path}",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    # not "unknown config key 'data.options.num_digits'", a key the user never typed
    assert "num_digits" not in err[0] and "3-channel frames but model.channels is 1" in err[0]
    assert err[0].endswith("set data.options.channels=1") and "model.channels=3" not in err[0]

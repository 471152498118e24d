"""The decoder comparison builds its table from committed per-run JSONs: β chosen on validation,
intervals over seeds, runs still to do, results of other settings left out."""
import argparse
import importlib.util
import json
import os

import numpy as np
import pytest
from scipy import stats

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def dc():
    spec = importlib.util.spec_from_file_location(
        "decoder_comparison", os.path.join(REPO, "benchmarks", "decoder_comparison.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def args_for(tmp_path, steps=12000):
    return argparse.Namespace(results=str(tmp_path), out=str(tmp_path / "runs"), steps=steps, n_samples=10,
                              videos=256, val_videos=128, seeds=3, amp="auto", device="cpu")


def record(dc, args, variant, seed, val_lpips, test, precision="bf16"):
    scores = lambda m: {"metrics": m, "ci95": m, "copy_last_frame": {"psnr": 11.9, "ssim": 0.576, "lpips": 0.203},
                        "beats_copy_last_frame": m["lpips"] < 0.203, "diversity": 0.05}
    r = {"variant": variant, "seed": seed, "settings": dc.settings(args), "checkpoint_step": 12000,
         "precision": precision,
         "train_seconds": 6000.0, "protocol": {"videos": 256, "n_past": 5, "n_future": 10, "n_samples": 10},
         "val": scores({"psnr": 15.0, "ssim": 0.68, "lpips": val_lpips}),
         "test": {**scores(test), "fvd": 100.0, "test_sigma": 0.08}}
    with open(dc.result_path(args, variant, seed), "w") as f:
        json.dump(r, f)


def test_beta_is_chosen_on_validation_and_planned_for_every_seed(dc, tmp_path):
    args = args_for(tmp_path)
    test = {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15}   # test favours 1e-5: must not matter
    for variant, val in (("mse_beta1e-5", 0.20), ("mse_beta1e-4", 0.19), ("mse_beta1e-3", 0.17)):
        record(dc, args, variant, 0, val, test if variant == "mse_beta1e-5" else {**test, "lpips": 0.3})
    results = dc.read_results(args)
    assert dc.best_beta(results) == "mse_beta1e-3"
    plan = dc.planned_runs(args, results)
    assert ("mse_beta1e-3", 1) in plan and ("mse_beta1e-3", 2) in plan and ("mse_beta1e-5", 1) not in plan
    assert plan[:6] == [(v, 0) for v in ("optimal_sequence", "mse_beta1e-4", "learned", "gaussian_sigma1",
                                         "mse_beta1e-5", "mse_beta1e-3")]


def test_no_beta_before_the_three_seed0_runs_and_other_settings_are_left_out(dc, tmp_path):
    args = args_for(tmp_path)
    record(dc, args, "mse_beta1e-4", 0, 0.2, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.2})
    record(dc, args_for(tmp_path, steps=500), "mse_beta1e-5", 0, 0.1, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.2})
    results = dc.read_results(args)
    assert list(results) == [("mse_beta1e-4", 0)] and dc.best_beta(results) is None


def test_table_gives_the_t_interval_over_seeds(dc, tmp_path):
    args = args_for(tmp_path)
    lpips = [0.16, 0.17, 0.19]
    for seed, v in enumerate(lpips):
        record(dc, args, "optimal_sequence", seed, v, {"psnr": 15.0 + seed, "ssim": 0.68, "lpips": v})
    table = dc.tables(dc.read_results(args), None)
    row = next(line for line in table.splitlines() if line.startswith("| optimal_sequence |"))
    half = stats.t.ppf(0.975, 2) * np.std(lpips, ddof=1) / np.sqrt(3)
    assert f"{np.mean(lpips):.3f} ± {half:.3f}" in row and "| 3 |" in row
    assert "| 3/3 |" in row   # all three seeds beat the floor's LPIPS 0.203
    assert "| copy last frame (floor) | – | 11.90 | 0.576 | 0.203 |" in table


def test_an_interrupted_training_is_not_evaluated_or_recorded(dc, tmp_path, monkeypatch):
    """A signal stops the trainer, which saves a checkpoint and returns; the run must then be left
    to resume, not scored and recorded as if it had trained all its steps."""
    def stopped(cfg, progress=False):
        return {"step": 700, "total_steps": 12000, "stopped_by": "SIGINT"}

    def no_evaluation(*args, **kwargs):
        raise AssertionError("an interrupted run was evaluated")

    monkeypatch.setattr(dc, "train", stopped)
    monkeypatch.setattr(dc, "evaluate_run", no_evaluation)
    args = args_for(tmp_path)
    args.progress, args.ckpt_every = False, 500
    with pytest.raises(SystemExit, match="stopped by SIGINT at step 700 of 12000; nothing recorded"):
        dc.run_one(args, "learned", 0)
    assert not os.path.exists(dc.result_path(args, "learned", 0))


def test_runs_in_another_precision_than_the_recorded_ones_are_refused(dc, tmp_path):
    """Seeds of one comparison must differ only in their seed: with bf16 runs recorded, a run
    that would train in fp32 is refused before it starts; asking for bf16 is let through."""
    args = args_for(tmp_path)
    record(dc, args, "learned", 0, 0.15, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15})
    done = dc.read_results(args)
    args.amp = "none"
    with pytest.raises(SystemExit, match=r"trained in bf16, but here they would train in fp32 "
                                         r"\(train.amp=none\): run where bf16 is native, or pass --amp bf16"):
        dc.check_precision(args, done)
    args.amp = "bf16"
    dc.check_precision(args, done)
    record(dc, args, "learned", 1, 0.15, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15}, precision="fp32")
    with pytest.raises(SystemExit, match="trained in bf16, fp32"):
        dc.check_precision(args, dc.read_results(args))
    table = dc.tables(dc.read_results(args), None)
    assert "| learned seed 0 |" in table and table.count("| bf16 |") == 1 and table.count("| fp32 |") == 1


def test_strips_are_drawn_from_the_committed_samples_without_run_folders(dc, tmp_path, caplog):
    """Run folders do not survive a session: the strips come from the samples files in --results,
    and a recorded run without one is named and left out, not drawn from stale strips."""
    import imageio.v3 as iio

    args = args_for(tmp_path)   # args.out does not exist
    rng = np.random.default_rng(0)
    for variant in ("optimal_sequence", "mse_beta1e-4"):
        record(dc, args, variant, 0, 0.15, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15})
    samples = rng.integers(0, 256, (dc.SHOWN, 2, 15, 1, 64, 64), dtype=np.uint8)
    np.savez_compressed(dc.samples_path(args, "optimal_sequence"), samples=samples)
    results = dc.read_results(args)
    with caplog.at_level("WARNING", logger="decoder_comparison"):
        written = dc.side_by_side(args, results)
    assert "no samples file for mse_beta1e-4" in caplog.text
    assert written == [os.path.join(args.results, f"side_by_side_{i}.png") for i in range(dc.SHOWN)]
    one_variant = iio.imread(written[0]).shape
    np.savez_compressed(dc.samples_path(args, "mse_beta1e-4"), samples=samples)
    dc.side_by_side(args, results)
    two_variants = iio.imread(written[0]).shape
    assert two_variants[1] == one_variant[1] and two_variants[0] > one_variant[0]   # one more row
    assert os.path.exists(os.path.join(args.results, "side_by_side_0.gif"))


def test_strips_add_the_chosen_beta_once_it_is_chosen(dc, tmp_path):
    """The 1e-5 and 1e-3 runs are drawn only as the chosen β; 1e-4 is a main variant of its own
    and is not drawn twice when it is the chosen one."""
    import imageio.v3 as iio

    args = args_for(tmp_path)
    samples = np.random.default_rng(1).integers(0, 256, (dc.SHOWN, 2, 15, 1, 64, 64), dtype=np.uint8)

    def rows_drawn(val_lpips):
        for variant, val in zip(dc.BETAS, val_lpips):
            if val is not None:
                record(dc, args, variant, 0, val, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15})
                np.savez_compressed(dc.samples_path(args, variant), samples=samples)
        results = dc.read_results(args)
        return iio.imread(dc.side_by_side(args, results, dc.best_beta(results))[0]).shape[0]

    assert dc.BETAS == ("mse_beta1e-5", "mse_beta1e-4", "mse_beta1e-3")
    no_beta = rows_drawn((0.20, 0.19, None))          # truth + 1e-4
    beta_1e3 = rows_drawn((0.20, 0.19, 0.17))         # truth + 1e-4 + 1e-3
    beta_1e4 = rows_drawn((0.20, 0.19, 0.21))         # truth + 1e-4
    assert beta_1e3 > no_beta and beta_1e4 == no_beta


def test_runs_on_another_device_than_the_recorded_ones_are_refused(dc, tmp_path, monkeypatch):
    """GPU runs form their own comparison: with CPU runs recorded, a run that would train on a
    GPU is refused; the per-run table names each run's device."""
    args = args_for(tmp_path)
    record(dc, args, "learned", 0, 0.15, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15})
    done = dc.read_results(args)
    dc.check_device(args, done)   # cpu here, cpu recorded (from "device" of older results)
    monkeypatch.setattr(dc, "device_of", lambda a: ("cuda", "NVIDIA H200"))
    with pytest.raises(SystemExit, match="trained on cpu, but here they would train on cuda"):
        dc.check_device(args, done)
    path = dc.result_path(args, "learned", 1)
    record(dc, args, "learned", 1, 0.15, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.15})
    with open(path) as f:
        r = json.load(f)
    with open(path, "w") as f:
        json.dump(dict(r, device="cuda:0", device_kind="cuda", gpu="NVIDIA H200"), f)
    table = dc.tables(dc.read_results(args), None)
    assert "| learned seed 0 |" in table and table.count("| NVIDIA H200 |") == 1


def test_paired_differences_are_seed_by_seed_with_a_t_interval(dc, tmp_path):
    """optimal σ − learned σ over the seeds both have, against scipy's paired t interval; an
    interval holding zero is reported as not resolved."""
    args = args_for(tmp_path)
    optimal, learned = [0.150, 0.155, 0.149, 0.160], [0.152, 0.158, 0.150, 0.162]
    for seed, (a, b) in enumerate(zip(optimal, learned)):
        record(dc, args, "optimal_sequence", seed, a, {"psnr": 15.0, "ssim": 0.68, "lpips": a})
        record(dc, args, "learned", seed, b, {"psnr": 15.0, "ssim": 0.68, "lpips": b})
    record(dc, args, "optimal_sequence", 4, 0.1, {"psnr": 15.0, "ssim": 0.68, "lpips": 0.1})  # unpaired
    results = dc.read_results(args)
    seeds, diffs = dc.paired_differences(results, "optimal_sequence", "learned", "lpips")
    assert seeds == [0, 1, 2, 3]
    d = np.array(optimal) - np.array(learned)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / np.sqrt(4)
    table = dc.paired_table(results, None)
    row = next(line for line in table.splitlines() if "learned | lpips" in line)
    assert f"{d.mean():+.3f} ± {half:.3f}" in row and "yes: optimal_sequence is better" in row
    fvd_row = next(line for line in table.splitlines() if "learned | fvd" in line)
    assert "+0.0 ± 0.0" in fvd_row and "no: the interval holds 0" in fvd_row   # equal FVDs
    assert "β not chosen yet" in table


def test_jobs_workers_get_the_comparison_settings_and_one_run(dc, tmp_path):
    """``--jobs`` relaunches this script per run with the parsed settings (not the raw argv, whose
    ``--jobs 4`` or ``--device cuda:1`` would be mangled)."""
    args = args_for(tmp_path)
    args.ckpt_every, args.progress, args.device = 500, False, "cuda:1"
    argv = dc.worker_args(args, ("learned", 3))
    assert argv[argv.index("--device") + 1] == "cuda:1" and argv[-2:] == ["--runs", "learned:3"]
    assert "--jobs" not in argv and "--no-summary" in argv

"""The σ-VAE claim, measured where the models work: SVG-LP on Stochastic Moving MNIST trained with
each decoder distribution, several seeds each, scored beside the copy-last-frame floor.

    python benchmarks/decoder_comparison.py                          # every run not yet recorded
    python benchmarks/decoder_comparison.py --runs optimal_sequence:1 mse_beta1e-4:1   # some runs
    python benchmarks/decoder_comparison.py --table                  # only rebuild the table

The setting is ``configs/smmnist_demo.yaml`` (the demo, which beats the floor) trained for
``--steps`` (longer than the demo). Per seed, every variant starts from the same initial weights
(where the networks agree) and sees the same training sequences; only the decoder differs.
Each run keeps its validation-best checkpoint (``best.pt``, by validation loss), then is scored
with ``svg evaluate``'s code on the first ``--val-videos`` validation sequences (to choose β) and
on the first ``--videos`` test sequences: best-of-N PSNR / Gaussian SSIM / LPIPS with the
copy-last-frame floor and the sample diversity, FVD, test NLL, KL and σ.

A working session may not finish all runs, and run folders do not survive it, so every finished
run writes a small JSON into ``--results`` (committed to the repository: docs/decoder_comparison/)
and is never run again (a seed-0 run also writes the best samples of the strips, about 35 kB
compressed); the table, figure, text and strips are rebuilt from whatever is there. An
interrupted run resumes from its latest checkpoint while its run folder (``--out``) lives.
Each result records the precision it trained in (``--amp auto`` gives bf16 only where it is
native) and its device (``cpu`` or ``cuda``, with the GPU's name); a run that would train in
another precision or on another kind of device than the recorded ones is refused. GPU runs
therefore keep their own folder and table (``--results`` defaults to docs/decoder_comparison/ on a
CPU and docs/decoder_comparison_gpu/ on a GPU). ``--jobs N`` trains N runs at once, one process
each (on one GPU: the small demo network leaves most of it idle).
The summary gives, besides each variant's mean ± 95% interval over seeds, the paired difference,
seed by seed, of optimal σ against the best-β MSE and against learned σ (LPIPS and FVD).

Variants: optimal σ per sequence (σ-VAE), learned shared σ (σ-VAE), MSE with β = 1e-4 (SVG's),
MSE with the best β of {1e-5, 1e-4, 1e-3} chosen on the validation LPIPS of the seed-0 runs, and a
Gaussian with σ = 1. Optional extras: ``--runs bernoulli:0 per_pixel:0 ...``.
"""
from __future__ import annotations

import argparse
import glob
import json
import logging
import math
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from core.atomic_files import atomic_path, write_text
from svg.cli.evaluate import evaluate_run
from svg.cli.generate import rollout_columns
from svg.config import EvalConfig, config_to_yaml, load_config
from svg.data import make_dataset
from svg.eval.metrics import mean_confidence_interval
from svg.eval.report import headline
from core.devices import pick_device, resolve_amp
from svg.checkpoints import load_model
from svg.train.loop import train
from svg.visualize import labelled_rollout, write_gif, write_png

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIK = "model.likelihood."
VARIANTS: Dict[str, List[str]] = {
    "optimal_sequence": [LIK + "name=optimal", LIK + "axes=sequence"],
    "learned": [LIK + "name=learned"],
    "mse_beta1e-4": [LIK + "name=mse", LIK + "beta=1e-4"],
    "mse_beta1e-5": [LIK + "name=mse", LIK + "beta=1e-5"],
    "mse_beta1e-3": [LIK + "name=mse", LIK + "beta=1e-3"],
    "gaussian_sigma1": [LIK + "name=gaussian", LIK + "sigma=1.0"],
    "per_pixel": [LIK + "name=per_pixel"],
    "bernoulli": [LIK + "name=bernoulli"],
}
BETAS = ("mse_beta1e-5", "mse_beta1e-4", "mse_beta1e-3")
MAIN = ("optimal_sequence", "learned", "mse_beta1e-4", "mse_best_beta", "gaussian_sigma1")
METRICS = (("psnr", "PSNR ↑", 2), ("ssim", "SSIM ↑", 3), ("lpips", "LPIPS ↓", 3))
SHOWN = 3   # test sequences in the side-by-side strips
log = logging.getLogger("decoder_comparison")


def settings(args: argparse.Namespace) -> Dict[str, Any]:
    """What makes two runs comparable; stored in every result and checked when it is read."""
    return {"config": "configs/smmnist_demo.yaml", "steps": args.steps, "n_samples": args.n_samples,
            "videos": args.videos, "val_videos": args.val_videos}


def precision(args: argparse.Namespace) -> Tuple[str, str]:
    """What this machine's runs train in (bf16 | fp32 | fp16) under ``--amp``, and why."""
    amp, why = resolve_amp(args.amp, pick_device(args.device))
    return ("fp32" if amp == "none" else amp), why


def check_precision(args: argparse.Namespace, done: Dict[Tuple[str, int], Dict[str, Any]]) -> None:
    """Refuse to add runs in another precision than the recorded ones: the seeds of a variant
    would then differ in more than their seed. (Results from before precision was recorded say
    nothing, and are not checked.)"""
    recorded = sorted({r["precision"] for r in done.values() if "precision" in r})
    mine, why = precision(args)
    if recorded and recorded != [mine]:
        hint = ("pass --amp none" if recorded == ["fp32"] else
                "run where bf16 is native, or pass --amp bf16 (emulated where it is not: the same "
                "rounding, many times slower)" if recorded == ["bf16"] else "record one precision only")
        raise SystemExit(f"the runs recorded in {args.results} trained in {', '.join(recorded)}, but "
                         f"here they would train in {mine} ({why}): {hint}.")


def device_of(args: argparse.Namespace) -> Tuple[str, Optional[str]]:
    """(``cpu`` | ``cuda``, the GPU's name or None) of this machine's runs under ``--device``."""
    dev = pick_device(args.device)
    return dev.type, (torch.cuda.get_device_name(dev) if dev.type == "cuda" else None)


def recorded_device(r: Dict[str, Any]) -> str:
    """A result's kind of device (results from before it was recorded name it in ``device``)."""
    return r.get("device_kind") or str(r.get("device", "cpu")).split(":")[0]


def check_device(args: argparse.Namespace, done: Dict[Tuple[str, int], Dict[str, Any]]) -> None:
    """Refuse to add runs on another kind of device than the recorded ones: a GPU and a CPU run
    of one seed differ in more than their seed (other kernels, other speed)."""
    recorded = sorted({recorded_device(r) for r in done.values()})
    mine, _ = device_of(args)
    if recorded and recorded != [mine]:
        raise SystemExit(f"the runs recorded in {args.results} trained on {', '.join(recorded)}, but "
                         f"here they would train on {mine}: keep one device per folder (--results; "
                         f"GPU runs default to docs/decoder_comparison_gpu/).")


#: the recipe every recorded run trained with, pinned here so that a later change of the demo's
#: recipe (configs/smmnist_demo.yaml) does not silently change the comparison's
RECIPE = ["train.batch_size=16", "train.lr=0.002", "train.lr_schedule=constant", "train.lr_warmup=0",
          "train.ema=null"]


def run_config(args: argparse.Namespace, variant: str, seed: int):
    overrides = VARIANTS[variant] + RECIPE + [
        f"train.steps_per_epoch={args.steps}", "train.epochs=1", f"train.seed={seed}",
        f"train.device={args.device}", f"train.amp={args.amp}", f"train.ckpt_every={args.ckpt_every}",
        "train.gif_every=100000",
        f"run_dir={os.path.join(args.out, f'{variant}_s{seed}')}"]
    return load_config(os.path.join(ROOT, "configs", "smmnist_demo.yaml"), overrides), overrides


def result_path(args: argparse.Namespace, variant: str, seed: int) -> str:
    return os.path.join(args.results, f"{variant}_s{seed}.json")


def samples_path(args: argparse.Namespace, variant: str) -> str:
    """The seed-0 run's truth and best samples on the strips' test sequences (see :func:`best_samples`)."""
    return os.path.join(args.results, f"{variant}_s0_samples.npz")


def run_one(args: argparse.Namespace, variant: str, seed: int) -> Dict[str, Any]:
    """Train (or resume), select on val, score; writes and returns the run's result record."""
    cfg, overrides = run_config(args, variant, seed)
    t0 = time.perf_counter()
    summary = train(cfg, progress=args.progress)
    if summary["stopped_by"] is not None:   # not trained to the end: record nothing, resume later
        raise SystemExit(f"{variant} seed {seed}: training stopped by {summary['stopped_by']} at step "
                         f"{summary['step']} of {summary['total_steps']}; nothing recorded, re-run to resume")
    t_train = time.perf_counter() - t0
    ev = dict(n_samples=args.n_samples, seed=0, device=args.device, batch_size=2)
    # the benchmark's own folders, scored again whenever the run is (re)trained: overwrite=True
    val = evaluate_run(cfg.run_dir, EvalConfig(max_videos=args.val_videos, likelihood=False, **ev), split="val",
                       out_dir=os.path.join(cfg.run_dir, "eval_val"), progress=args.progress, overwrite=True)
    stats = os.path.join(args.out, f"real_i3d_stats_{args.videos}.npz")   # the test videos', shared
    test = evaluate_run(cfg.run_dir, EvalConfig(max_videos=args.videos, fvd=True, fvd_real_stats=stats, **ev),
                        out_dir=os.path.join(cfg.run_dir, "eval_test"), progress=args.progress,
                        overwrite=True)
    os.makedirs(args.results, exist_ok=True)
    kind, gpu = device_of(args)
    if seed == 0:   # committed beside the JSON, so that later sessions can still draw the strips
        with atomic_path(samples_path(args, variant)) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, samples=best_samples(cfg.run_dir, args))
    result = {
        "variant": variant, "seed": seed, "overrides": overrides, "settings": settings(args),
        "likelihood": dict(cfg.model.likelihood.__dict__), "checkpoint_step": test["protocol"]["checkpoint_step"],
        "train_seconds": round(t_train, 1), "eval_seconds": round(time.perf_counter() - t0 - t_train, 1),
        "threads": torch.get_num_threads(), "device": str(pick_device(args.device)),
        "device_kind": kind, "gpu": gpu,
        "precision": precision(args)[0],
        "val": headline(val), "test": {**headline(test), "fvd": test.get("fvd"),
                                     "test_nll_per_dim": test.get("test_nll_per_dim"),
                                     "kl_per_frame": test.get("kl_per_frame"),
                                     "test_sigma": test.get("test_sigma")},
        "protocol": test["protocol"], "config": config_to_yaml(cfg),
    }
    write_text(result_path(args, variant, seed), json.dumps(result, indent=1))
    return result


@torch.no_grad()
def best_samples(run_dir: str, args: argparse.Namespace) -> np.ndarray:
    """(S, 2, T, C, H, W) uint8: per shown test sequence, the truth and the run's best of N."""
    dev = pick_device(args.device)
    model, cfg, _, _ = load_model(run_dir, dev)
    n_past, n_future = cfg.model.n_past, cfg.data.eval_n_future
    dataset = make_dataset(cfg.data, "test", n_past + n_future)
    gen = torch.Generator(device=dev).manual_seed(0)
    out = []
    for i in range(min(SHOWN, len(dataset))):
        videos, _ = rollout_columns(model, dataset[i].unsqueeze(0).to(dev), n_past, n_future,
                                    args.n_samples, 0, gen)
        out.append(torch.stack([videos[0], videos[2]]))
    return (torch.stack(out) * 255).round().to(torch.uint8).numpy()


def read_results(args: argparse.Namespace) -> Dict[Tuple[str, int], Dict[str, Any]]:
    """(variant, seed) → recorded result, for the results made with today's settings."""
    found = {}
    for path in sorted(glob.glob(os.path.join(args.results, "*_s*.json"))):
        with open(path) as f:
            r = json.load(f)
        if r["settings"] != settings(args):
            log.warning("%s was made with %s, not %s: left out", path, r["settings"], settings(args))
            continue
        found[(r["variant"], r["seed"])] = r
    return found


def best_beta(results: Dict[Tuple[str, int], Dict[str, Any]]) -> Optional[str]:
    """The MSE β variant with the lowest validation LPIPS at seed 0, once all three are recorded."""
    if not all((b, 0) in results for b in BETAS):
        return None
    return min(BETAS, key=lambda b: results[(b, 0)]["val"]["metrics"]["lpips"])


def planned_runs(args: argparse.Namespace, results) -> List[Tuple[str, int]]:
    """Every (variant, seed) the comparison needs, seed 0 of every variant first."""
    plan = [(v, 0) for v in ("optimal_sequence", "mse_beta1e-4", "learned", "gaussian_sigma1",
                             "mse_beta1e-5", "mse_beta1e-3")]
    beta = best_beta(results)
    for seed in range(1, args.seeds):
        plan += [(v, seed) for v in ("optimal_sequence", "mse_beta1e-4", "learned", "gaussian_sigma1")]
        if beta is not None and beta != "mse_beta1e-4":
            plan.append((beta, seed))
    return plan


def rows_of(results, beta: Optional[str]) -> Dict[str, List[Dict[str, Any]]]:
    """Table row name → its runs (the best-β row repeats the chosen β's runs)."""
    rows = {}
    for name in MAIN + tuple(v for v in VARIANTS if v not in MAIN and v not in BETAS):
        source = beta if name == "mse_best_beta" else name
        runs = [r for (v, _), r in sorted(results.items()) if v == source]
        if runs:
            rows[name if name != "mse_best_beta" else f"mse_best_beta ({beta})"] = runs
    return rows


def summary(values: List[float], digits: int) -> str:
    mean, half = mean_confidence_interval(torch.tensor(values))
    return f"{float(mean):.{digits}f}" + ("" if math.isnan(float(half)) else f" ± {float(half):.{digits}f}")


def tables(results, beta: Optional[str]) -> str:
    rows = rows_of(results, beta)
    head = ("| variant | seeds | " + " | ".join(t for _, t, _ in METRICS)
            + " | beats floor | diversity | FVD ↓ | σ | train min |\n|" + "---|" * 10)
    lines = [head]
    for name, runs in rows.items():
        t = [r["test"] for r in runs]
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(
            summary([x["metrics"][m] for x in t], d) for m, _, d in METRICS)
            + f" | {sum(x['beats_copy_last_frame'] for x in t)}/{len(t)} | "
            f"{summary([x['diversity'] for x in t], 3)} | {summary([x['fvd'] for x in t], 0)} | "
            f"{summary([x['test_sigma'] for x in t], 3)} | "
            f"{summary([r['train_seconds'] / 60 for r in runs], 0)} |")
    any_run = next(iter(results.values()))
    floor = any_run["test"]["copy_last_frame"]
    lines.append("| copy last frame (floor) | – | " + " | ".join(
        f"{floor[m]:.{d}f}" for m, _, d in METRICS) + " | – | 0 | – | – | – |")
    per_seed = ["| run | step | " + " | ".join(t for _, t, _ in METRICS)
                + " | val LPIPS | FVD | precision | device |", "|" + "---|" * 9]
    for (v, s), r in sorted(results.items()):
        per_seed.append(f"| {v} seed {s} | {r['checkpoint_step']} | " + " | ".join(
            f"{r['test']['metrics'][m]:.{d}f}" for m, _, d in METRICS)
            + f" | {r['val']['metrics']['lpips']:.3f} | {r['test']['fvd']:.0f} | "
            f"{r.get('precision', 'not recorded')} | {r.get('gpu') or recorded_device(r)} |")
    return ("\n".join(lines) + "\n\nPer run (test; val LPIPS is what β is chosen on):\n\n"
            + "\n".join(per_seed) + "\n\n" + paired_table(results, beta))


#: (optimal σ against …) pairs of the paired comparison
PAIRS = (("optimal_sequence", "mse_best_beta"), ("optimal_sequence", "learned"))


def paired_differences(results, a: str, b: str, metric: str) -> Tuple[List[int], List[float]]:
    """(seeds, a − b per seed) on the test ``metric`` (``fvd`` or a best-of-N metric), over the
    seeds where both variants are recorded."""
    value = (lambda r: r["test"]["fvd"]) if metric == "fvd" else (lambda r: r["test"]["metrics"][metric])
    seeds = sorted(s for (v, s) in results if v == a and (b, s) in results)
    return seeds, [value(results[(a, s)]) - value(results[(b, s)]) for s in seeds]


def paired_table(results, beta: Optional[str]) -> str:
    """Markdown: mean ± 95% t-interval of the seed-by-seed differences, and whether the interval
    excludes zero (only then is one decoder better on that metric)."""
    lines = ["Paired differences, seed by seed (test; negative LPIPS and FVD favour the first):", "",
             "| comparison | metric | seeds | mean difference ± 95% | resolved |", "|---|---|---|---|---|"]
    for a, b in PAIRS:
        other = beta if b == "mse_best_beta" else b
        if other is None:
            lines.append(f"| {a} − {b} | – | 0 | – | β not chosen yet |")
            continue
        for metric in ("lpips", "fvd"):
            seeds, diffs = paired_differences(results, a, other, metric)
            if len(seeds) < 2:
                lines.append(f"| {a} − {other} | {metric} | {len(seeds)} | – | needs ≥ 2 paired seeds |")
                continue
            mean, half = (float(v) for v in mean_confidence_interval(torch.tensor(diffs, dtype=torch.float64)))
            verdict = ("no: the interval holds 0" if abs(mean) <= half else
                       f"yes: {a if mean < 0 else other} is better")
            d = 3 if metric == "lpips" else 1
            lines.append(f"| {a} − {other} | {metric} | {len(seeds)} | {mean:+.{d}f} ± {half:.{d}f} | {verdict} |")
    return "\n".join(lines)


def plot(results, beta: Optional[str], path: str, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows_of(results, beta)
    floor = next(iter(results.values()))["test"]["copy_last_frame"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, (m, title, _) in zip(axes, METRICS):
        for k, (name, runs) in enumerate(rows.items()):
            vals = [r["test"]["metrics"][m] for r in runs]
            color = "tab:blue" if name.startswith(("optimal", "learned", "per_pixel")) else "tab:gray"
            ax.bar(k, np.mean(vals), color=color, alpha=0.6)
            ax.plot([k] * len(vals), vals, "k.", ms=6)   # one dot per seed
        ax.axhline(floor[m], color="tab:red", ls="--", label="copy last frame")
        ax.set_xticks(range(len(rows)), list(rows), rotation=45, ha="right", fontsize=8)
        ax.set_title(title)
        lo = min([floor[m]] + [r["test"]["metrics"][m] for runs in rows.values() for r in runs])
        hi = max([floor[m]] + [r["test"]["metrics"][m] for runs in rows.values() for r in runs])
        ax.set_ylim(lo - 0.15 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))
    axes[0].legend(fontsize=8)
    fig.suptitle("SVG-LP on SM-MNIST by decoder (blue: σ-VAE decoders; bars: mean over seeds, dots: "
                 "seeds). " + subtitle, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def side_by_side(args: argparse.Namespace, results, beta: Optional[str] = None) -> List[str]:
    """Truth | every recorded main variant's best sample (seed 0; the chosen β once there is one)
    on the shown test sequences, from the samples files in ``--results``; a recorded run without
    one is named in the log and left out."""
    shown = [beta if v == "mse_best_beta" else v for v in MAIN]
    names = [n for n in dict.fromkeys(shown) if n is not None and (n, 0) in results]
    missing = [n for n in names if not os.path.exists(samples_path(args, n))]
    if missing:
        log.warning("no samples file for %s: left out of the side-by-side strips", ", ".join(missing))
    names = [n for n in names if n not in missing]
    if not names:
        return []
    per = []
    for n in names:
        with np.load(samples_path(args, n)) as f:
            per.append(f["samples"])
    written = []
    for i in range(per[0].shape[0]):
        videos = torch.from_numpy(np.stack([per[0][i, 0]] + [p[i, 1] for p in per])) / 255.0
        gif, strip = labelled_rollout(videos, ["truth"] + names, results[(names[0], 0)]["protocol"]["n_past"])
        base = os.path.join(args.results, f"side_by_side_{i}")
        write_gif(base + ".gif", gif)
        write_png(base + ".png", strip)
        written.append(base + ".png")
    return written


def write_summary(args: argparse.Namespace) -> None:
    results = read_results(args)
    if not results:
        log.info("no recorded runs in %s yet", args.results)
        return
    beta = best_beta(results)
    md = tables(results, beta)
    missing = [f"{v}:{s}" for v, s in planned_runs(args, results) if (v, s) not in results]
    p = next(iter(results.values()))["protocol"]
    precisions = sorted({r.get("precision", "not recorded") for r in results.values()})
    devices = sorted({r.get("gpu") or recorded_device(r) for r in results.values()})
    text = (f"# Decoder comparison (generated by benchmarks/decoder_comparison.py)\n\n"
            f"Setting: {settings(args)}. Test: first {p['videos']} test sequences, {p['n_past']} → "
            f"{p['n_future']} frames, best of {p['n_samples']}; val: first {args.val_videos}.\n"
            f"β chosen on validation: {beta or 'not yet (needs the three seed-0 MSE runs)'}.\n"
            f"Training precision: {', '.join(precisions)}. Device: {', '.join(devices)}.\n"
            f"Runs still to do: {', '.join(missing) or 'none'}.\n\n{md}\n")
    write_text(os.path.join(args.results, "results.md"), text)
    plot(results, beta, os.path.join(args.results, "comparison.png"),
         f"{args.steps} steps, best of {args.n_samples}, {p['videos']} test sequences")
    side_by_side(args, results, beta)
    print(text)


def worker_args(args: argparse.Namespace, run: Tuple[str, int]) -> List[str]:
    """The command line of one ``--jobs`` worker: this comparison's settings and one run."""
    argv = ["--results", args.results, "--out", args.out, "--steps", str(args.steps),
            "--seeds", str(args.seeds), "--ckpt-every", str(args.ckpt_every), "--device", args.device,
            "--amp", args.amp, "--n-samples", str(args.n_samples), "--videos", str(args.videos),
            "--val-videos", str(args.val_videos), "--no-summary", "--runs", f"{run[0]}:{run[1]}"]
    return argv + (["--progress"] if args.progress else [])


def run_in_parallel(args: argparse.Namespace, todo: List[Tuple[str, int]]) -> List[str]:
    """Train the runs ``todo`` (default: the plan) ``args.jobs`` at a time, each in its own
    process (this script with ``--runs VARIANT:SEED``). The plan is read again whenever a run
    ends, so the chosen β's seeds join once its three seed-0 runs are recorded. Each run is
    started once; one that fails, or ends without a result, is named at the end (returned)."""
    running: Dict[Tuple[str, int], subprocess.Popen] = {}
    launched, failed = set(), []

    def pending() -> List[Tuple[str, int]]:
        done = read_results(args)
        plan = todo or planned_runs(args, done)
        return [r for r in plan if r not in done and r not in launched]

    while True:
        for run in pending()[:max(0, args.jobs - len(running))]:
            cmd = [sys.executable, os.path.abspath(__file__), *worker_args(args, run)]
            log.info("starting %s seed %d: %s", run[0], run[1], " ".join(cmd))
            running[run] = subprocess.Popen(cmd)
            launched.add(run)
        if not running:
            break
        time.sleep(5)
        for run, proc in list(running.items()):
            if proc.poll() is not None:
                del running[run]
                if proc.returncode != 0 or run not in read_results(args):
                    failed.append(f"{run[0]}:{run[1]}")
                    log.error("%s seed %d failed (exit %d, %s)", run[0], run[1], proc.returncode,
                              "recorded" if run in read_results(args) else "nothing recorded")
    if failed:
        log.error("runs that failed: %s", ", ".join(failed))
    return failed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default=None,
                   help="folder of the per-run result JSONs (committed; default docs/decoder_comparison "
                        "on a CPU, docs/decoder_comparison_gpu on a GPU)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once, one process each")
    p.add_argument("--no-summary", action="store_true", help=argparse.SUPPRESS)   # a --jobs worker
    p.add_argument("--out", default="runs/decoder_comparison", help="run folders (not committed)")
    p.add_argument("--runs", nargs="*", help="VARIANT:SEED runs to do (default: every planned run "
                                             "not yet recorded)")
    p.add_argument("--table", action="store_true", help="only rebuild the table from the results")
    p.add_argument("--steps", type=int, default=12000, help="training steps per run")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--ckpt-every", type=int, default=500, help="validation and checkpoint interval")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", default="auto", choices=("auto", "bf16", "none"),
                   help="training precision (train.amp); every run of one comparison must share it")
    p.add_argument("--n-samples", type=int, default=10, help="samples per sequence (best of N)")
    p.add_argument("--videos", type=int, default=256, help="test sequences scored")
    p.add_argument("--val-videos", type=int, default=128, help="validation sequences scored")
    p.add_argument("--progress", action="store_true", help="progress bars")
    args = p.parse_args(argv)
    if args.results is None:
        folder = "decoder_comparison" if device_of(args)[0] == "cpu" else "decoder_comparison_gpu"
        args.results = os.path.join(ROOT, "docs", folder)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.steps < 1 or args.n_samples < 1 or args.videos < 2 or args.seeds < 1:
        p.error("need --steps, --n-samples, --seeds >= 1 and --videos >= 2 (FVD needs a covariance)")
    todo = []
    for spec in args.runs or []:
        variant, _, seed = spec.partition(":")
        if variant not in VARIANTS or not seed.isdigit():
            p.error(f"--runs {spec}: expected VARIANT:SEED with VARIANT one of {', '.join(VARIANTS)}")
        todo.append((variant, int(seed)))
    if not args.table:
        done = read_results(args)
        check_precision(args, done)
        check_device(args, done)
        if args.jobs > 1:
            failed = run_in_parallel(args, todo)
            write_summary(args)
            return 1 if failed else 0
        todo = todo or [r for r in planned_runs(args, done) if r not in done]
        for variant, seed in todo:
            if os.path.exists(result_path(args, variant, seed)):
                log.info("%s seed %d: recorded earlier, skipped", variant, seed)
                continue
            log.info("%s seed %d", variant, seed)
            r = run_one(args, variant, seed)
            log.info("%s seed %d: test %s (train %.0f s)", variant, seed, r["test"]["metrics"], r["train_seconds"])
    if not args.no_summary:
        write_summary(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The σ-VAE claim, measured: SVG-LP on Stochastic Moving MNIST with each decoder distribution.

Every variant trains from the same seed (so the same initial weights where the networks agree and
the same training sequences, step for step) with the same network and step budget; only the
decoder likelihood differs. Each run is then scored by ``svg evaluate`` on the fixed test set:
best-of-N PSNR/SSIM/LPIPS, FVD, test NLL per dimension, KL per frame and the final decoder σ.

    python benchmarks/decoder_comparison.py                       # CPU size, ~70 min on 2 cores
    python benchmarks/decoder_comparison.py --paper-size --steps 150000 --device cuda --n-samples 100

Writes to ``--out``: ``results.md`` (the table), ``results.json``, ``comparison.png`` (metrics per
variant), ``side_by_side_<i>.gif``/``.png`` (the same test sequences, best sample of every variant
side by side) and, per variant, ``runs/<variant>/`` (checkpoints, TensorBoard, ``eval/``,
``rollouts/`` GIF strips). Interrupted? Re-run the same command: finished variants are skipped and
an unfinished one resumes from its latest checkpoint.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any, Dict, List

import numpy as np
import torch

from data_loaders.atomic import atomic_path, write_text
from svg.cli.evaluate import evaluate_run
from svg.cli.generate import rollout_columns, write_rollouts
from svg.config import EvalConfig, config_to_yaml, load_config
from svg.data import make_dataset
from svg.runtime import pick_device
from svg.train.checkpoint import load_model
from svg.train.loop import train
from svg.visualize import labelled_rollout, write_gif, write_png

# The configs this benchmark starts from (configs/ of the clone it runs from).
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LIK = "model.likelihood."
VARIANTS: Dict[str, List[str]] = {
    "gaussian_sigma1": [LIK + "name=gaussian", LIK + "sigma=1.0"],
    "mse_beta1e-5": [LIK + "name=mse", LIK + "beta=1e-5"],
    "mse_beta1e-4": [LIK + "name=mse", LIK + "beta=1e-4"],
    "mse_beta1e-3": [LIK + "name=mse", LIK + "beta=1e-3"],
    "learned": [LIK + "name=learned"],
    "optimal_sequence": [LIK + "name=optimal", LIK + "axes=sequence"],
    "optimal_batch": [LIK + "name=optimal", LIK + "axes=batch"],
    "optimal_frame": [LIK + "name=optimal", LIK + "axes=frame"],
    "per_pixel": [LIK + "name=per_pixel"],
    "bernoulli": [LIK + "name=bernoulli"],
}
# Sized so the ten variants train and evaluate in about an hour on 2 CPU cores: a quarter-width
# DCGAN-64, 5 context + 5 predicted frames in training, batch 16.
CPU_SIZE = ["model.width=16", "model.g_dim=64", "model.rnn_size=128", "data.n_future=5",
            "data.eval_n_future=10"]
# The SVG paper's SM-MNIST network (configs/smmnist.yaml) with its 5 → 10 training and 5 → 20 test.
PAPER_SIZE = ["model.width=64", "model.g_dim=128", "model.rnn_size=256", "data.n_future=10",
              "data.eval_n_future=20"]
SIDE_BY_SIDE = 3   # test sequences shown in the side-by-side GIFs
log = logging.getLogger("decoder_comparison")


def settings(args: argparse.Namespace) -> Dict[str, Any]:
    """Everything that makes two runs of a variant comparable; stored with every result."""
    return {"size": "paper" if args.paper_size else "cpu", "steps": args.steps,
            "batch_size": args.batch_size, "seed": args.seed, "n_samples": args.n_samples,
            "videos": args.videos}


def variant_config(args: argparse.Namespace, name: str):
    overrides = (PAPER_SIZE if args.paper_size else CPU_SIZE) + VARIANTS[name] + [
        "train.epochs=1", f"train.steps_per_epoch={args.steps}", f"train.batch_size={args.batch_size}",
        f"train.seed={args.seed}", f"train.device={args.device}", f"train.ckpt_every={max(1, args.steps // 4)}",
        f"train.gif_every={max(1, args.steps // 2)}", "data.num_workers=0",
        f"run_dir={os.path.join(args.out, 'runs', name)}"]
    return load_config(os.path.join(ROOT, "configs", "smmnist_demo.yaml"), overrides), overrides


def run_variant(args: argparse.Namespace, name: str) -> Dict[str, Any]:
    """Train (or resume), evaluate and draw one variant; returns its result record."""
    cfg, overrides = variant_config(args, name)
    done = os.path.join(cfg.run_dir, "result.json")
    if os.path.exists(done):
        with open(done) as f:
            result = json.load(f)
        if result["settings"] != settings(args):
            raise SystemExit(f"{done} was made with {result['settings']}, not {settings(args)}; "
                             f"use another --out")
        log.info("%s: finished earlier, skipped", name)
        return result
    t0 = time.perf_counter()
    train(cfg, progress=args.progress)
    t_train = time.perf_counter() - t0
    ecfg = EvalConfig(n_samples=args.n_samples, max_videos=args.videos, batch_size=2, seed=args.seed,
                      device=args.device, fvd=True,
                      fvd_real_stats=os.path.join(args.out, f"real_i3d_stats_{args.videos}.npz"))
    rep = evaluate_run(cfg.run_dir, ecfg, out_dir=os.path.join(cfg.run_dir, "eval"), progress=args.progress)
    write_rollouts(cfg.run_dir, os.path.join(cfg.run_dir, "rollouts"), n_samples=args.n_samples,
                   show=2, max_videos=SIDE_BY_SIDE, seed=args.seed, device=args.device)
    with atomic_path(os.path.join(cfg.run_dir, "best_samples.npy")) as tmp:
        np.save(tmp, best_samples(cfg.run_dir, args))
    result = {
        "variant": name, "overrides": overrides, "settings": settings(args),
        "likelihood": dict(cfg.model.likelihood.__dict__), "train_seconds": round(t_train, 1),
        "eval_seconds": round(time.perf_counter() - t0 - t_train, 1),
        "metrics": rep["metrics"], "fvd": rep["fvd"], "test_nll_per_dim": rep["test_nll_per_dim"],
        "kl_per_frame": rep["kl_per_frame"], "test_sigma": rep["test_sigma"], "protocol": rep["protocol"],
        "config": config_to_yaml(cfg),
    }
    write_text(done, json.dumps(result, indent=2))
    return result


@torch.no_grad()
def best_samples(run_dir: str, args: argparse.Namespace) -> np.ndarray:
    """(S, 2, T, C, H, W) uint8: per shown test sequence, the truth and this variant's best of N."""
    dev = pick_device(args.device)
    model, cfg, _, _ = load_model(run_dir, dev)
    n_past, n_future = cfg.model.n_past, cfg.data.eval_n_future
    dataset = make_dataset(cfg.data, "test", n_past + n_future)
    n = min(SIDE_BY_SIDE, len(dataset))
    gen = torch.Generator(device=dev).manual_seed(args.seed)
    out = []
    for i in range(n):
        videos, _ = rollout_columns(model, dataset[i].unsqueeze(0).to(dev), n_past, n_future,
                                    args.n_samples, 0, gen)
        out.append(torch.stack([videos[0], videos[2]]))                  # truth, best of N
    return (torch.stack(out) * 255).round().to(torch.uint8).numpy()


def fmt(m: Dict[str, float], digits: int) -> str:
    return f"{m['mean']:.{digits}f} ± {m['ci95']:.{digits}f}"


def table(results: List[Dict[str, Any]]) -> str:
    rows = ["| variant | decoder | PSNR ↑ | SSIM ↑ | LPIPS ↓ | FVD ↓ | NLL/dim | KL/frame | σ | train min |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lk = r["likelihood"]
        decoder = {"gaussian": f"Gaussian σ={lk['sigma']:g}, β=1", "mse": f"MSE, β={lk['mse_beta']:g}",
                   "learned": "learned shared σ", "optimal": f"optimal σ per {lk['axes']}",
                   "per_pixel": "per-pixel σ map", "bernoulli": "Bernoulli"}[lk["name"]]
        m = r["metrics"]
        rows.append(f"| {r['variant']} | {decoder} | {fmt(m['psnr'], 2)} | {fmt(m['ssim'], 3)} | "
                    f"{fmt(m['lpips'], 3)} | {r['fvd']:.0f} | {r['test_nll_per_dim']:.3f} | "
                    f"{r['kl_per_frame']:.2f} | {r['test_sigma']:.3f} | {r['train_seconds'] / 60:.1f} |")
    return "\n".join(rows)


def protocol_text(args: argparse.Namespace, results: List[Dict[str, Any]]) -> str:
    p, cfg = results[0]["protocol"], variant_config(args, results[0]["variant"])[0]
    size = PAPER_SIZE if args.paper_size else CPU_SIZE
    return (f"Training: SVG-LP dcgan64 ({', '.join(size)}; other settings configs/smmnist_demo.yaml: "
            f"z_dim 10, 2-layer predictor LSTM, Adam lr {cfg.train.lr:g}), {args.steps} steps of batch "
            f"{args.batch_size}, seed {args.seed}, SM-MNIST with 2 digits from the bundled 5000 MNIST "
            f"digits, same training sequences for every variant.\n"
            f"Evaluation: {p['videos']} fixed test sequences, {p['n_past']} context → {p['n_future']} "
            f"predicted frames, best of N={p['n_samples']} samples per sequence (by each metric averaged "
            f"over the predicted frames), mean ± 95% CI over sequences. PSNR: {p['psnr']}. SSIM: "
            f"{p['ssim']}. LPIPS: {p['lpips']}. FVD: {p['fvd']}. NLL/dim: each variant's own likelihood "
            f"with its test-time σ (optimal σ: the running average from training), summed over frames "
            f"2..{p['n_past'] + p['n_future']} with posterior z and teacher forcing, divided by the "
            f"number of values; σ: the decoder σ per sequence (root mean σ² for the per-pixel map; for "
            f"mse the σ of the equivalent Gaussian, √(β·C·H·W/2)), mean over sequences. NLLs of "
            f"different likelihoods are not comparable with each other (Bernoulli is a different "
            f"density, mse's is that of its equivalent Gaussian).")


def plot(results: List[Dict[str, Any]], path: str, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["variant"] for r in results]
    panels = [("PSNR (dB) ↑", [r["metrics"]["psnr"] for r in results]),
              ("SSIM ↑", [r["metrics"]["ssim"] for r in results]),
              ("LPIPS ↓", [r["metrics"]["lpips"] for r in results]),
              ("FVD ↓", [{"mean": r["fvd"], "ci95": 0.0} for r in results])]   # no interval for FVD
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
    for ax, (title, vals) in zip(axes, panels):
        colors = ["tab:blue" if n.startswith(("optimal", "learned", "per_pixel")) else "tab:gray"
                  for n in names]
        err = [v["ci95"] for v in vals]
        ax.bar(range(len(names)), [v["mean"] for v in vals], yerr=err if any(err) else None,
               color=colors, capsize=3)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_title(title)
        lo = min(v["mean"] - v["ci95"] for v in vals)
        hi = max(v["mean"] + v["ci95"] for v in vals)
        ax.set_ylim(max(0.0, lo - 0.1 * (hi - lo)), hi + 0.05 * (hi - lo))
    fig.suptitle("SVG-LP on SM-MNIST by decoder (blue: calibrated σ-VAE decoders). " + subtitle, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def side_by_side(args: argparse.Namespace, results: List[Dict[str, Any]]) -> List[str]:
    """Per shown test sequence: truth | each variant's best sample, as a GIF and a PNG strip."""
    per_variant = [np.load(os.path.join(args.out, "runs", r["variant"], "best_samples.npy")) for r in results]
    n_past = results[0]["protocol"]["n_past"]
    written = []
    for i in range(per_variant[0].shape[0]):
        videos = torch.from_numpy(np.stack([per_variant[0][i, 0]] + [v[i, 1] for v in per_variant])) / 255.0
        gif, strip = labelled_rollout(videos, ["truth"] + [r["variant"] for r in results], n_past)
        base = os.path.join(args.out, f"side_by_side_{i}")
        write_gif(base + ".gif", gif)
        write_png(base + ".png", strip)
        written.append(base + ".gif")
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/decoder_comparison")
    p.add_argument("--steps", type=int, default=500, help="training steps per variant")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma-separated subset of: {', '.join(VARIANTS)}")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-samples", type=int, default=20, help="samples per test sequence (best of N)")
    p.add_argument("--videos", type=int, default=64, help="test sequences scored")
    p.add_argument("--paper-size", action="store_true",
                   help="the paper's network and frame counts instead of the CPU size")
    p.add_argument("--progress", action="store_true", help="progress bars")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        p.error(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    if args.steps < 1 or args.n_samples < 1 or args.videos < 2:
        p.error("need --steps >= 1, --n-samples >= 1 and --videos >= 2 (FVD needs a covariance)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("svg.train").setLevel(logging.WARNING)
    os.makedirs(os.path.join(args.out, "runs"), exist_ok=True)

    t0 = time.perf_counter()
    results = []
    for name in names:
        log.info("variant %s (%d of %d)", name, len(results) + 1, len(names))
        results.append(run_variant(args, name))
        r = results[-1]
        log.info("%s: PSNR %.2f, SSIM %.3f, LPIPS %.3f, FVD %.0f, σ %.3f (train %.0f s, eval %.0f s)",
                 name, r["metrics"]["psnr"]["mean"], r["metrics"]["ssim"]["mean"],
                 r["metrics"]["lpips"]["mean"], r["fvd"], r["test_sigma"], r["train_seconds"],
                 r["eval_seconds"])
    wall = time.perf_counter() - t0
    proto = protocol_text(args, results)
    md = table(results)
    command = "python benchmarks/decoder_comparison.py " + " ".join(argv if argv is not None else sys.argv[1:])
    total = sum(r["train_seconds"] + r["eval_seconds"] for r in results)
    write_text(os.path.join(args.out, "results.md"),
                 f"# Decoder comparison\n\n`{command.strip()}`\n\n{md}\n\n{proto}\n\n"
                 f"Train + evaluate time summed over variants: {total / 60:.1f} min "
                 f"(this invocation: {wall / 60:.1f} min; device {pick_device(args.device)}, "
                 f"{torch.get_num_threads()} threads).\n")
    write_text(os.path.join(args.out, "results.json"),
                 json.dumps({"command": command.strip(), "protocol": proto, "results": results}, indent=2))
    plot(results, os.path.join(args.out, "comparison.png"),
         f"{args.steps} steps, best of {args.n_samples}, {results[0]['protocol']['videos']} test sequences")
    gifs = side_by_side(args, results)
    print(md)
    print()
    print(proto)
    print(f"\nwrote {args.out}/results.md, results.json, comparison.png, {', '.join(map(os.path.basename, gifs))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

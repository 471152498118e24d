"""``svg evaluate``: best-of-N PSNR/SSIM/LPIPS (and FVD) of a trained run, with the protocol.

    svg evaluate --run runs/smmnist --n-samples 100 data.options.protocol=srvp data.root=/data/mnist

``key=value`` arguments after the options change the data settings stored in the checkpoint
(``data.*`` keys only), so moved data or another test set need no checkpoint surgery.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from typing import Any, Dict, Optional, Sequence

from core.errors import UserError
from core.owned_files import OVERWRITE_HELP, check_writable, refuse_existing
from svg.config import EvalConfig, check_frame_shape
from svg.config.read import read_config
from svg.data import make_dataset
from core.devices import pick_device
from svg.runtime import keep_freed_memory
from svg.eval.report import REPORT_FILES, ReportNotWritten, folder_name, report_json, write_report
from svg.eval.words import WEIGHTS_WORDS, sequences_words
from svg.eval.evaluate import check_eval_config, check_options, evaluate, resolve_lengths
from svg.eval.fvd import fvd_accumulator
from svg.eval.registry import METRICS, option_flags
from svg.eval.rollouts import rollout_examples
from svg.checkpoints import RAW_WEIGHTS_HELP, load_model, weights_kind

EXIT_NOT_WRITTEN = 1
SIZE_UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}


def evaluate_run(run: str, cfg: EvalConfig = EvalConfig(), split: str = "test",
                 overrides: Sequence[str] = (), out_dir: Optional[str] = None,
                 progress: bool = True, raw_weights: bool = False, overwrite: bool = False
                 ) -> Dict[str, Any]:
    """Evaluate a run folder or checkpoint; writes metrics.json, per_step.csv, metrics.png,
    rollouts.npz and report.html (:data:`svg.eval.report.REPORT_FILES`).

    The report's ``protocol`` names the checkpoint, data and every metric choice; ``config`` is the
    run's config as evaluated (the ``data.*`` overrides applied). The options are
    checked and the output folder (``out_dir``, else :func:`svg.eval.report.folder_name` next to
    the checkpoint) proven writable before any work. With ``cfg.fvd``, a failure of FVD is raised
    only after the other metrics are written; a failed write raises :class:`ReportNotWritten`,
    which carries the computed report. ``raw_weights``: the live weights instead of their moving
    average (when training kept one); the protocol names which (``weights``), and the default
    folder's name says ``raw`` when they are not what the checkpoint gives by default. Report
    files already in the output folder are refused before any work, unless ``overwrite``.
    """
    check_options(cfg)
    device = pick_device(cfg.device)
    if device.type == "cpu":
        keep_freed_memory()   # large sample batches: see svg.runtime
    model, run_cfg, ckpt, step = load_model(run, device, raw_weights)
    weights = weights_kind(ckpt, raw_weights)
    run_cfg = read_config(run_cfg, overrides, allowed=["data."])
    check_frame_shape(run_cfg, "the run's config with the data settings given", model_fixed=True)
    cfg = resolve_lengths(cfg, model, run_cfg.data.eval_n_future)
    seq_len = cfg.n_past + cfg.n_future
    dataset = make_dataset(run_cfg.data, split, seq_len)
    n = check_eval_config(cfg, len(dataset), split)   # before any network is loaded
    what, fix = "the evaluation folder (--out)", "choose another --out"
    if out_dir is None:   # every setting that changes the result names the folder
        out_dir = os.path.join(os.path.dirname(os.path.abspath(ckpt)),
                               folder_name(split, cfg, n, len(dataset), overrides, ckpt,
                                           raw_weights=weights != weights_kind(ckpt)))
        what = "the evaluation folder (made next to the checkpoint; --out chooses another)"
        fix = "give --out DIR to write elsewhere"
    check_writable(out_dir, what)
    refuse_existing([os.path.join(out_dir, f) for f in REPORT_FILES], overwrite, fix)
    fvd = fvd_accumulator(cfg.fvd, cfg.fvd_real_stats, device, run_cfg.data, split, n, seq_len)
    report = evaluate(model, dataset, cfg, progress=progress, fvd=fvd)
    report["protocol"].update(checkpoint=os.path.abspath(ckpt), checkpoint_step=step,
                              weights=weights,
                              dataset=run_cfg.data.name, data_root=run_cfg.data.root,
                              data_options=dict(run_cfg.data.options), split=split)
    report["config"] = json.loads(json.dumps(dataclasses.asdict(run_cfg), default=str))
    # a few videos drawn again for the report's pictures (none are held while scoring)
    report["rollouts"] = rollout_examples(model, dataset, cfg, report["results"])
    if fvd is not None:
        res = fvd.result()
        report["fvd"] = res["fvd"]
        report["protocol"]["fvd"] = res.get("protocol") or f"failed: {res['error']}"
    report["out_dir"] = out_dir
    try:
        write_report(out_dir, report)
    except OSError as e:   # e.g. a full disk: the caller still gets the numbers
        raise ReportNotWritten(out_dir, report, e) from e
    if fvd is not None and fvd.error is not None:
        raise RuntimeError(f"FVD failed ({fvd.error}); the other metrics are written to "
                           f"{out_dir}/metrics.json") from fvd.error
    return report


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = EvalConfig()
    p.add_argument("--run", required=True, help="run folder (uses best.pt, else the latest checkpoint) "
                                                "or a checkpoint file")
    p.add_argument("--n-samples", type=int, default=d.n_samples, help="samples per sequence (N)")
    p.add_argument("--n-past", type=int, default=None, help="context frames (default: the model's)")
    p.add_argument("--n-future", type=int, default=None,
                   help="predicted frames (default: data.eval_n_future; SVG: 20 SM-MNIST, 28 BAIR)")
    p.add_argument("--split", default="test", choices=["test", "val", "train"])
    p.add_argument("--max-videos", type=int, default=None, help="score only the first videos")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="sequences per batch at most (× N samples); the memory budget may lower it")
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="memory the sample chunks may use, e.g. 3G, 512M (K, M, G: binary units; "
                        "default: half the available RAM, or of the free GPU memory)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--metrics", nargs="+", default=d.metrics, choices=sorted(METRICS))
    _add_metric_options(p)
    p.add_argument("--fvd", action="store_true", help="also FVD (one random sample per test video)")
    p.add_argument("--fvd-real-stats", default=None, metavar="NPZ",
                   help="test-video I3D statistics: read if the file exists, else computed and saved")
    p.add_argument("--out", default=None, help="output folder (default: inside the run folder)")
    p.add_argument("--device", default=d.device)
    p.add_argument("--raw-weights", action="store_true", help=RAW_WEIGHTS_HELP)
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.add_argument("overrides", nargs="*", metavar="data.key=value",
                   help="data settings to change, e.g. data.root=/new/place data.options.protocol=srvp")


def _add_metric_options(p: argparse.ArgumentParser) -> None:
    """A flag for each option each registered metric declares (e.g. ``--ssim-window``, ``--lpips``)."""
    for metric in METRICS.values():
        for flag, f in option_flags(metric):
            choices = f.metadata.get("choices")
            off = f.metadata.get("off")
            if choices is not None and off is not None:
                choices = [*choices, off]
            p.add_argument(flag, dest=f"metric_option:{metric.name}:{f.name}", default=f.default,
                           choices=choices, help=f.metadata.get("help", f"{metric.name} option {f.name}"))


def eval_config_from_args(args: argparse.Namespace) -> EvalConfig:
    options: Dict[str, Dict[str, Any]] = {}
    switched_off = set()
    for metric in METRICS.values():
        for _, f in option_flags(metric):
            value = getattr(args, f"metric_option:{metric.name}:{f.name}")
            if value is not None and value == f.metadata.get("off"):
                switched_off.add(metric.name)
                continue
            options.setdefault(metric.name, {})[f.name] = value
    return EvalConfig(n_samples=args.n_samples, n_past=args.n_past, n_future=args.n_future,
                      max_videos=args.max_videos, batch_size=args.batch_size, seed=args.seed,
                      max_memory=None if args.max_memory is None else parse_size(args.max_memory),
                      metrics=[m for m in args.metrics if m not in switched_off],
                      metric_options=options, fvd=args.fvd, fvd_real_stats=args.fvd_real_stats,
                      device=args.device)


def parse_size(text: str, option: str = "--max-memory") -> int:
    """Bytes from ``3G``, ``512M``, ``800K`` or a plain byte count (binary units; > 0)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", str(text), re.IGNORECASE)
    value = int(float(m.group(1)) * SIZE_UNITS[m.group(2).upper()]) if m else 0
    if value < 1:
        raise UserError(f"{option} must be a positive size such as 3G, 512M or 800K (K, M, G: "
                        f"binary units), got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    cfg = eval_config_from_args(args)
    try:
        rep = evaluate_run(args.run, cfg, args.split, args.overrides, args.out,
                           raw_weights=args.raw_weights, overwrite=args.overwrite)
    except ReportNotWritten as e:   # the work is done: show the numbers, then say what failed
        print_summary(e.report)
        print(f"svg evaluate: error: could not write {', '.join(REPORT_FILES)} to "
              f"{e.out_dir} ({e.cause}); the report follows", file=sys.stderr)
        print(report_json(e.report))
        return EXIT_NOT_WRITTEN
    print_summary(rep)
    print(f"wrote {rep['out_dir']}/{', '.join(REPORT_FILES)}")
    return 0


def print_summary(rep: Dict[str, Any]) -> None:
    """The report's numbers and protocol in a few lines on stdout."""
    p = rep["protocol"]
    print(f"{p['dataset']} {p['split']}: {sequences_words(p)}, {p['n_past']} → {p['n_future']} frames, "
          f"best of {p['n_samples']} samples (seed {p['seed']}), checkpoint step {p['checkpoint_step']}, "
          f"{WEIGHTS_WORDS.get(p.get('weights'), 'its weights')}")
    floor = rep.get("copy_last_frame", {})
    for k, m in rep["metrics"].items():
        f = floor.get(k)
        beside = (f"   copy last frame {f['mean']:.4f} ± {f['ci95']:.4f}"
                  f"{'' if f['model_beats_it'] else '  (not beaten)'}" if f else "")
        print(f"  {k.upper():6s} {m['mean']:.4f} ± {m['ci95']:.4f} (95% CI){beside}")
    if floor:
        print("  the model beats copy-last-frame on every metric" if rep["beats_copy_last_frame"]
              else "  FAILING: the model does not beat copy-last-frame on every metric")
    if "diversity" in rep:
        d = rep["diversity"]
        print(f"  diversity {d['mean']:.4f} ± {d['ci95']:.4f} (per-pixel std over the samples)")
    if rep.get("fvd") is not None:
        print(f"  FVD    {rep['fvd']:.2f} ({sequences_words(p)}, one sample each, context included)")
    if "test_nll_per_dim" in rep:   # the key predates other splits; the line names the real one
        print(f"  {p['split']} NLL per dimension {rep['test_nll_per_dim']:.4f}, KL per frame "
              f"{rep['kl_per_frame']:.4f}, test-time σ {rep['test_sigma']:.4f}")


"""The files ``svg evaluate`` writes: ``metrics.json``, ``per_step.csv``, ``metrics.png``,
``rollouts.npz`` (a few videos for the pictures) and ``report.html`` (:mod:`svg.eval.html_report`),
and the folder they go to by default."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
from typing import Any, Dict, List, Optional, Sequence

from core.atomic_files import write_bytes
from svg.config import EvalConfig


#: the files :func:`write_report` writes into its folder, in the order it writes them: the page
#: last, so a folder with ``report.html`` holds everything it shows
REPORT_FILES = ("metrics.json", "per_step.csv", "metrics.png", "rollouts.npz", "report.html")
#: report entries kept in memory only, never written to ``metrics.json``
IN_MEMORY = ("results", "rollouts")

class ReportNotWritten(OSError):
    """The report was computed but could not be written to ``out_dir``; it is kept in ``report``."""

    def __init__(self, out_dir: str, report: Dict[str, Any], cause: OSError):
        super().__init__(f"could not write the evaluation results to {out_dir}: {cause}")
        self.out_dir, self.report, self.cause = out_dir, report, cause


def report_json(report: Dict[str, Any]) -> str:
    """``metrics.json``'s text: the report without its in-memory ``results`` and ``rollouts``."""
    return json.dumps({k: v for k, v in report.items() if k not in IN_MEMORY}, indent=2)


def headline(report: Dict[str, Any]) -> Dict[str, Any]:
    """What a comparison keeps of one evaluation report.

    Returns ``metrics`` and ``ci95`` (the model's mean and 95% interval per metric),
    ``copy_last_frame`` (the floor's mean on the same frames), ``beats_copy_last_frame`` (on every
    metric) and ``diversity`` (the per-pixel standard deviation over the samples, averaged; None
    when not measured).
    """
    names = list(report["metrics"])
    return {"metrics": {m: report["metrics"][m]["mean"] for m in names},
            "ci95": {m: report["metrics"][m]["ci95"] for m in names},
            "copy_last_frame": {m: report["copy_last_frame"][m]["mean"] for m in names},
            "beats_copy_last_frame": report["beats_copy_last_frame"],
            "diversity": report.get("diversity", {}).get("mean")}


def folder_name(split: str, cfg: EvalConfig, videos: int, all_videos: int,
                overrides: Sequence[str] = (), checkpoint: Optional[str] = None,
                raw_weights: bool = False) -> str:
    """``eval_<split>_<past>to<future>_N<n>``, then one tag per setting that changes the result and
    differs from the default, so no result overwrites another's: ``videos<k>`` (fewer than the
    split's ``all_videos``), ``seed<s>``, the metrics (another set), ``<metric>-<value>`` for
    each metric option off its default (``ssim-uniform``, ``lpips-vgg``), ``nolikelihood``, ``fvd``, the checkpoint's name (other than ``best.pt``),
    ``raw`` (``raw_weights``: the live weights of a checkpoint whose default is their moving
    average) and ``data-<hash of the data overrides>``. Batch size and memory budget change no
    result."""
    d = EvalConfig()
    tags = [f"eval_{split}_{cfg.n_past}to{cfg.n_future}_N{cfg.n_samples}"]
    tags += [f"videos{videos}"] if videos < all_videos else []
    tags += [f"seed{cfg.seed}"] if cfg.seed != d.seed else []
    tags += ["-".join(sorted(set(cfg.metrics)))] if sorted(set(cfg.metrics)) != sorted(d.metrics) else []
    tags += _metric_option_tags(cfg)
    tags += [] if cfg.likelihood else ["nolikelihood"]
    tags += ["fvd"] if cfg.fvd else []
    name = os.path.splitext(os.path.basename(checkpoint))[0] if checkpoint else "best"
    tags += [name] if name != "best" else []
    tags += ["raw"] if raw_weights else []
    if overrides:
        tags.append(f"data-{hashlib.sha1(' '.join(sorted(overrides)).encode()).hexdigest()[:8]}")
    return "_".join(tags)


def _metric_option_tags(cfg: EvalConfig) -> List[str]:
    """``<metric>-<value>`` for each option of a chosen metric that is not its declared default."""
    from svg.eval.registry import METRICS

    tags = []
    for name in cfg.metrics:
        defaults = dataclasses.asdict(METRICS.lookup(name).Options())
        for key, value in sorted(cfg.metric_options.get(name, {}).items()):
            tags += [f"{name}-{value}"] if key in defaults and value != defaults[key] else []
    return tags


def write_report(out_dir: str, report: Dict[str, Any]) -> None:
    """Write the evaluation's files (:data:`REPORT_FILES`) into ``out_dir``, made if missing.

    An earlier report's files (``--overwrite``) are removed first, its page first, so the folder
    never mixes two evaluations. ``metrics.json`` (the report without its in-memory entries) comes
    next, so the numbers are kept whatever follows. The files drawn from it (:func:`drawn_files`)
    are all drawn in memory before the first of them is written: a report that cannot be drawn
    leaves ``metrics.json`` alone, from which ``svg report`` draws the page later. Each file is
    written atomically, the page last, so a folder with ``report.html`` holds everything it shows.
    """
    text = report_json(report)
    os.makedirs(out_dir, exist_ok=True)
    for name in reversed(REPORT_FILES):
        earlier = os.path.join(out_dir, name)
        if os.path.lexists(earlier):
            os.remove(earlier)
    write_bytes(os.path.join(out_dir, "metrics.json"), text.encode("utf-8"))
    for name, data in drawn_files(out_dir, report, text).items():
        write_bytes(os.path.join(out_dir, name), data)


def drawn_files(out_dir: str, report: Dict[str, Any], metrics_json: str) -> Dict[str, bytes]:
    """The contents of the files drawn from a report, by name in :data:`REPORT_FILES` order: its
    per-step table and plot, the rollouts kept for the pictures (``report["rollouts"]``, when
    there) and ``report.html``, built from ``metrics_json`` (:func:`report_json`'s text), so it
    shows exactly what ``svg report`` would rebuild from ``out_dir``."""
    from svg.eval.html_report import Evaluation, render
    from svg.eval.rollouts import rollouts_npz

    rollouts = report.get("rollouts")
    files = {"per_step.csv": per_step_csv(report).encode("utf-8"),
             "metrics.png": plot_per_step(report["results"], report["protocol"],
                                          report.get("copy_last_frame", {}))}
    if rollouts is not None:
        files["rollouts.npz"] = rollouts_npz(rollouts)
    page = render([Evaluation(out_dir, json.loads(metrics_json), rollouts)])
    files["report.html"] = page.encode("utf-8")
    return files


def per_step_csv(report: Dict[str, Any]) -> str:
    """``per_step.csv``: per predicted frame (1-based), each metric's best-of-N mean, then the
    copy-last-frame floor's."""
    results, p = report["results"], report["protocol"]
    floor = report.get("copy_last_frame", {})
    names = list(results)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["frame"] + names + [f"{k}_copy_last_frame" for k in names if k in floor])
    for t in range(p["n_future"]):
        w.writerow([p["n_past"] + 1 + t] + [f"{results[k].curve[t].item():.6f}" for k in names]
                   + [f"{floor[k]['per_step'][t]:.6f}" for k in names if k in floor])
    return buf.getvalue()


def plot_per_step(results, protocol: Dict[str, Any], floor: Optional[Dict[str, Any]] = None) -> bytes:
    """``metrics.png``'s bytes: one panel per metric, the best samples' mean against the predicted
    frame index, with the copy-last-frame floor (``floor``: the report's ``copy_last_frame``)
    dashed beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_past = protocol["n_past"]
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.4), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        frames = list(range(n_past + 1, n_past + 1 + r.curve.numel()))
        ax.plot(frames, r.curve.numpy(), marker="o", ms=3, label=f"model, best of {protocol['n_samples']}")
        if floor and name in floor:
            ax.plot(frames, floor[name]["per_step"], ls="--", color="grey", label="copy last frame")
            ax.legend(fontsize=7)
        ax.set_xlabel("frame")
        ax.set_title(f"{name.upper()}: {r.mean:.4g} ± {r.ci95:.2g}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{protocol['dataset']} {protocol['split']}, {protocol['n_past']} → "
                 f"{protocol['n_future']}, best of {protocol['n_samples']}, {protocol['videos']} "
                 f"{'videos' if protocol.get('source_videos') is None else 'clips of ' + str(protocol['source_videos']) + ' videos'}",
                 fontsize=9)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    return png.getvalue()

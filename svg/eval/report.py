"""The files ``svg evaluate`` writes: ``metrics.json``, ``per_step.csv`` and ``metrics.png``."""
from __future__ import annotations

import csv
import io
import json
import os
from typing import Any, Dict

from data_loaders.atomic import atomic_path, write_text


def write_report(out_dir: str, report: Dict[str, Any]) -> None:
    """Write the report (without its in-memory ``results``) with its per-step table and plot."""
    os.makedirs(out_dir, exist_ok=True)
    results = report["results"]
    p = report["protocol"]
    write_text(os.path.join(out_dir, "metrics.json"),
               json.dumps({k: v for k, v in report.items() if k != "results"}, indent=2))
    buf = io.StringIO()
    w = csv.writer(buf)
    names = list(results)
    w.writerow(["frame"] + names)
    for t in range(p["n_future"]):
        w.writerow([p["n_past"] + 1 + t] + [f"{results[k].curve[t].item():.6f}" for k in names])
    write_text(os.path.join(out_dir, "per_step.csv"), buf.getvalue())
    plot_per_step(results, os.path.join(out_dir, "metrics.png"), p)


def plot_per_step(results, path: str, protocol: Dict[str, Any]) -> None:
    """One panel per metric: the best samples' mean against the predicted frame index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_past = protocol["n_past"]
    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.4), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items()):
        frames = list(range(n_past + 1, n_past + 1 + r.curve.numel()))
        ax.plot(frames, r.curve.numpy(), marker="o", ms=3)
        ax.set_xlabel("frame")
        ax.set_title(f"{name.upper()}: {r.mean:.4g} ± {r.ci95:.2g}")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{protocol['dataset']} {protocol['split']}, {protocol['n_past']} → "
                 f"{protocol['n_future']}, best of {protocol['n_samples']}, {protocol['videos']} videos",
                 fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)

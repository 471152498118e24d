"""``report.html``: one evaluation, or several side by side, as a page that opens from disk.

The page is self-contained — CSS inline, every picture a base64 ``data:`` URI, no script, font or
style sheet fetched from anywhere — so it can be mailed, archived with the run, or opened on a
machine with no network. It is built from what an evaluation folder holds (``metrics.json`` and,
when there, ``rollouts.npz``) with a Jinja2 template (``templates/report.html.j2``) that escapes
every value (autoescape), so a folder name or data root with markup in it shows as text.

Every number on the page sits in an element that names it — ``data-eval`` (which evaluation),
``data-metric``, ``data-of`` (``model`` or ``copy_last_frame``), ``data-stat`` (``mean`` or
``ci95``) and ``data-value`` (the unrounded value) — so a test, or a script scraping a page,
can read them back and compare them with ``metrics.json``.
"""
from __future__ import annotations

import base64
import io
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from core.atomic_files import write_text
from core.errors import UserError
from svg.eval.words import WEIGHTS_WORDS, sequences_words
from svg.eval.rollouts import read_rollouts

#: the metrics a model must beat copy-last-frame on to PASS (PSNR alone rewards a blurred mean)
REQUIRED = ("psnr", "ssim", "lpips")
#: protocol keys that say what was scored, not how: they may differ between compared evaluations
SCORED = ("checkpoint", "checkpoint_step", "weights")
#: top-level keys of metrics.json the page shows in their own sections
SHOWN = ("metrics", "per_step", "protocol", "copy_last_frame", "beats_copy_last_frame",
         "diversity", "fvd", "test_nll_per_dim", "kl_per_frame", "test_sigma", "config")
#: protocol entries the page cannot do without (every metrics.json of svg evaluate has them)
PROTOCOL_NEEDED = ("videos", "n_past", "n_future", "n_samples")
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "report.html.j2")


@dataclass
class Evaluation:
    """One evaluation as the page shows it.

    folder : where it was read from (its label on the page).
    data : ``metrics.json`` as a dict (see :func:`svg.eval.evaluate.evaluate` for its keys).
    rollouts : the arrays of ``rollouts.npz`` (:func:`svg.eval.rollouts.rollout_examples`), or
        None when the folder has none (evaluations made before it was written).
    """
    folder: str
    data: Dict[str, Any]
    rollouts: Optional[Dict[str, np.ndarray]] = None


def load_evaluation(folder: str) -> Evaluation:
    """Read an evaluation folder written by ``svg evaluate``.

    A folder without ``metrics.json``, or one whose ``metrics.json`` is not an evaluation's,
    raises a one-line :class:`UserError` naming it.
    """
    path = os.path.join(folder, "metrics.json")
    if not os.path.isdir(folder):
        raise UserError(f"{folder} is not a folder; give evaluation folders (svg evaluate writes them)")
    if not os.path.isfile(path):
        raise UserError(f"{folder} holds no metrics.json: not an evaluation folder (svg evaluate "
                        f"writes one)")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"{path} cannot be read as JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict) \
            or not isinstance(data.get("protocol"), dict):
        raise UserError(f"{path} has no 'metrics' and 'protocol': not written by svg evaluate")
    missing = [k for k in PROTOCOL_NEEDED if k not in data["protocol"]]
    if missing:
        raise UserError(f"{path}: its protocol lacks {', '.join(missing)}; not written by svg evaluate")
    return Evaluation(folder, data, read_rollouts(os.path.join(folder, "rollouts.npz")))


def verdict(data: Dict[str, Any]) -> Tuple[str, str]:
    """(``PASS`` | ``FAILING`` | ``INCOMPLETE`` | ``UNKNOWN``, a sentence) against copy-last-frame.

    FAILING as the console says it: a metric scored and not beaten. PASS needs PSNR, SSIM and
    LPIPS all scored and beaten; with every scored metric beaten but one of those three not scored
    the result is INCOMPLETE (not shown to pass). UNKNOWN: no floor recorded (older files).
    """
    floor = data.get("copy_last_frame") or {}
    if not floor:
        return "UNKNOWN", "no copy-last-frame floor in this metrics.json (written before the floor was)"
    lost = [m.upper() for m, f in floor.items() if not f.get("model_beats_it")]
    if lost:
        return "FAILING", f"the model does not beat copy-last-frame on {', '.join(lost)}"
    missing = [m.upper() for m in REQUIRED if m not in floor]
    if missing:
        return "INCOMPLETE", (f"the model beats copy-last-frame on every metric scored, but "
                              f"{', '.join(missing)} {'was' if len(missing) == 1 else 'were'} not "
                              f"scored, so it is not shown to pass")
    return "PASS", "the model beats copy-last-frame on PSNR, SSIM and LPIPS"


def number(value: Any, eval_index: int, metric: str, of: str, stat: str, digits: int = 4
           ) -> Dict[str, Any]:
    """A number as the template shows it: text rounded to ``digits`` and the attributes naming it."""
    text = "—" if value is None else f"{value:.{digits}f}"
    return {"text": text, "eval": eval_index, "metric": metric, "of": of, "stat": stat,
            "value": "" if value is None else repr(float(value))}


def _png_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _array_uri(image: np.ndarray) -> str:
    """(H, W, 3) uint8 → a PNG ``data:`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")   # no display: the pictures go into the page
    import matplotlib.pyplot as plt

    return plt


def _frames(p: Dict[str, Any], count: int) -> List[int]:
    """1-based frame numbers of ``count`` predicted frames after ``p``'s context."""
    return list(range(p["n_past"] + 1, p["n_past"] + 1 + count))


def curve_plots(evaluations: Sequence[Evaluation], names: Sequence[str]) -> List[Dict[str, str]]:
    """One PNG per metric: the best samples' mean per predicted frame of every evaluation, its
    copy-last-frame floor dashed in the same colour. Returns [{metric, uri, alt}]."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    several = len(evaluations) > 1
    plots = []
    for name in names:
        fig, ax = plt.subplots(figsize=(3.8, 2.9))   # three side by side on a laptop screen
        for k, ev in enumerate(evaluations):
            curve = ev.data.get("per_step", {}).get(name)
            if curve is None:
                continue
            p, colour = ev.data["protocol"], f"C{k % 10}"
            tag = f"{k + 1}: " if several else ""
            ax.plot(_frames(p, len(curve)), curve, marker="o", ms=3, color=colour,
                    label=f"{tag}model, best of {p['n_samples']}")
            floor = (ev.data.get("copy_last_frame") or {}).get(name)
            if floor is not None:
                ax.plot(_frames(p, len(floor["per_step"])), floor["per_step"], ls="--", color=colour,
                        alpha=0.7, label=f"{tag}copy last frame")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # frames are whole numbers
        ax.set_xlabel("predicted frame (1-based)")
        ax.set_ylabel(name.upper())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        plots.append({"metric": name, "uri": _png_uri(fig),
                      "alt": f"{name.upper()} per predicted frame, model and copy last frame"})
        plt.close(fig)
    return plots


def rollout_rows(rollouts: Dict[str, np.ndarray]) -> List[Dict[str, Any]]:
    """Per kept video, its rows as framed strips (time left to right; context framed green,
    predicted frames red, as ``svg generate`` draws them): truth, the best sample, the other
    samples, copy-last-frame. Returns [{video, rows: [{label, scores, uri, width}]}]."""
    import torch

    from svg.visualize import framed, to_uint8

    n_past, n = int(rollouts["n_past"]), int(rollouts["n_samples"])
    names = [str(m) for m in rollouts["metrics"]]
    best_by = str(rollouts["best_by"])
    videos = []
    for v in range(rollouts["truth"].shape[0]):
        truth = torch.from_numpy(rollouts["truth"][v]).movedim(-1, 1).float() / 255    # (T, C, H, W)
        samples = torch.from_numpy(rollouts["samples"][v]).movedim(-1, 2).float() / 255
        copy_last = truth[n_past - 1:n_past].expand(truth.shape[0] - n_past, -1, -1, -1)
        floor = torch.cat([truth[:n_past], copy_last])
        rows = torch.cat([truth[None], samples, floor[None]])                          # (R, T, C, H, W)
        cells = framed(rows, n_past)                                                   # (R, T, h, w, 3)
        strips = cells.permute(0, 2, 1, 3, 4).reshape(rows.shape[0], cells.shape[2], -1, 3)
        strips = to_uint8(strips)                                                    # (R, h, T·w, 3)
        scale = max(1, 64 // truth.shape[-1])   # small frames drawn at least 64 pixels wide
        labels: List[Tuple[str, str]] = [("truth", "")]
        for j, index in enumerate(rollouts["sample_index"][v]):
            scores = " · ".join(f"{m.upper()} {float(rollouts['scores'][v, j, i]):.4f}"
                                for i, m in enumerate(names))
            what = f"best of {n} by {best_by.upper()}" if j == 0 else "another sample"
            labels.append((f"{what} (sample {int(index) + 1} of {n})", scores))
        labels.append(("copy last frame", ""))
        videos.append({"video": int(rollouts["video_index"][v]) + 1, "rows": [
            {"label": label, "scores": scores, "uri": _array_uri(strip),
             "width": strip.shape[1] * scale}
            for (label, scores), strip in zip(labels, strips)]})
    return videos


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _config_text(config: Optional[Dict[str, Any]]) -> Optional[str]:
    if not config:
        return None
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(config))


def _metric_names(evaluations: Sequence[Evaluation]) -> List[str]:
    names: List[str] = []
    for ev in evaluations:
        names += [m for m in ev.data["metrics"] if m not in names]
    return names


def _direction(name: str) -> str:
    """↑ or ↓ from the metric registry; empty for a metric it does not know (a metrics.json
    written by another version may name one)."""
    from svg.eval.registry import METRICS

    return ("↑" if METRICS[name].higher_is_better else "↓") if name in METRICS else ""


def evaluation_context(ev: Evaluation, k: int) -> Dict[str, Any]:
    """What the template shows of one evaluation (numbers already formatted and named)."""
    d, p = ev.data, ev.data["protocol"]
    floor = d.get("copy_last_frame") or {}
    status, sentence = verdict(d)
    rows = []
    for name, m in d["metrics"].items():
        f = floor.get(name)
        rows.append({"name": name.upper(), "direction": _direction(name),
                     "mean": number(m.get("mean"), k, name, "model", "mean"),
                     "ci95": number(m.get("ci95"), k, name, "model", "ci95"),
                     "floor_mean": number((f or {}).get("mean"), k, name, "copy_last_frame", "mean"),
                     "floor_ci95": number((f or {}).get("ci95"), k, name, "copy_last_frame", "ci95"),
                     "beats": None if f is None else bool(f.get("model_beats_it"))})
    fvd = None
    if "fvd" in d:
        fvd = {"value": number(d["fvd"], k, "fvd", "model", "mean", 2), "protocol": p.get("fvd", "")}
    diversity = None
    if d.get("diversity"):
        diversity = {"mean": number(d["diversity"].get("mean"), k, "diversity", "model", "mean"),
                     "ci95": number(d["diversity"].get("ci95"), k, "diversity", "model", "ci95"),
                     "protocol": d["diversity"].get("protocol", "")}
    likelihood = [(label, number(d[key], k, key, "model", "mean"))
                  for key, label in (("test_nll_per_dim", f"{p.get('split', 'test')} NLL per dimension"),
                                     ("kl_per_frame", "KL per frame"),
                                     ("test_sigma", "test-time σ")) if d.get(key) is not None]
    return {
        "index": k, "anchor": f"evaluation-{k + 1}", "folder": ev.folder,
        "summary": (f"{p.get('dataset', '?')} {p.get('split', '?')}: {sequences_words(p)}, "
                    f"{p['n_past']} → {p['n_future']} frames, best of {p['n_samples']} samples "
                    f"(seed {p.get('seed', '?')})"),
        "scored": [("checkpoint", _text(p.get("checkpoint"))),
                   ("step", _text(p.get("checkpoint_step"))),
                   ("weights", WEIGHTS_WORDS.get(p.get("weights"), _text(p.get("weights")))),
                   ("dataset", _text(p.get("dataset"))), ("split", _text(p.get("split"))),
                   ("data root", _text(p.get("data_root"))),
                   ("data options", _text(p.get("data_options")))],
        "step": _text(p.get("checkpoint_step")), "weights": _text(p.get("weights")),
        "status": status, "sentence": sentence, "rows": rows,
        "by_metric": {name: row for name, row in zip(d["metrics"], rows)}, "fvd": fvd, "diversity": diversity,
        "likelihood": likelihood, "n_samples": p["n_samples"],
        "curves": curve_plots([ev], list(d["metrics"])),
        "rollouts": rollout_rows(ev.rollouts) if ev.rollouts is not None else None,
        "protocol": [(key, _text(value)) for key, value in p.items()],
        "config": _config_text(d.get("config")),
        "other": [(key, _text(value)) for key, value in d.items() if key not in SHOWN],
    }


def differences(evaluations: Sequence[Evaluation]) -> List[Tuple[str, List[str]]]:
    """Protocol entries (other than what was scored) whose values differ between evaluations:
    [(key, one value per evaluation)] — a comparison across them is not like for like."""
    keys: List[str] = []
    for ev in evaluations:
        keys += [k for k in ev.data["protocol"] if k not in keys and k not in SCORED]
    out = []
    for key in keys:
        values = [_text(ev.data["protocol"].get(key)) for ev in evaluations]
        if len(set(values)) > 1:
            out.append((key, values))
    return out


def render(evaluations: Sequence[Evaluation]) -> str:
    """The page's HTML for one evaluation, or several with a comparison first.

    Parameters
    ----------
    evaluations : at least one :class:`Evaluation`.

    Returns
    -------
    str, a complete HTML document with no external reference (every picture a ``data:`` URI).
    """
    import jinja2

    from svg import __version__

    if not evaluations:
        raise ValueError("render needs at least one evaluation")
    with open(TEMPLATE, encoding="utf-8") as f:
        source = f.read()
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    names = _metric_names(evaluations)
    several = len(evaluations) > 1
    shown = [evaluation_context(ev, k) for k, ev in enumerate(evaluations)]
    if several:
        title = f"svg report: {len(evaluations)} evaluations compared"
    else:
        p = evaluations[0].data["protocol"]
        title = (f"svg evaluate: {p.get('dataset', '?')} {p.get('split', '?')}, {p['n_past']} → "
                 f"{p['n_future']}, step {p.get('checkpoint_step', '?')}")
    return env.from_string(source).render(
        title=title, version=__version__, evaluations=shown, several=several, metric_names=names,
        directions={n: _direction(n) for n in names},
        compare_curves=curve_plots(evaluations, names) if several else [],
        differences=differences(evaluations) if several else [])


def write_html(path: str, evaluations: Sequence[Evaluation]) -> None:
    """Write :func:`render`'s page to ``path`` atomically (an interrupted write leaves no page)."""
    write_text(path, render(evaluations))

"""report.html (issue 44): every ``svg evaluate`` writes a self-contained page, ``svg report``
rebuilds it or compares several evaluations, and a real browser shows what metrics.json holds.

The browser is Debian's headless Chromium driven through Selenium with the system chromedriver
(nothing is downloaded); where either is missing, the browser tests skip and say what to install.
Screenshots go to pytest's tmp_path, never into the repository.
"""
import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import torch

from svg import SVG
from svg.cli import main
from svg.config import EvalConfig, load_config
from svg.data import make_dataset
from svg.eval.evaluate import evaluate
from svg.eval.html_report import Evaluation, load_evaluation, render, verdict
from svg.eval.metrics import psnr
from svg.eval.rollouts import read_rollouts, rollout_examples
from test_evaluate_options import SMALL

BROWSER_MISSING = ("headless Chromium not found: install Debian's chromium and chromium-driver "
                   "(.ci/run does)")


def diverse_model(cfg):
    """A random-weight model whose samples differ visibly: its weight matrices scaled 8× (at the
    initial scale every sample is the same mid grey, and a test of which sample is shown could
    not tell them apart)."""
    torch.manual_seed(0)
    model = SVG(cfg.model)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(8)
    return model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder holding the checkpoint of :func:`diverse_model`."""
    run = tmp_path_factory.mktemp("runs") / "small"
    run.mkdir()
    cfg = load_config(None, SMALL + [f"run_dir={run}"])
    torch.save({"model": diverse_model(cfg).state_dict(), "config": dataclasses.asdict(cfg), "step": 3},
               run / "best.pt")
    return run


@pytest.fixture(scope="module")
def evaluations(run_dir, tmp_path_factory):
    """Two real evaluation folders of the run: all three metrics (N = 3, 3 videos), and PSNR
    only with another seed (N = 2, 2 videos), as ``svg evaluate`` writes them."""
    root = tmp_path_factory.mktemp("evals")
    a, b = root / "full", root / "psnr_seed1"
    assert main(["evaluate", "--run", str(run_dir), "--n-samples", "3", "--max-videos", "3",
                 "--device", "cpu", "--out", str(a)]) == 0
    assert main(["evaluate", "--run", str(run_dir), "--n-samples", "2", "--max-videos", "2",
                 "--metrics", "psnr", "--seed", "1", "--device", "cpu", "--out", str(b)]) == 0
    return a, b


def metrics_json(folder):
    return json.loads((folder / "metrics.json").read_text())


def expected_text(data, metric, of, stat):
    """How the page must show a number of metrics.json: rounded as the console rounds it."""
    if metric == "fvd":
        return f"{data['fvd']:.2f}"
    if metric == "diversity":
        return f"{data['diversity'][stat]:.4f}"
    if metric in data["metrics"]:
        entry = data["metrics"] if of == "model" else data["copy_last_frame"]
        return f"{entry[metric][stat]:.4f}"
    return f"{data[metric]:.4f}"     # the likelihood terms


# ------------------------------------------------------------------ without a browser

def test_evaluate_writes_a_self_contained_report(evaluations):
    a, _ = evaluations
    html = (a / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    for external in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert external not in html, external
    sources = [part.split('"', 1)[0] for part in html.split(' src="')[1:]]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    data = metrics_json(a)
    assert data["config"]["model"]["z_dim"] == 4 and data["protocol"]["checkpoint_step"] == 3
    assert "rollouts" not in data and "results" not in data


def test_the_rollouts_are_the_samples_that_were_scored(run_dir):
    """rollouts.npz holds uint8 frames of the samples the evaluation scored: their PSNR,
    recomputed from the stored frames, is the score the evaluation gave them, and the best is
    the best of N."""
    cfg = load_config(None, SMALL + [f"run_dir={run_dir}"])
    model = diverse_model(cfg).eval()
    ecfg = EvalConfig(n_samples=5, n_past=2, n_future=3, max_videos=3, metrics=["psnr"],
                      likelihood=False, device="cpu")
    dataset = make_dataset(cfg.data, "test", 5)
    report = evaluate(model, dataset, ecfg)
    assert report["diversity"]["mean"] > 0.005          # the samples differ: the test can tell them apart
    r = rollout_examples(model, dataset, ecfg, report["results"], n_videos=2, n_random=2)
    assert r["truth"].dtype == np.uint8 and r["truth"].shape == (2, 5, 64, 64, 1)
    assert r["samples"].dtype == np.uint8 and r["samples"].shape == (2, 3, 5, 64, 64, 1)
    best = report["results"]["psnr"]
    for v in range(2):
        assert r["sample_index"][v, 0] == best.best_index[v]
        assert r["sample_index"][v, 0] not in r["sample_index"][v, 1:]
        truth = torch.from_numpy(r["truth"][v, 2:]).movedim(-1, 1).float() / 255
        for j in range(3):
            frames = torch.from_numpy(r["samples"][v, j, 2:]).movedim(-1, 1).float() / 255
            score = psnr(frames, truth).mean().item()
            assert score == pytest.approx(float(r["scores"][v, j, 0]), abs=0.05)   # uint8 rounding
        assert float(r["scores"][v, 0, 0]) == pytest.approx(float(best.best[v]), abs=1e-5)
        assert r["scores"][v, 0, 0] >= r["scores"][v, 1:, 0].max()
    assert str(r["best_by"]) == "psnr" and int(r["n_past"]) == 2 and int(r["n_samples"]) == 5


@pytest.mark.parametrize("floor, expected", [
    ({"psnr": True, "ssim": True, "lpips": True}, "PASS"),
    ({"psnr": True, "ssim": False, "lpips": True}, "FAILING"),
    ({"psnr": True, "ssim": True}, "INCOMPLETE"),     # LPIPS not scored: not shown to pass
    ({"psnr": False}, "FAILING"),
    ({}, "UNKNOWN"),                                  # metrics.json from before the floor
])
def test_the_verdict_against_copy_last_frame(floor, expected):
    data = {"copy_last_frame": {m: {"model_beats_it": beats} for m, beats in floor.items()}}
    status, sentence = verdict(data)
    assert status == expected and sentence


def test_a_folder_without_metrics_json_is_refused_by_name(tmp_path, evaluations, capsys, monkeypatch):
    empty = tmp_path / "not_an_eval"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)              # where the comparison would go
    assert main(["report", str(evaluations[0]), str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"svg report: error: {empty} holds no metrics.json: not an "
                                   f"evaluation folder (svg evaluate writes one)")
    assert len(err.splitlines()) <= 2 and "Traceback" not in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "metrics.json").write_text('{"fvd": 255.0}')
    assert main(["report", str(other)]) == 2
    assert (f"{other / 'metrics.json'} has no 'metrics' and 'protocol': not written by svg evaluate"
            in capsys.readouterr().err)
    assert sorted(os.listdir(tmp_path)) == ["not_an_eval", "other"]
    assert os.listdir(other) == ["metrics.json"]


def test_report_refuses_to_overwrite_and_never_writes_over_its_inputs(tmp_path, evaluations, capsys):
    folder = tmp_path / "eval"
    shutil.copytree(evaluations[1], folder)
    page = (folder / "report.html").read_bytes()
    assert main(["report", str(folder)]) == 2            # its own report.html: refused by name
    err = capsys.readouterr().err
    assert f"{folder / 'report.html'} already exists" in err and "--overwrite" in err
    assert (folder / "report.html").read_bytes() == page
    assert main(["report", str(folder), "--overwrite"]) == 0
    assert (folder / "report.html").read_bytes() != page   # rebuilt: it names its new folder
    again = tmp_path / "again.html"                         # rebuilt from the folder evaluate wrote:
    assert main(["report", str(evaluations[1]), "--out", str(again)]) == 0
    assert again.read_bytes() == (evaluations[1] / "report.html").read_bytes()   # the same page
    metrics = (folder / "metrics.json").read_bytes()
    assert main(["report", str(folder), "--out", str(folder / "metrics.json"), "--overwrite"]) == 2
    assert "is one of the files the report reads" in capsys.readouterr().err
    assert (folder / "metrics.json").read_bytes() == metrics


def test_an_interrupted_write_leaves_no_page(tmp_path, evaluations, monkeypatch):
    from core import atomic_files as atomic

    def interrupted(src, dst):
        raise KeyboardInterrupt   # Ctrl-C after the page was written, before it took its name

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    assert main(["report", str(evaluations[1]), "--out", str(tmp_path / "page.html")]) == 130
    assert os.listdir(tmp_path) == []   # neither the page nor its temporary


def test_an_older_folder_and_markup_in_names(tmp_path, evaluations):
    """A folder from before rollouts.npz and the config were saved still gets a page, and a
    folder name with markup in it shows as text."""
    folder = tmp_path / "eval<i>x"
    shutil.copytree(evaluations[1], folder)
    os.remove(folder / "rollouts.npz")
    data = metrics_json(folder)
    del data["config"]
    (folder / "metrics.json").write_text(json.dumps(data))
    ev = load_evaluation(str(folder))
    assert ev.rollouts is None
    html = render([ev])
    assert "eval&lt;i&gt;x" in html and "eval<i>x" not in html
    assert "no rollouts.npz" in html and "Not recorded" in html


# ------------------------------------------------------------------ in headless Chromium

def _executable(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Selenium and the system chromedriver; skips when missing."""
    chromium = _executable("chromium", "chromium-browser", "google-chrome")
    driver_path = _executable("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip(BROWSER_MISSING)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium not installed: pip install -e '.[test]' (make test does)")
    from selenium.common.exceptions import SessionNotCreatedException

    options = webdriver.ChromeOptions()
    options.binary_location = chromium   # given, so Selenium never looks for a browser to download
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--window-size=1300,2000"):
        options.add_argument(arg)          # --no-sandbox: CI runs as root
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except SessionNotCreatedException:    # a start slower than chromedriver waits (a loaded machine)
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def open_page(driver, path):
    from selenium.webdriver.common.by import By

    driver.get("file://" + os.path.abspath(path))
    assert driver.execute_script("return document.readyState") == "complete"
    images = driver.execute_script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.alt])")
    assert images and all(done and width > 0 for done, width, _ in images), images
    # nothing was fetched: data: URIs are not network resources
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    return By, images


def shown_numbers(driver, By):
    return [(e.get_attribute("data-eval"), e.get_attribute("data-metric"), e.get_attribute("data-of"),
             e.get_attribute("data-stat"), e.text) for e in driver.find_elements(By.CSS_SELECTOR, "span.num")]


def test_the_page_of_one_evaluation_shows_metrics_json(browser, evaluations, tmp_path):
    a, _ = evaluations
    data = metrics_json(a)
    By, images = open_page(browser, a / "report.html")
    assert "svg evaluate: moving_squares test, 2 → 3, step 3" == browser.title
    numbers = shown_numbers(browser, By)
    for metric in ("psnr", "ssim", "lpips"):
        for of in ("model", "copy_last_frame"):
            for stat in ("mean", "ci95"):
                assert ("0", metric, of, stat, expected_text(data, metric, of, stat)) in numbers
    for _, metric, of, stat, text in numbers:
        assert text == expected_text(data, metric, of, stat), (metric, of, stat)
    status = browser.find_element(By.CSS_SELECTOR, ".verdict").get_attribute("data-verdict")
    beaten = all(data["copy_last_frame"][m]["model_beats_it"] for m in ("psnr", "ssim", "lpips"))
    assert status == ("PASS" if beaten else "FAILING")
    # one curve per metric; per kept video: truth, the best, 2 other samples, copy-last
    assert sum(1 for *_, alt in images if "per predicted frame" in alt) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.rollout")) == 3
    assert sum(1 for *_, alt in images if alt.startswith("video ")) == 3 * 5
    body = browser.find_element(By.TAG_NAME, "body").text
    for shown in (data["protocol"]["checkpoint"], "the live weights (not averaged)", "11x11 Gaussian",
                  "n_samples", "Diversity of the samples", "z_dim: 4", "moving_squares"):
        assert shown in body, shown
    browser.save_screenshot(str(tmp_path / "report.png"))


def test_svg_report_compares_two_evaluations(browser, evaluations, tmp_path, capsys):
    a, b = evaluations
    out = tmp_path / "compare.html"
    assert main(["report", str(a), str(b), "--out", str(out)]) == 0
    assert f"wrote {out} (2 evaluations)" in capsys.readouterr().out
    By, images = open_page(browser, out)
    rows = browser.find_elements(By.CSS_SELECTOR, "#comparison-table tr.evaluation-row")
    assert [r.get_attribute("data-eval") for r in rows] == ["0", "1"]
    assert str(a) in rows[0].text and str(b) in rows[1].text
    numbers = shown_numbers(browser, By)
    for k, folder in enumerate((a, b)):
        data = metrics_json(folder)
        mine = [n for n in numbers if n[0] == str(k)]
        assert mine and all(text == expected_text(data, m, of, s) for _, m, of, s, text in mine)
        assert (str(k), "psnr", "copy_last_frame", "mean", expected_text(data, "psnr", "copy_last_frame",
                                                                        "mean")) in mine
    # SSIM and LPIPS were scored by the first only: its row has them, the second a dash
    assert rows[1].text.count("—") >= 2
    differs = browser.find_element(By.ID, "differences").text
    assert "n_samples" in differs and "seed" in differs and "videos" in differs
    # one per-frame plot per metric with every evaluation on it, then each evaluation's own
    curves = browser.find_elements(By.CSS_SELECTOR, "#comparison ~ .curves img")
    assert [c.get_attribute("data-metric") for c in curves] == ["psnr", "ssim", "lpips"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.evaluation")) == 2
    browser.save_screenshot(str(tmp_path / "compare.png"))

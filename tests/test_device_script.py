"""The GPU session's script (``benchmarks/gpu/run_device.sh``) must work the first time it runs on a
device: its CPU dry run, behind the stand-in that hides what the device lacks, runs here."""
import json
import os
import re
import shutil
import subprocess
import sys
import warnings

import pytest

from svg.train.log import warnings_logged

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu", "run_device.sh")
PHASE_SECONDS = 300   # one command of the device tool per phase, setup included
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "gpu"))
from sync_count import SyncWarnings  # noqa: E402


@pytest.fixture(scope="module")
def carry(tmp_path_factory):
    out = tmp_path_factory.mktemp("carry") / "carry"
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "gpu", "prepare_carry.py"), "--dry-run",
                    "--out", str(out)], check=True, capture_output=True)
    return out


def run_script(tmp_path, *args, carry=None, **env):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "WORK": str(tmp_path / "work"), "PY": sys.executable,
           "CARRY": str(carry or tmp_path / "no_carry"), **env}
    r = subprocess.run(["bash", SCRIPT, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    return r, out


def steps_of(out):
    with open(out / "steps.jsonl") as f:
        return [json.loads(line) for line in f]


def check_device_limits(out, phases):
    """What comes back from the device: at most 8 plain files with plain names; each phase's step
    limits, with the setup's, fit one command of about 5 minutes."""
    files = sorted(os.listdir(out))
    assert len(files) <= 8, files
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", f) and (out / f).is_file() for f in files), files
    steps = steps_of(out)
    setup = sum(s["limit"] for s in steps if s["phase"] == "setup")
    for phase in phases:
        limits = [s["limit"] for s in steps if s["phase"] == phase]
        assert limits and setup + sum(limits) <= PHASE_SECONDS, (phase, setup, limits)


def test_sync_warnings_are_counted_through_the_trainers_log():
    """Issue 42, 1: the trainer logs warnings (warnings_logged), so catch_warnings(record=True) saw
    none and every count read 0."""
    with warnings.catch_warnings(record=True) as caught, SyncWarnings() as counter:
        warnings.simplefilter("always")
        with warnings_logged():
            for _ in range(3):
                warnings.warn("called a synchronizing CUDA operation")
            warnings.warn("sync_count canary")
    assert not [w for w in caught if "synchronizing" in str(w.message)]   # the old way's count
    assert counter.count == 3 and counter.canaries == 1
    assert [k.split(":")[0] for k in counter.places] == [os.path.basename(__file__)]


def test_dry_run_of_check(carry, tmp_path):
    """The first device command, every step on the CPU at tiny sizes: the CUDA tests (all skipped
    here), the CPU suites' collection, both synchronisation counts (the 'before' tree with its own
    config, issue 42, 2), each seeing the canary from inside the trainer (issue 42, 1)."""
    r, out = run_script(tmp_path, "--dry-run", "check", carry=carry)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 step(s) failed" in r.stdout and len(r.stdout) < 3000   # a short, readable tail
    steps = steps_of(out)
    assert [s["step"] for s in steps] == ["wheels", "imports", "pytest_cuda", "pytest_cpu", "sync_after",
                                          "sync_before"]
    assert all(s["rc"] == 0 for s in steps), steps
    check_device_limits(out, ["check"])
    assert "dry run: 1" in (out / "env.txt").read_text()
    for label, tree in (("after", os.path.join(ROOT, "svg")), ("before", str(carry / "before" / "svg"))):
        r = json.loads((out / f"sync_{label}.json").read_text())
        assert r["tree"] == tree
        assert r["loop"]["short"]["canary_seen"] and r["loop"]["per_step"] == 0.0   # a CPU never syncs


@pytest.mark.slow
def test_dry_run_of_bench_demo_comparison(carry, tmp_path):
    """The later commands: the training-step benchmark's two commands and the feed; the demo
    trained and scored along its curve; one comparison run scored with FVD (the carried float16
    I3D), its results packed for the trip back."""
    r, out = run_script(tmp_path, "--dry-run", "bench", "demo", "comparison", carry=carry)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert all(s["rc"] == 0 for s in steps_of(out))
    check_device_limits(out, ["bench", "demo", "comparison"])
    log = (out / "log.txt").read_text()
    assert "training feed now / before" in log and "cost against the pixels head" in log
    assert [p["step"] for p in json.loads((out / "demo_curve.json").read_text())["points"]] == [2, 4]
    listed = subprocess.run(["tar", "tzf", str(out / "comparison_gpu.tgz")], capture_output=True, text=True,
                            check=True).stdout
    assert "optimal_sequence_s0.json" in listed


def test_a_failed_step_fails_the_run(carry, tmp_path):
    """Issue 42, 4: a step that fails (here both synchronisation counts, through a Python that
    refuses them) is shown with its last lines, the steps after it still run, and the run exits
    non-zero."""
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\ncase "$*" in *sync_count.py*) echo "refused: $*" >&2; exit 7;; esac\n'
                    f'exec {sys.executable} "$@"\n')
    fake.chmod(0o755)
    r, out = run_script(tmp_path, "--dry-run", "check", carry=carry, PY=str(fake))
    assert r.returncode == 1
    assert {s["step"]: s["rc"] for s in steps_of(out)} == {"wheels": 0, "imports": 0, "pytest_cuda": 0,
                                                           "pytest_cpu": 0, "sync_after": 7, "sync_before": 7}
    assert "FAIL check/sync_before: exit 7" in r.stdout and "refused:" in r.stdout
    assert "2 step(s) failed" in r.stdout


def test_the_stand_in_hides_what_the_device_lacks(carry, tmp_path):
    """A package the device lacks imports from the carry, not from this Python's site-packages."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "benchmarks", "gpu", "standin"),
               SVG_STANDIN_HIDDEN=str(carry / "hidden.txt"))
    code = "import importlib.util as u, numpy; print(u.find_spec('mlxtend').origin); import av"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and "No module named 'mlxtend' (the device lacks it" in r.stderr
    env["PYTHONPATH"] += os.pathsep + str(carry / "pkgs")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert r.stdout.startswith(str(carry / "pkgs" / "mlxtend")) and "No module named 'av'" in r.stderr
    assert {"av", "lpips", "mlxtend", "omegaconf", "svg", "tfrecord"} <= set((carry / "hidden.txt").read_text().split())


def test_without_cuda_it_stops_before_any_phase(tmp_path):
    """Issue 42, 4: no GPU, no phase (and no 'done'), after the environment is recorded."""
    r, out = run_script(tmp_path, "check", "bench", CUDA_VISIBLE_DEVICES="")
    assert r.returncode == 3 and "no CUDA GPU" in r.stdout and "== done" not in r.stdout
    assert "torch" in (out / "env.txt").read_text() and not (out / "steps.jsonl").exists()


def test_an_unknown_phase_runs_nothing(tmp_path):
    r, out = run_script(tmp_path, "--dry-run", "check", "benchh")
    assert r.returncode == 2 and "unknown phase 'benchh'" in r.stderr and not out.exists()

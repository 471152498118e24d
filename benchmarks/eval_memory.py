"""Peak memory and time of ``svg evaluate`` as the README runs it, one subprocess per case.

Each case builds a run folder holding a random-weight checkpoint of a shipped config (memory
does not depend on the weights). Where the data is not here (BAIR, KTH), the test videos are
generated moving squares of the same shape (``data.name=moving_squares`` with the config's
channels). The peak is the child's maximum resident set (``ru_maxrss`` from ``os.wait4``); the
chunking ``svg evaluate`` chose and its budget are read from the written ``metrics.json``.

    python benchmarks/eval_memory.py                      # the default cases
    python benchmarks/eval_memory.py --cases demo --videos 256   # the demo on its whole test split

Every batch of sequences costs the same, so a few videos give the peak of a full run; the time
grows with the videos.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from svg import SVG  # noqa: E402
from svg.config import load_config  # noqa: E402

# name -> (config, data overrides that stand in for missing data, extra svg evaluate arguments)
CASES = {
    "demo": ("smmnist_demo.yaml", [], []),                                   # the defaults
    "demo-bs1": ("smmnist_demo.yaml", [], ["--batch-size", "1"]),
    "demo-3G": ("smmnist_demo.yaml", [], ["--max-memory", "3G"]),
    "smmnist": ("smmnist.yaml", [], ["--n-past", "5", "--n-future", "20"]),
    "bair": ("bair.yaml", ["data.name=moving_squares", "data.options={channels: 3}"],
             ["--n-past", "2", "--n-future", "28"]),
    "kth": ("kth.yaml", ["data.name=moving_squares", "data.options={}"],
            ["--n-past", "10", "--n-future", "30"]),
}
DEFAULT_CASES = ["demo", "demo-bs1", "bair"]


def make_run(config: str, data: list, folder: str) -> str:
    """A run folder with a random-weight checkpoint of ``configs/<config>`` (data overridden)."""
    cfg = load_config(os.path.join(ROOT, "configs", config), data + [f"run_dir={folder}",
                                                                     "data.num_workers=0"])
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    torch.save({"model": SVG(cfg.model).state_dict(), "config": dataclasses.asdict(cfg), "step": 0},
               os.path.join(folder, "best.pt"))
    return folder


def run_case(name: str, videos: int, work: str) -> dict:
    """Run one case in a child process; its peak RSS (MB), wall time (s) and chunking."""
    config, data, extra = CASES[name]
    run = make_run(config, data, os.path.join(work, name))
    out = os.path.join(work, name + "_eval")
    cmd = [sys.executable, "-m", "svg.cli", "evaluate", "--run", run, "--max-videos", str(videos),
           "--out", out, *extra]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    err = child.stderr.read().decode()
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        return {"case": name, "error": err.strip().splitlines()[-1] if err.strip() else str(status)}
    with open(os.path.join(out, "metrics.json")) as f:
        chunking = json.load(f)["chunking"]
    return {"case": name, "args": " ".join(extra) or "(defaults)", "videos": videos,
            "peak_mb": usage.ru_maxrss / 1024, "seconds": seconds, **chunking}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=sorted(CASES))
    p.add_argument("--videos", type=int, default=8, help="test videos per case (--max-videos)")
    args = p.parse_args()
    print(f"{'case':10s} {'arguments':34s} {'videos':>6s} {'peak MB':>8s} {'time s':>7s} "
          f"{'budget MB':>9s} {'MB/sample':>9s} chunk (sequences × samples)")
    with tempfile.TemporaryDirectory() as work:
        for name in args.cases:
            r = run_case(name, args.videos, work)
            if "error" in r:
                print(f"{name:10s} failed: {r['error']}")
                continue
            print(f"{name:10s} {r['args']:34s} {r['videos']:6d} {r['peak_mb']:8.0f} {r['seconds']:7.1f} "
                  f"{r['budget_bytes'] / 2 ** 20:9.0f} {r['bytes_per_sample'] / 2 ** 20:9.1f} "
                  f"{r['sequences']} × {r['samples']}", flush=True)


if __name__ == "__main__":
    main()

"""How long `svg check-data` takes per GB, next to a plain read of the same bytes.

Writes BAIR-schema TFRecords (random 64×64×3 frames, both cameras, as in softmotion30_44k) into a
temporary folder, then times in one process, alternating, with the file in the page cache:
  read     — reading every byte in 1 MiB chunks (the floor of any check);
  crc      — `svg check-data --checksums-only` (framing + CRC-32C of every record);
  full     — `svg check-data` (also decodes each record as a 30-frame BAIR video).
Prints the median seconds, MB/s and the ratio to a plain read, and what that means for the
~30 GB of the real dataset (a disk slower than the page cache adds its own read time).

    python benchmarks/check_data.py [--videos 200] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from data_loaders.bair.check import check_files
from svg.testing.bair_records import write_random_videos


def plain_read(files):
    for path in files:
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k in range(0, args.videos, 50):
            n = min(50, args.videos - k)
            path = os.path.join(tmp, f"traj_{k}_to_{k + n - 1}.tfrecords")
            write_random_videos(path, n, rng)
            files.append(path)
        size = sum(os.path.getsize(p) for p in files)
        cases = {"read": lambda: plain_read(files),
                 "crc": lambda: check_files(files, decode=False, progress=False),
                 "full": lambda: check_files(files, decode=True, progress=False)}
        times = {name: [] for name in cases}
        for _ in range(args.repeats):
            for name, fn in cases.items():   # alternate, so load from other processes hits all
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    print(f"{args.videos} BAIR videos, {size / 1e6:.0f} MB in {len(files)} files (page cache), "
          f"median of {args.repeats}")
    base = statistics.median(times["read"])
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:5s} {t:7.3f} s  {size / t / 1e6:8.0f} MB/s  {t / base:6.1f}× a plain read  "
              f"~{30e9 / size * t / 60:5.1f} min per 30 GB")


if __name__ == "__main__":
    main()

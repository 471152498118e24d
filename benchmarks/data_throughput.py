"""Data throughput: sequences/s of each BAIR format and of SM-MNIST generation, 0 and 2 workers.

BAIR data are synthesized in the exact softmotion30_44k schema (random frames, so PNG compression
is at its worst case), converted with ``svg convert-bair``, and written as SVG's PNG folders; each
loader then serves training clips (random start) through a DataLoader, one pass over all videos
per repeat after a warm-up pass, with persistent workers (as in training), median of the repeats.

    python benchmarks/data_throughput.py [--videos 96] [--seq-len 12] [--batch-size 16]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import imageio.v2 as imageio
import numpy as np
import torch
from torch.utils.data import DataLoader

from data_loaders import build_dataset
from data_loaders.bair import write_tfrecords
from data_loaders.bair_convert import convert


def make_bair(root: str, n_videos: int) -> None:
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(root, "raw", "train"))
    per_file = 32
    for start in range(0, n_videos, per_file):
        n = min(per_file, n_videos - start)
        aux = rng.integers(0, 256, (n, 30, 64, 64, 3), dtype=np.uint8)
        write_tfrecords(os.path.join(root, "raw", "train", f"traj_{start}_to_{start + n - 1}.tfrecords"),
                        aux, aux, rng.standard_normal((n, 30, 4)).astype(np.float32),
                        rng.standard_normal((n, 30, 3)).astype(np.float32))
        for k in range(n):
            folder = os.path.join(root, "png", "train", f"traj_{start}_to_{start + n - 1}", str(k))
            os.makedirs(folder)
            for t in range(30):
                imageio.imwrite(os.path.join(folder, f"{t}.png"), aux[k, t])
    convert(os.path.join(root, "raw"), os.path.join(root, "converted"), splits=["train"], progress=False)


def throughput(dataset, batch_size: int, workers: int, repeats: int, batches=None) -> float:
    """Steady-state sequences/s: workers persist (as in training) and a first pass warms them up."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0))
    rates = []
    for r in range(repeats + 1):
        n, t0 = 0, time.perf_counter()
        for i, batch in enumerate(loader):
            n += batch.shape[0]
            if batches is not None and i + 1 >= batches:
                break
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=96)
    p.add_argument("--seq-len", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    print(f"torch {torch.__version__}; {args.videos} BAIR videos (30 × 64×64×3), clips of {args.seq_len} "
          f"frames, batch {args.batch_size}; SM-MNIST 64×64, 2 digits, {args.seq_len} frames; "
          f"median of {args.repeats} passes")
    rows = {}
    with tempfile.TemporaryDirectory() as root:
        make_bair(root, args.videos)
        for fmt, folder in (("tfrecords", "raw"), ("converted", "converted"), ("png", "png")):
            ds = build_dataset("bair", "train", os.path.join(root, folder), args.seq_len, format=fmt,
                               val_videos=0)   # all videos: this measures reading, not splits
            for w in (0, 2):
                rows[(f"BAIR {fmt}", w)] = throughput(ds, args.batch_size, w, args.repeats)
    sm = build_dataset("smmnist", "train", None, args.seq_len)
    for w in (0, 2):
        rows[("SM-MNIST generation", w)] = throughput(sm, args.batch_size, w, args.repeats,
                                                      batches=max(1, args.videos // args.batch_size))
    print(f"{'source':24s} {'0 workers':>12s} {'2 workers':>12s}   (sequences/s)")
    for name in dict.fromkeys(k[0] for k in rows):
        print(f"{name:24s} {rows[(name, 0)]:12.1f} {rows[(name, 2)]:12.1f}")
    for w in (0, 2):
        print(f"converted / PNG folders, {w} workers: ×{rows[('BAIR converted', w)] / rows[('BAIR png', w)]:.1f}")


if __name__ == "__main__":
    main()

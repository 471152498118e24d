"""Data throughput: sequences/s of each BAIR and KTH format and of SM-MNIST generation, 0 and 2 workers.

BAIR data are synthesized in the exact softmotion30_44k schema (random frames, so PNG compression
is at its worst case), converted with ``svg convert-bair``, and written as SVG's PNG folders; each
loader then serves training clips (random start) through a DataLoader, one pass over all videos
per repeat after a warm-up pass, with persistent workers (as in training), median of the repeats.

KTH videos are written as KTH distributes them (160×120 grey MPEG-4 AVIs at 25 fps, ``--kth-frames``
frames each: a bright square moving over a fixed noisy background), converted with
``svg convert-kth`` and written as SRVP's PNG folders; each serves ``--videos`` training clips of
``--kth-seq-len`` frames (random video, random start) per pass.

    python benchmarks/data_throughput.py [--videos 96] [--seq-len 12] [--batch-size 16]
                                         [--kth-videos 12] [--kth-frames 400] [--kth-seq-len 20]
                                         [--datasets bair kth smmnist]
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
from data_loaders.bair.convert import convert
from data_loaders.kth.convert import convert as convert_kth
from data_loaders.kth.files import list_videos
from data_loaders.common.video import decode_video
from svg.testing.bair_records import write_random_videos
from svg.testing.kth_videos import write_video


def make_bair(root: str, n_videos: int) -> None:
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(root, "raw", "train"))
    per_file = 32
    for start in range(0, n_videos, per_file):
        n = min(per_file, n_videos - start)
        aux = write_random_videos(os.path.join(root, "raw", "train",
                                                f"traj_{start}_to_{start + n - 1}.tfrecords"), n, rng)
        for k in range(n):
            folder = os.path.join(root, "png", "train", f"traj_{start}_to_{start + n - 1}", str(k))
            os.makedirs(folder)
            for t in range(30):
                imageio.imwrite(os.path.join(folder, f"{t}.png"), aux[k, t])
    convert(os.path.join(root, "raw"), os.path.join(root, "converted"), splits=["train"], progress=False)


def make_kth(root: str, n_videos: int, n_frames: int) -> None:
    """Raw AVIs (people 1.., boxing), their `svg convert-kth` output and SRVP-style PNG folders."""
    rng = np.random.default_rng(0)
    background = rng.integers(40, 90, (120, 160), dtype=np.uint8)   # a textured, static scene
    os.makedirs(os.path.join(root, "raw", "boxing"))
    for k in range(n_videos):
        frames = np.repeat(background[None], n_frames, axis=0)
        for t in range(n_frames):
            x = (5 * k + 2 * t) % 130
            frames[t, 30:90, x:x + 30] = 200                          # a bright figure walking
        write_video(os.path.join(root, "raw", "boxing", f"person{k % 19 + 1:02d}_boxing_d{k // 19 + 1}"
                                                         f"_uncomp.avi"), frames)
    convert_kth(os.path.join(root, "raw"), os.path.join(root, "converted"), progress=False)
    for v in list_videos(os.path.join(root, "raw"))[1]:
        folder = os.path.join(root, "png", "boxing", v.name)
        os.makedirs(folder)
        for t, f in enumerate(decode_video(v.path)):
            imageio.imwrite(os.path.join(folder, f"image-{t + 1:03d}.png"), np.stack([f] * 3, -1))


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
    p.add_argument("--kth-videos", type=int, default=12)
    p.add_argument("--kth-frames", type=int, default=400)
    p.add_argument("--kth-seq-len", type=int, default=20)
    p.add_argument("--datasets", nargs="+", default=["bair", "kth", "smmnist"],
                   choices=["bair", "kth", "smmnist"])
    args = p.parse_args()
    print(f"torch {torch.__version__}; {args.videos} BAIR videos (30 × 64×64×3), clips of {args.seq_len} "
          f"frames, batch {args.batch_size}; SM-MNIST 64×64, 2 digits, {args.seq_len} frames; "
          f"median of {args.repeats} passes; {args.kth_videos} KTH videos ({args.kth_frames} × 160×120 → "
          f"64×64 grey), clips of {args.kth_seq_len} frames, {args.videos} clips per pass")
    rows = {}
    with tempfile.TemporaryDirectory() as root:
        if "bair" in args.datasets:
            make_bair(root, args.videos)
            for fmt, folder in (("tfrecords", "raw"), ("converted", "converted"), ("png", "png")):
                ds = build_dataset("bair", "train", os.path.join(root, folder), args.seq_len, format=fmt,
                                   val_videos=0)   # all videos: this measures reading, not splits
                for w in (0, 2):
                    rows[(f"BAIR {fmt}", w)] = throughput(ds, args.batch_size, w, args.repeats)
        if "kth" in args.datasets:
            make_kth(os.path.join(root, "kth"), args.kth_videos, args.kth_frames)
            for fmt in ("raw", "converted", "png"):
                ds = build_dataset("kth", "train", os.path.join(root, "kth", fmt), args.kth_seq_len,
                                   format=fmt, val_people=[], length=args.videos)
                for w in (0, 2):
                    rows[(f"KTH {fmt}", w)] = throughput(ds, args.batch_size, w, args.repeats)
    if "smmnist" in args.datasets:
        sm = build_dataset("smmnist", "train", None, args.seq_len)
        for w in (0, 2):
            rows[("SM-MNIST generation", w)] = throughput(sm, args.batch_size, w, args.repeats,
                                                          batches=max(1, args.videos // args.batch_size))
    print(f"{'source':24s} {'0 workers':>12s} {'2 workers':>12s}   (sequences/s)")
    for name in dict.fromkeys(k[0] for k in rows):
        print(f"{name:24s} {rows[(name, 0)]:12.1f} {rows[(name, 2)]:12.1f}")
    for w in (0, 2):
        if "bair" in args.datasets:
            print(f"BAIR converted / PNG folders, {w} workers: "
                  f"×{rows[('BAIR converted', w)] / rows[('BAIR png', w)]:.1f}")
        if "kth" in args.datasets:
            print(f"KTH converted / raw AVI, {w} workers: ×{rows[('KTH converted', w)] / rows[('KTH raw', w)]:.1f}; "
                  f"converted / PNG folders: ×{rows[('KTH converted', w)] / rows[('KTH png', w)]:.1f}")


if __name__ == "__main__":
    main()

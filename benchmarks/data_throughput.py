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
                                         [--datasets bair kth smmnist feed] [--device cpu|cuda]

``feed`` measures what the trainer's loader delivers (``svg.train.batches.training_loader``: per-step
seeding, SM-MNIST at the demo's 15 frames and batch 16), items/s up to float frames in [0, 1] on
``--device`` (CPU: the conversion is timed too; CUDA: pinned, copied, synchronised), side by side
with the loader as it was before (commit cf1bc39: every generator's state saved and restored
around each item, float items collated on the CPU), 0 and 2 workers, alternating passes.
"""
from __future__ import annotations

import argparse
import os
import random
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
from core.devices import pick_device
from core.errors import UserError
from svg.config import DataConfig
from svg.data import make_dataset, unit_frames
from svg.train.batches import StepSeeded, step_seed, training_loader
from svg.testing.bair_records import write_random_videos
from svg.testing.kth_videos import write_video


class PerItemSeeded(StepSeeded):
    """The loader's seeding before batches were fetched at once (commit cf1bc39), as it was
    written: each item saves and restores numpy's, Python's and torch's generator states."""

    __getitems__ = None   # DataLoader then fetches item by item

    def __getitem__(self, key):
        s, j = key
        seed = step_seed(self.seed, self.rank, s, 1 + j)
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                np.random.seed(seed % 2 ** 32)
                random.seed(seed)
                return self.dataset[int(torch.randint(len(self.dataset), ()))]
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def feed_rate(loader, device: torch.device) -> float:
    """Items/s of one pass of ``loader``, each batch made float in [0, 1] on ``device``."""
    n, t0 = 0, time.perf_counter()
    for batch in loader:
        x = unit_frames(batch.to(device, non_blocking=True))
        n += x.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def training_feed(steps: int, batch_size: int, repeats: int, device: torch.device) -> dict:
    """Items/s of the trainer's loader (uint8 items, batched seeding) and of the one before, per
    worker count: medians of ``repeats`` alternating passes after a warm-up pass of each."""
    cfg, seq_len, pin = DataConfig(name="smmnist"), 15, device.type == "cuda"
    old = make_dataset(cfg, "train", seq_len)
    new = make_dataset(cfg, "train", seq_len, uint8_items=True)
    rows = {}
    for w in (0, 2):
        loaders = {
            "before (per-item seeding, float items)": training_loader(old, 0, 0, 0, steps, batch_size, w, pin),
            "now (per-batch seeding, uint8 items)": training_loader(new, 0, 0, 0, steps, batch_size, w, pin)}
        loaders["before (per-item seeding, float items)"].dataset.dataset = PerItemSeeded(old, 0, 0)
        rates = {name: [] for name in loaders}
        for r in range(repeats + 1):
            for name, loader in loaders.items():
                rate = feed_rate(loader, device)
                if r:
                    rates[name].append(rate)
        for name, rs in rates.items():
            rows[(f"SM-MNIST training feed, {name}", w)] = statistics.median(rs)
    return rows


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
    p.add_argument("--datasets", nargs="+", default=["bair", "kth", "smmnist", "feed"],
                   choices=["bair", "kth", "smmnist", "feed"])
    p.add_argument("--feed-steps", type=int, default=40, help="batches per pass of the training feed")
    p.add_argument("--device", default="cpu", help="where the training feed's frames go (cpu, cuda)")
    args = p.parse_args()
    try:
        device = pick_device(args.device)
    except UserError as e:
        p.error(str(e))
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
    if "feed" in args.datasets:
        rows.update(training_feed(args.feed_steps, args.batch_size, args.repeats, device))
    width = max(len(k[0]) for k in rows)
    print(f"{'source':{width}s} {'0 workers':>12s} {'2 workers':>12s}   (sequences/s)")
    for name in dict.fromkeys(k[0] for k in rows):
        print(f"{name:{width}s} {rows[(name, 0)]:12.1f} {rows[(name, 2)]:12.1f}")
    for w in (0, 2):
        if "feed" in args.datasets:
            now, before = (rows[(f"SM-MNIST training feed, {n}", w)] for n in
                           ("now (per-batch seeding, uint8 items)", "before (per-item seeding, float items)"))
            print(f"training feed now / before, {w} workers, frames on {device}: ×{now / before:.2f}")
        if "bair" in args.datasets:
            print(f"BAIR converted / PNG folders, {w} workers: "
                  f"×{rows[('BAIR converted', w)] / rows[('BAIR png', w)]:.1f}")
        if "kth" in args.datasets:
            print(f"KTH converted / raw AVI, {w} workers: ×{rows[('KTH converted', w)] / rows[('KTH raw', w)]:.1f}; "
                  f"converted / PNG folders: ×{rows[('KTH converted', w)] / rows[('KTH png', w)]:.1f}")


if __name__ == "__main__":
    main()

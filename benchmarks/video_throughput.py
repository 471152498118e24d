"""Loading throughput of ``data.name: videos``, raw files against ``svg convert-videos`` arrays, in frames/s.

Writes ``--videos`` mp4 files (H.264, yuv420p, ``--frames`` frames of ``--width``×``--height``: a
coloured square moving over a fixed textured background) with PyAV into a temporary folder,
converts them once with ``svg convert-videos`` (timed), then serves the same training clips
(random video, random start, ``--seq-len`` frames, fitted to 64×64×3) from both: one pass is
``--clips`` clips through a DataLoader with ``--workers`` workers and batch ``--batch-size``, the
clips identical for both sources (torch seeded per pass). Passes alternate raw, converted, raw, …;
after one warm-up pass each, the median of ``--repeats`` passes is printed, with the ratio.

    python benchmarks/video_throughput.py [--videos 20] [--frames 100] [--width 160] [--height 120]
                                          [--seq-len 12] [--clips 64] [--repeats 5] [--workers 0]

``--long`` measures instead what one long, large file costs: a screen-recording-sized mp4
(``--long-frames`` frames of 640×480 at 15 fps, H.264) and a GIF of ``--gif-frames`` frames of
640×480. For each, in a fresh process per measurement: the time and peak memory (resident, over
the process's own after its imports) of one training clip of ``--seq-len`` frames fitted to
64×64×3 at the file's start, middle and end, and of the whole file converted (every frame fitted,
what ``svg convert-videos`` does).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from data_loaders import build_dataset
from data_loaders.videos.convert import convert
from data_loaders.videos.files import fit_frames
from data_loaders.videos.sources import SourceVideo, counted, read_frames
from svg.testing.videos import screen_frames, write_frames, write_video


def make_videos(root: str, n_videos: int, n_frames: int, width: int, height: int) -> None:
    """``n_videos`` mp4 files in two sub-folders: a square moving over a textured, static scene."""
    rng = np.random.default_rng(0)
    background = rng.integers(40, 120, (height, width, 3), dtype=np.uint8)
    for k in range(n_videos):
        frames = np.repeat(background[None], n_frames, axis=0)
        for t in range(n_frames):
            x, y = (7 * k + 2 * t) % (width - 30), (3 * k + t) % (height - 30)
            frames[t, y:y + 30, x:x + 30] = (200, 60 + 5 * k, 40)
        folder = os.path.join(root, f"lab{k % 2 + 1}")
        os.makedirs(folder, exist_ok=True)
        write_video(os.path.join(folder, f"clip{k:03d}.mp4"), frames, "mp4", "libx264", fps=25)


def one_pass(dataset, n_clips: int, batch_size: int, workers: int, seed: int) -> float:
    """Frames/s of one pass of ``n_clips`` training clips (the same clips for the same seed)."""
    torch.manual_seed(seed)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=range(n_clips), num_workers=workers,
                        worker_init_fn=lambda w: torch.manual_seed(seed * 100 + w))
    frames, t0 = 0, time.perf_counter()
    for batch in loader:
        frames += batch.shape[0] * batch.shape[1]
    return frames / (time.perf_counter() - t0)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def child(path: str, kind: str, start: int, n: int) -> None:
    """One measurement in this fresh process: frames ``start`` .. start + n − 1 (n 0: all)."""
    video = counted(SourceVideo(os.path.basename(path), path, kind))
    base = rss_mb()
    t0 = time.perf_counter()
    frames = read_frames(video, lambda f: fit_frames(f, 64, 3), start, n or None)
    took = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": took, "extra_mb": peak - base, "frames": len(frames),
                      "total": video.frames}))


def measure_long(args) -> None:
    """Time and peak memory of clips of a long mp4 and a large GIF, each in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {"mp4": (os.path.join(tmp, "screen.mp4"), "video", args.long_frames),
                 "gif": (os.path.join(tmp, "recording.gif"), "gif", args.gif_frames)}
        t0 = time.perf_counter()
        write_frames(files["mp4"][0], screen_frames(args.long_frames), 640, 480, fps=15,
                     options={"preset": "ultrafast"})
        write_frames(files["gif"][0], screen_frames(args.gif_frames), 640, 480, "gif", "gif", fps=15,
                     pix_fmt="rgb8")
        print(f"wrote a {args.long_frames}-frame 640×480 mp4 ({os.path.getsize(files['mp4'][0]) / 2**20:.1f} MiB) "
              f"and a {args.gif_frames}-frame 640×480 GIF ({os.path.getsize(files['gif'][0]) / 2**20:.1f} MiB) "
              f"in {time.perf_counter() - t0:.0f} s; held whole, their frames would take "
              f"{args.long_frames * 640 * 480 * 3 / 2**20:.0f} and {args.gif_frames * 640 * 480 * 3 / 2**20:.0f} MiB")
        print(f"{'file':5s} {'what':26s} {'seconds':>8s} {'peak extra MiB':>15s}")
        for name, (path, kind, total) in files.items():
            for label, start, n in (("clip at the start", 0, args.seq_len),
                                    ("clip in the middle", total // 2, args.seq_len),
                                    ("clip at the end", total - args.seq_len, args.seq_len),
                                    ("whole file (convert)", 0, 0)):
                out = subprocess.run([sys.executable, __file__, "--child", path, kind, str(start), str(n)],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{name:5s} {label:26s} {r['seconds']:8.2f} {r['extra_mb']:15.1f}", flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=20)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--width", type=int, default=160)
    p.add_argument("--height", type=int, default=120)
    p.add_argument("--seq-len", type=int, default=12)
    p.add_argument("--clips", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--long", action="store_true", help="time and memory of one long mp4 and one large GIF")
    p.add_argument("--long-frames", type=int, default=1800, help="--long: mp4 frames (2 min at 15 fps)")
    p.add_argument("--gif-frames", type=int, default=300, help="--long: GIF frames")
    args = p.parse_args()
    if args.long:
        return measure_long(args)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average "
          f"{os.getloadavg()[0]:.1f}; {args.videos} mp4 videos of {args.frames} frames "
          f"{args.width}×{args.height} → 64×64×3 (crop); passes of {args.clips} training clips of "
          f"{args.seq_len} frames, batch {args.batch_size}, {args.workers} workers; median of "
          f"{args.repeats} passes after one warm-up each")
    with tempfile.TemporaryDirectory() as tmp:
        raw, converted = os.path.join(tmp, "raw"), os.path.join(tmp, "converted")
        make_videos(raw, args.videos, args.frames, args.width, args.height)
        t0 = time.perf_counter()
        convert(raw, converted, progress=False)
        took = time.perf_counter() - t0
        print(f"svg convert-videos: {args.videos * args.frames} frames in {took:.1f} s, "
              f"{args.videos * args.frames / took:.0f} frames/s")
        options = dict(val_fraction=0.0, test_fraction=0.0)   # every video trains: this measures reading
        sets = {name: build_dataset("videos", "train", root, args.seq_len, **options)
                for name, root in (("raw", raw), ("converted", converted))}
        rates = {name: [] for name in sets}
        for r in range(args.repeats + 1):
            for name, ds in sets.items():
                rate = one_pass(ds, args.clips, args.batch_size, args.workers, seed=r)
                if r:   # the first pass of each warms caches and workers
                    rates[name].append(rate)
    medians = {name: statistics.median(v) for name, v in rates.items()}
    print(f"{'source':28s} {'frames/s (median)':>18s}   passes")
    for name, label in (("raw", "raw mp4 (PyAV + PIL resize)"), ("converted", "svg convert-videos arrays")):
        print(f"{label:28s} {medians[name]:18.0f}   {' '.join(f'{v:.0f}' for v in rates[name])}")
    print(f"converted / raw: ×{medians['converted'] / medians['raw']:.1f}")


if __name__ == "__main__":
    main()

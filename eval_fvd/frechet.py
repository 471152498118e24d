"""Fréchet distance between Gaussians fitted to features, with reusable streaming statistics."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np
import scipy.linalg

from core.atomic_files import atomic_write
from data_loaders.common.files import load_array
from core.errors import InputWarning, MissingEntry, UserError

# Below this many videos per side FVD gets a warning: the reference protocol (Unterthiner et al.
# 2018; SVG/SRVP on BAIR) uses the 256 BAIR test videos, and with 400-dimensional features a
# smaller sample gives a strongly biased, noisy estimate that cannot stand next to published values.
MIN_VIDEOS = 256


def describe_shape(frames: Optional[int], size: Optional[Tuple[int, int]]) -> str:
    frames_text = "unknown" if frames is None else str(frames)
    size_text = "unknown size" if size is None else f"{size[0]}x{size[1]}"
    return f"{frames_text} frames of {size_text}"


def check_shapes(real: Tuple[Optional[int], Optional[Tuple[int, int]]],
                 fake: Tuple[Optional[int], Optional[Tuple[int, int]]]) -> None:
    """Raise ``ValueError`` naming both sides when the (frames, (H, W)) of the real and generated
    videos differ; None stands for unknown and matches anything."""
    for what, r, f in (("frame count", real[0], fake[0]), ("resolution", real[1], fake[1])):
        if r is not None and f is not None and r != f:
            raise UserError(f"FVD compares videos of the same {what}: real videos have "
                            f"{describe_shape(*real)}, generated videos have {describe_shape(*fake)}")


@dataclass
class FeatureStats:
    """Sums of features in float64, so that batches merge exactly: count, Σx (D,), Σxxᵀ (D, D).

    ``frames`` and ``size`` (H, W) record the videos the features were computed from (None:
    unknown, e.g. statistics of raw features or files written before they were recorded); FVD
    refuses to compare statistics of videos of different frame counts or resolutions.
    ``source`` optionally records what the features were computed from (dataset, split...),
    saved with the statistics so that a reused file can be checked against the data it stands for;
    the caller sets it on the finished statistics (a merge does not carry it).
    """
    count: int
    total: np.ndarray
    outer: np.ndarray
    source: Dict[str, Any] = field(default_factory=dict)
    frames: Optional[int] = None
    size: Optional[Tuple[int, int]] = None

    @classmethod
    def of(cls, features: np.ndarray, frames: Optional[int] = None,
           size: Optional[Tuple[int, int]] = None) -> "FeatureStats":
        """Statistics of (N, D) features of videos with ``frames`` frames of ``size`` (H, W)."""
        f = np.asarray(features, np.float64)
        if f.ndim != 2:
            raise ValueError(f"features must be (N, D), got shape {f.shape}")
        return cls(len(f), f.sum(0), f.T @ f, frames=None if frames is None else int(frames),
                   size=None if size is None else (int(size[0]), int(size[1])))

    def describe(self) -> str:
        """'16 frames of 64x64' (or 'unknown frames of unknown size'), for messages."""
        return describe_shape(self.frames, self.size)

    def merge(self, other: "FeatureStats") -> "FeatureStats":
        if self.total.shape != other.total.shape:
            raise ValueError(f"cannot merge statistics of {self.total.shape[0]} and {other.total.shape[0]} features")
        if (self.frames, self.size) != (other.frames, other.size):
            raise ValueError(f"cannot merge statistics of videos of {self.describe()} with statistics of "
                             f"videos of {other.describe()}")
        return FeatureStats(self.count + other.count, self.total + other.total, self.outer + other.outer,
                            frames=self.frames, size=self.size)

    @property
    def mean(self) -> np.ndarray:
        return self.total / self.count

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance (N − 1 in the denominator, as numpy.cov)."""
        if self.count < 2:
            raise UserError(f"a covariance needs at least 2 videos, got {self.count}")
        mu = self.mean
        return (self.outer - self.count * np.outer(mu, mu)) / (self.count - 1)

    def save(self, path: str) -> None:
        """Write an ``.npz`` atomically (temporary file, fsync, rename)."""
        with atomic_write(path, "wb") as f:
            np.savez(f, count=self.count, total=self.total, outer=self.outer,
                     source=np.array(json.dumps(self.source, sort_keys=True, default=str)),
                     frames=-1 if self.frames is None else self.frames,
                     size=np.array([-1, -1] if self.size is None else self.size))

    @classmethod
    def load(cls, path: str) -> "FeatureStats":
        """Statistics saved by :meth:`save`; a file that is not one raises naming ``path``."""
        with load_array(path) as z:
            return cls.from_npz(z, path)

    @classmethod
    def from_npz(cls, z, path: str) -> "FeatureStats":
        """Statistics from an open ``.npz`` (``path`` names it in errors)."""
        missing = {"count", "total", "outer"} - set(z.files)
        if missing:
            raise MissingEntry(f"{path}: not a statistics file (missing {sorted(missing)})")
        source = json.loads(str(z["source"])) if "source" in z.files else {}
        frames = int(z["frames"]) if "frames" in z.files and int(z["frames"]) >= 0 else None
        size = (tuple(int(v) for v in z["size"]) if "size" in z.files and int(z["size"][0]) >= 0
                else None)
        return cls(int(z["count"]), z["total"], z["outer"], source, frames, size)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray,
                     eps: float = 1e-6, max_imag: float = 1e-3) -> float:
    """d² = |μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) in float64 (scipy's matrix square root).

    A near-singular product is retried with eps·I added to both covariances; an imaginary part
    of the root above ``max_imag`` (relative to its largest entry) raises ``UserError`` (too
    few videos for the feature size).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    covmean = scipy.linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(cov1)) * eps
        covmean = scipy.linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(covmean.imag).max()
        if imag > max_imag * max(np.abs(covmean.real).max(), 1e-12):
            raise UserError(f"matrix square root has a large imaginary part ({imag:.3g}); the "
                            f"covariances are too ill-conditioned (use more videos)")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))


def check_comparable(real: FeatureStats, fake: FeatureStats, min_videos: int = MIN_VIDEOS) -> None:
    """Refuse statistics of videos of different frame counts or resolutions (``ValueError`` naming
    both sides); warn when either side's videos are unknown in shape or fewer than ``min_videos``."""
    check_shapes((real.frames, real.size), (fake.frames, fake.size))
    unknown = [side for side, st in (("real", real), ("generated", fake)) if st.frames is None or st.size is None]
    if unknown:
        warnings.warn(f"FVD: the {' and '.join(unknown)} statistics do not record the videos' frame count "
                      f"and resolution, so they cannot be checked to match (real: {real.describe()}, "
                      f"generated: {fake.describe()})", InputWarning, stacklevel=3)
    few = [f"{side} {st.count}" for side, st in (("real", real), ("generated", fake)) if st.count < min_videos]
    if few:
        warnings.warn(f"FVD from fewer than {min_videos} videos per side ({', '.join(few)}): the estimate is "
                      f"biased and noisy, not comparable to published values", InputWarning, stacklevel=3)


def fvd_from_stats(real: FeatureStats, fake: FeatureStats, eps: Optional[float] = 1e-6,
                   min_videos: int = MIN_VIDEOS) -> float:
    """FVD between the statistics of real and generated videos, checked by ``check_comparable``."""
    check_comparable(real, fake, min_videos)
    return frechet_distance(real.mean, real.cov, fake.mean, fake.cov, eps)

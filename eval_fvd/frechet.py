"""Fréchet distance between Gaussians fitted to features, with reusable streaming statistics."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import numpy as np
import scipy.linalg


@dataclass
class FeatureStats:
    """Sums of features in float64, so that batches merge exactly: count, Σx (D,), Σxxᵀ (D, D).

    ``source`` optionally records what the features were computed from (dataset, split, frames...),
    saved with the statistics so that a reused file can be checked against the data it stands for;
    the caller sets it on the finished statistics (a merge does not carry it).
    """
    count: int
    total: np.ndarray
    outer: np.ndarray
    source: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def empty(cls, dim: int) -> "FeatureStats":
        return cls(0, np.zeros(dim), np.zeros((dim, dim)))

    @classmethod
    def of(cls, features: np.ndarray) -> "FeatureStats":
        """Statistics of (N, D) features."""
        f = np.asarray(features, np.float64)
        if f.ndim != 2:
            raise ValueError(f"features must be (N, D), got shape {f.shape}")
        return cls(len(f), f.sum(0), f.T @ f)

    def merge(self, other: "FeatureStats") -> "FeatureStats":
        if self.total.shape != other.total.shape:
            raise ValueError(f"cannot merge statistics of {self.total.shape[0]} and {other.total.shape[0]} features")
        return FeatureStats(self.count + other.count, self.total + other.total, self.outer + other.outer)

    @property
    def mean(self) -> np.ndarray:
        return self.total / self.count

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance (N − 1 in the denominator, as numpy.cov)."""
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 videos, got {self.count}")
        mu = self.mean
        return (self.outer - self.count * np.outer(mu, mu)) / (self.count - 1)

    def save(self, path: str) -> None:
        """Write an ``.npz`` atomically (temporary file, fsync, rename)."""
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            np.savez(f, count=self.count, total=self.total, outer=self.outer,
                     source=np.array(json.dumps(self.source, sort_keys=True, default=str)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "FeatureStats":
        with np.load(path) as z:
            missing = {"count", "total", "outer"} - set(z.files)
            if missing:
                raise KeyError(f"{path}: not a statistics file (missing {sorted(missing)})")
            source = json.loads(str(z["source"])) if "source" in z.files else {}
            return cls(int(z["count"]), z["total"], z["outer"], source)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray,
                     eps: float = 1e-6, max_imag: float = 1e-3) -> float:
    """d² = |μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) in float64 (scipy's matrix square root).

    A near-singular product is retried with eps·I added to both covariances; an imaginary part
    of the root above ``max_imag`` (relative to its largest entry) raises ``ValueError``.
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
            raise ValueError(f"matrix square root has a large imaginary part ({imag:.3g}); the "
                             f"covariances are too ill-conditioned (use more videos)")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * np.trace(covmean))


def fvd_from_stats(a: FeatureStats, b: FeatureStats, eps: Optional[float] = 1e-6) -> float:
    return frechet_distance(a.mean, a.cov, b.mean, b.cov, eps)

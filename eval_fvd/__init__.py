"""Fréchet Video Distance with the Kinetics-400 I3D, offline."""
from .features import i3d_features, video_stats
from .frechet import (MIN_VIDEOS, FeatureStats, check_comparable, check_shapes, frechet_distance,
                      fvd_from_stats)
from .i3d import I3D, load_i3d
from .preprocess import preprocess

__all__ = ["MIN_VIDEOS", "FeatureStats", "check_comparable", "check_shapes", "frechet_distance",
           "fvd_from_stats", "I3D", "load_i3d", "preprocess", "i3d_features", "video_stats"]

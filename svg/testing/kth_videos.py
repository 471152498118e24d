"""Test data: KTH-format AVIs (MPEG-4 part 2, yuv420p, 25 fps) written with PyAV.

Used by the tests and by the data benchmark.
"""
from __future__ import annotations

import numpy as np

from data_loaders.common.video import FPS
from svg.testing.videos import write_video as write_any


def write_video(path: str, frames: np.ndarray, fps: int = FPS, codec: str = "mpeg4",
                quality: int = 2) -> None:
    """Write grey frames as an AVI in the format KTH distributes (MPEG-4 part 2, yuv420p, 25 fps).

    frames : (T, H, W) uint8 in [0, 255] (KTH: H = 120, W = 160). quality : the encoder's fixed
    quantiser (``qscale``; 1 best … 31 worst). For tests and benchmarks.
    """
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W) uint8, got {frames.dtype} {frames.shape}")
    write_any(path, frames, "avi", codec, fps, {"qscale": str(quality)} if codec == "mpeg4" else {})

"""Test data: short videos of a moving shape, written with PyAV in any container and codec.

Used by the tests (``svg predict``, the ``videos`` dataset, KTH through
:mod:`svg.testing.kth_videos`) and by the video throughput benchmark.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np


def moving_rect(t_len: int, h: int = 72, w: int = 96, colour=(200, 120, 40), x0: int = 4,
                y0: int = 8) -> np.ndarray:
    """(T, H, W, 3) uint8: a 20×20 coloured rectangle moving right 6 and down 3 pixels a frame
    on a dark-grey ground, its top-left corner at (y0, x0) in frame 0."""
    frames = np.full((t_len, h, w, 3), 30, np.uint8)
    for t in range(t_len):
        frames[t, y0 + 3 * t:y0 + 20 + 3 * t, x0 + 6 * t:x0 + 20 + 6 * t] = colour
    return frames


def write_video(path: str, frames: np.ndarray, fmt: str = "mp4", codec: str = "libx264", fps: int = 10,
                options: Optional[Dict[str, str]] = None) -> None:
    """Write frames as a video with PyAV (pixel format yuv420p).

    frames : (T, H, W) grey or (T, H, W, 3) RGB, uint8 in [0, 255] (H and W even for yuv420p).
    fmt : the container (mp4, avi, matroska, ...). codec : libx264, mpeg4, ffv1, ...
    options : the encoder's options (e.g. ``{"qscale": "2"}`` for mpeg4).
    """
    import av

    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] != 3):
        raise ValueError(f"frames must be (T, H, W) or (T, H, W, 3) uint8, got {frames.dtype} {frames.shape}")
    pixels = "gray" if frames.ndim == 3 else "rgb24"
    with av.open(path, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = dict(options or {})
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=pixels)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

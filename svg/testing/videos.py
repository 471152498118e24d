"""Test data: short videos of a moving shape, written with PyAV in any container and codec.

Used by the tests (``svg predict``, the ``videos`` dataset, KTH through
:mod:`svg.testing.kth_videos`) and by the video throughput benchmark.
"""
from __future__ import annotations

from typing import Dict, Iterable, Iterator, Optional

import numpy as np


def moving_rect(t_len: int, h: int = 72, w: int = 96, colour=(200, 120, 40), x0: int = 4,
                y0: int = 8) -> np.ndarray:
    """(T, H, W, 3) uint8: a 20×20 coloured rectangle moving right 6 and down 3 pixels a frame
    on a dark-grey ground, its top-left corner at (y0, x0) in frame 0."""
    frames = np.full((t_len, h, w, 3), 30, np.uint8)
    for t in range(t_len):
        frames[t, y0 + 3 * t:y0 + 20 + 3 * t, x0 + 6 * t:x0 + 20 + 6 * t] = colour
    return frames


def screen_frames(n: int, h: int = 480, w: int = 640) -> Iterator[np.ndarray]:
    """``n`` (H, W, 3) uint8 frames, one at a time, of a screen recording: a light window moving
    over a static textured desktop (so long files are generated without holding them)."""
    desktop = np.random.default_rng(0).integers(40, 120, (h, w, 3), dtype=np.uint8)
    for t in range(n):
        frame = desktop.copy()
        x, y = (5 * t) % (w - 120), (2 * t) % (h - 90)
        frame[y:y + 90, x:x + 120] = (220, 220, 230)
        yield frame


def write_frames(path: str, frames: Iterable[np.ndarray], width: int, height: int, fmt: str = "mp4",
                 codec: str = "libx264", fps: int = 10, pix_fmt: str = "yuv420p",
                 options: Optional[Dict[str, str]] = None) -> None:
    """Write (H, W, 3) RGB or (H, W) grey uint8 frames, taken one at a time, with PyAV.

    fmt : the container (mp4, avi, matroska, gif, ...). codec : libx264, mpeg4, ffv1, gif, ...
    pix_fmt : the stream's pixel format (yuv420p for video codecs: even sizes; rgb8 for gif).
    options : the encoder's options (e.g. ``{"qscale": "2"}`` for mpeg4, ``{"preset": "ultrafast"}``).
    """
    import av

    with av.open(path, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = dict(options or {})
        for img in frames:
            if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3):
                raise ValueError(f"frames must be (H, W) or (H, W, 3) uint8, got {img.dtype} {img.shape}")
            pixels = "gray" if img.ndim == 2 else "rgb24"
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=pixels)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_video(path: str, frames: np.ndarray, fmt: str = "mp4", codec: str = "libx264", fps: int = 10,
                options: Optional[Dict[str, str]] = None) -> None:
    """Write frames as a video with PyAV (pixel format yuv420p).

    frames : (T, H, W) grey or (T, H, W, 3) RGB, uint8 in [0, 255] (H and W even for yuv420p).
    fmt : the container (mp4, avi, matroska, ...). codec : libx264, mpeg4, ffv1, ...
    options : the encoder's options (e.g. ``{"qscale": "2"}`` for mpeg4).
    """
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] != 3):
        raise ValueError(f"frames must be (T, H, W) or (T, H, W, 3) uint8, got {frames.dtype} {frames.shape}")
    write_frames(path, frames, frames.shape[2], frames.shape[1], fmt, codec, fps, options=options)

"""KTH video files: decode an AVI with PyAV (FFmpeg's libraries, shipped inside the ``av`` wheel).

Frames are converted and resized in one libswscale call — the library and the default filter
(bicubic) that ``ffmpeg -s 64x64`` uses in SVG's and SRVP's converters, so the aspect ratio is not
kept (160×120 → 64×64). The output pixel format is 8-bit grey: the luma plane, expanded from the
video range [16, 235] to [0, 255] as FFmpeg's grey conversion does. (SVG's and SRVP's converters
wrote RGB PNGs and kept the red channel; measured here, libswscale's scaled YUV→RGB path comes out
about two levels darker than the grey path on flat grey areas, so taking the luma directly is the
more faithful of the two.)
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

FPS = 25
RESIZE_FILTER = "BICUBIC"   # libswscale's SWS_BICUBIC, FFmpeg's default for `-s WxH`


def _open(path: str):
    import av

    if not os.path.exists(path):
        raise FileNotFoundError(f"KTH video {path} does not exist")
    try:
        container = av.open(path)
    except av.error.FFmpegError as e:
        raise ValueError(f"{path}: cannot be read as a video; the file is truncated, corrupt or "
                         f"not a video ({e})") from e
    if not container.streams.video:
        container.close()
        raise ValueError(f"{path}: holds no video stream")
    return container


def header_frame_count(path: str) -> int:
    """Frames the container's header declares (AVI: the stream header's length); 0 if unknown."""
    with _open(path) as container:
        return int(container.streams.video[0].frames or 0)


def count_frames(path: str) -> int:
    """Frames the header declares, or, when it declares none, the frames actually decoded."""
    n = header_frame_count(path)
    return n if n > 0 else len(decode_video(path, size=8))


def decode_video(path: str, start: int = 0, stop: Optional[int] = None, size: int = 64) -> np.ndarray:
    """Frames ``start .. stop−1`` of a video, grey, resized to size×size.

    Parameters
    ----------
    path : an AVI (or any container FFmpeg reads).
    start, stop : frame range (0-based, ``stop`` exclusive; None = to the end).
    size : output width and height (bicubic libswscale; the aspect ratio is not kept).

    Returns
    -------
    (stop − start, size, size) uint8 in [0, 255].

    Raises
    ------
    ValueError naming the file if it cannot be opened or decoded, or if it ends before ``stop``
    (or, when read to the end, before the frame count its header declares: a truncated file).
    """
    import av

    frames, index = [], 0
    with _open(path) as container:
        stream = container.streams.video[0]
        declared = int(stream.frames or 0)
        try:
            for frame in container.decode(stream):
                if stop is not None and index >= stop:
                    break
                if index >= start:   # earlier frames must still be decoded (inter-frame coding)
                    frames.append(frame.reformat(width=size, height=size, format="gray",
                                                 interpolation=RESIZE_FILTER).to_ndarray())
                index += 1
        except av.error.FFmpegError as e:
            raise ValueError(f"{path}: decoding failed after frame {index} ({e}); the file is "
                             f"truncated or corrupt") from e
    wanted = stop if stop is not None else declared
    if index < wanted:
        declares = f"; its header declares {declared} frames" if declared else ""
        raise ValueError(f"{path}: truncated or corrupt video: it ends after {index} frames, "
                         f"{wanted} were needed{declares}")
    if not frames:
        return np.zeros((0, size, size), np.uint8)
    return np.stack(frames)


def write_video(path: str, frames: np.ndarray, fps: int = FPS, codec: str = "mpeg4",
                quality: int = 2) -> None:
    """Write grey frames as an AVI in the format KTH distributes (MPEG-4 part 2, yuv420p, 25 fps).

    frames : (T, H, W) uint8 in [0, 255] (KTH: H = 120, W = 160). quality : the encoder's fixed
    quantiser (``qscale``; 1 best … 31 worst). For tests, benchmarks and custom data.
    """
    import av

    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W) uint8, got {frames.dtype} {frames.shape}")
    with av.open(path, "w", format="avi") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"qscale": str(quality)} if codec == "mpeg4" else {}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img),
                                                                   format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

"""Video files decoded with PyAV (FFmpeg's libraries, shipped inside the ``av`` wheel), for KTH and
your own videos (GIFs included): opened with plain errors, decoded as a stream that stops at the
last frame asked, counted.

KTH's frames are converted and resized in one libswscale call — the library and the default filter
(bicubic) that ``ffmpeg -s 64x64`` uses in SVG's and SRVP's converters, so the aspect ratio is not
kept (160×120 → 64×64). The output pixel format is 8-bit grey: the luma plane, expanded from the
video range [16, 235] to [0, 255] as FFmpeg's grey conversion does. (SVG's and SRVP's converters
wrote RGB PNGs and kept the red channel; measured here, libswscale's scaled YUV→RGB path comes out
about two levels darker than the grey path on flat grey areas, so taking the luma directly is the
more faithful of the two.)
"""
from __future__ import annotations

import os
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np

from core.errors import MissingFile, UserError

from data_loaders.common.files import open_file

FPS = 25
RESIZE_FILTER = "BICUBIC"   # libswscale's SWS_BICUBIC, FFmpeg's default for `-s WxH`
# Reading a video starts no thread: DataLoader workers are forked processes, and a thread pool
# does not survive a fork. With PyAV's defaults (a pool per core for the scaler, and for decoders
# of slices in parallel: H.264, FFV1), a scaler that crosses a fork waits forever for threads
# the fork did not copy, and a full test run once hung in a worker's scaler. One scaler thread is
# faster at KTH's size and costs about 0.1 ms a 720p frame (2-core AMD EPYC); decoding on one
# thread costs about 1.3x when a clip deep in an H.264 file is read, nothing when a file is
# converted whole (docs/data.md).
SCALE_THREADS = 1
DECODE_THREADS = 1


def open_video(path: str, what: str = "KTH video"):
    """An open PyAV container of ``path`` holding a video stream, decoded on the calling thread
    (``DECODE_THREADS``); ``what`` names the file in the message if it does not exist. Unreadable
    or stream-less files raise ``ValueError`` naming it."""
    import av

    if not os.path.exists(path):
        raise MissingFile(f"{what} {path} does not exist")
    try:
        container = av.open(path)
    except av.error.FFmpegError as e:
        raise UserError(f"{path}: cannot be read as a video; the file is truncated, corrupt or "
                        f"not a video ({e})") from e
    if not container.streams.video:
        container.close()
        raise UserError(f"{path}: holds no video stream")
    container.streams.video[0].codec_context.thread_count = DECODE_THREADS
    return container


def rgb24(frame) -> np.ndarray:
    """A decoded PyAV frame as uint8 (H, W, 3) RGB, converted on the calling thread
    (``SCALE_THREADS``)."""
    return frame.to_ndarray(format="rgb24", threads=SCALE_THREADS)


def grey_resized(frame, size: int) -> np.ndarray:
    """A decoded PyAV frame as uint8 (size, size) grey, bicubic libswscale (``RESIZE_FILTER``; the
    aspect ratio is not kept), on the calling thread (``SCALE_THREADS``)."""
    return frame.reformat(width=size, height=size, format="gray", interpolation=RESIZE_FILTER,
                          threads=SCALE_THREADS).to_ndarray()


def video_frames(path: str, what: str = "video") -> Iterator[np.ndarray]:
    """The frames of a video file or GIF as PyAV decodes them, one uint8 (H, W, 3) RGB frame at a
    time (memory: one decoded frame, whatever the file's length).

    Read to its end, a video that stops before the frame count its header declares is refused
    (its last frames, the context of a prediction, would silently be earlier ones); a caller that
    stops early has exact frames up to there.
    """
    n = 0
    with open_video(path, what) as container:
        declared = int(container.streams.video[0].frames or 0)
        for frame in decoded_frames(container, path):
            yield rgb24(frame)
            n += 1
    if n == 0:
        raise UserError(f"{path}: the {what} holds no frames that decode")
    if n < declared:
        raise UserError(f"{path}: truncated or corrupt {what}: it ends after {n} frames; "
                        f"its header declares {declared}")


def header_frame_count(path: str) -> int:
    """Frames the container's header declares (AVI: the stream header's length); 0 if unknown."""
    with open_video(path) as container:
        return int(container.streams.video[0].frames or 0)


def riff_truncated(path: str) -> bool:
    """Whether a RIFF (AVI) file is shorter than the size its first chunk header declares."""
    with open_file(path) as f:
        head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF":
        return False
    return os.path.getsize(path) < int.from_bytes(head[4:8], "little") + 8


def decoded_frames(container, path: str) -> Iterator:
    """The frames of the video's complete packets, in order.

    Decoding stops at the first incomplete packet (the demuxer flags it corrupt: the file ends
    inside it), whose frame would come out damaged; the frames before it are exact.
    """
    import av

    stream = container.streams.video[0]
    try:
        for packet in container.demux(stream):
            if packet.is_corrupt:
                yield from stream.codec_context.decode(None)   # flush what the decoder holds
                return
            yield from packet.decode()   # the last, empty packet flushes the decoder
    except av.error.FFmpegError as e:
        raise UserError(f"{path}: decoding failed ({e}); the file is truncated or corrupt") from e


def count_frames(path: str) -> Tuple[int, int]:
    """(frames that decode, frames the header declares).

    The header's count is trusted unless the file is shorter than its RIFF header says (or
    declares no count); then the frames are decoded and counted (cheap: no conversion).
    """
    declared = header_frame_count(path)
    if declared > 0 and not riff_truncated(path):
        return declared, declared
    with open_video(path) as container:
        return sum(1 for _ in decoded_frames(container, path)), declared


def decode_frames(path: str, convert: Callable, start: int = 0, stop: Optional[int] = None,
                  step: int = 1, what: str = "video") -> List[np.ndarray]:
    """``convert(frame)`` of frames ``start``, ``start + step``, … before ``stop`` of a video.

    Decoding begins at the first frame, as inter-frame coding requires, and ends at the last frame
    asked (nothing after it is decoded). ``stop`` None: every frame that decodes. A video that
    ends before ``stop`` raises ``UserError`` naming the file and both counts.
    """
    frames, index = [], 0
    with open_video(path, what) as container:
        declared = int(container.streams.video[0].frames or 0)
        for frame in decoded_frames(container, path):
            if stop is not None and index >= stop:
                break
            if index >= start and (index - start) % step == 0:
                frames.append(convert(frame))
            index += 1
    if stop is not None and index < stop:
        declares = f"; its header declares {declared} frames" if declared else ""
        raise UserError(f"{path}: truncated or corrupt video: it ends after {index} frames, "
                        f"{stop} were needed{declares}")
    return frames


def decode_video(path: str, start: int = 0, stop: Optional[int] = None, size: int = 64) -> np.ndarray:
    """Frames ``start .. stop−1`` of a video, grey, resized to size×size.

    Parameters
    ----------
    path : an AVI (or any container FFmpeg reads).
    start, stop : frame range (0-based, ``stop`` exclusive; None = every frame that decodes).
    size : output width and height (bicubic libswscale; the aspect ratio is not kept).

    Returns
    -------
    (stop − start, size, size) uint8 in [0, 255].

    Raises
    ------
    ValueError naming the file if it cannot be opened or decoded, or if it ends before ``stop``.
    """
    frames = decode_frames(path, lambda f: grey_resized(f, size), start, stop, what="KTH video")
    if not frames:
        return np.zeros((0, size, size), np.uint8)
    return np.stack(frames)

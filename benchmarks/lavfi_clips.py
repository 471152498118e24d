"""A folder of clips nobody in this project drew: FFmpeg's own generated sources, written with PyAV.

Seven of FFmpeg's lavfi video sources (Conway's ``life``, ``cellauto``, ``mandelbrot``,
``sierpinski``, ``zoneplate``, ``gradients``, ``testsrc2``), each with several seeds, rules or
views, at sizes from 96×72 to 160×90, 15 fps, written as mp4 (H.264) or avi (MPEG-4 part 2).
Every family has variants in each split, and the splits share no variant (no seed, rule or view),
so ``test/`` is held out from ``train/`` the way a user's own held-out recordings would be.

    python benchmarks/lavfi_clips.py OUT [--per-family 10] [--frames 120]

writes ``OUT/train``, ``OUT/val``, ``OUT/test`` (variant k of a family goes to val when k % 10 == 8,
to test when k % 10 == 9, else train) and ``OUT/clips.json`` with each file's source string.
Then ``svg convert-videos OUT ARRAYS`` and ``svg train --config configs/videos_cpu.yaml
data.root=ARRAYS`` (docs/data.md, "A CPU recipe for your own videos", gives the measured result).
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from typing import Iterator, List, Tuple

import av
import numpy as np

from svg.testing.videos import write_frames

SIZES = ((96, 72), (128, 96), (160, 90), (128, 72))
CA_RULES = (30, 45, 73, 90, 105, 110, 150, 18, 54, 122)


def variants(family: str, k: int, w: int, h: int) -> str:
    """The lavfi source string of variant ``k`` of ``family`` at ``w``×``h``, 15 fps."""
    base = f"s={w}x{h}:r=15"
    if family == "life":
        return f"{family}={base}:seed={k + 1}:ratio={0.15 + 0.05 * (k % 5):.2f}:mold={10 * (k % 3)}"
    if family == "cellauto":
        return f"{family}={base}:rule={CA_RULES[k % len(CA_RULES)]}:seed={k + 1}:scroll={k % 2}"
    if family == "mandelbrot":
        x, y = -0.743643887037158704752191506114774 + 0.01 * (k - 5), 0.131825904205311970493132056385139
        return f"{family}={base}:start_x={x:.9f}:start_y={y:.9f}:start_scale={2.0 + 0.3 * k:.2f}"
    if family == "sierpinski":
        return f"{family}={base}:seed={k + 1}:jump={1 + k % 4}:type={'carpet' if k % 2 else 'triangle'}"
    if family == "zoneplate":
        return f"{family}={base}:kt2={1 + k % 4}:kx2={k % 3}:ky2={(k + 1) % 3}:kt={k % 2}"
    if family == "gradients":
        return f"{family}={base}:seed={k + 1}:speed={0.02 + 0.01 * (k % 5):.2f}:nb_colors={2 + k % 6}"
    if family == "testsrc2":
        return f"{family}={base}:alpha={255 - 20 * k}"
    raise ValueError(f"unknown lavfi family {family!r}")


FAMILIES = ("life", "cellauto", "mandelbrot", "sierpinski", "zoneplate", "gradients", "testsrc2")


def source_frames(source: str, n: int) -> Iterator[np.ndarray]:
    """The first ``n`` frames of a lavfi source, (H, W, 3) uint8, one at a time."""
    container = av.open(source, format="lavfi")
    try:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= n:
                break
            yield frame.to_ndarray(format="rgb24")
    finally:
        container.close()


def split_of(k: int) -> str:
    return "val" if k % 10 == 8 else "test" if k % 10 == 9 else "train"


def main(argv: List[str] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--per-family", type=int, default=10, help="variants of each source (10: 8 train, 1 val, 1 test)")
    p.add_argument("--frames", type=int, default=120, help="frames per clip (15 fps)")
    args = p.parse_args(argv)
    if args.per_family < 10 or args.frames < 1:
        p.error(f"need --per-family >= 10 (variant 8 is val, 9 test) and --frames >= 1; got "
                f"{args.per_family} and {args.frames}")
    written: List[Tuple[str, str]] = []
    for family in FAMILIES:
        for k in range(args.per_family):
            w, h = SIZES[(k + FAMILIES.index(family)) % len(SIZES)]
            source = variants(family, k, w, h)
            fmt, codec = ("avi", "mpeg4") if k % 3 == 2 else ("mp4", "libx264")
            folder = os.path.join(args.out, split_of(k))
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"{family}_{k:02d}.{fmt}")
            write_frames(path, source_frames(source, args.frames), w, h, fmt, codec, fps=15,
                         options={"qscale": "2"} if codec == "mpeg4" else {"crf": "18"})
            written.append((os.path.relpath(path, args.out), source))
    with open(os.path.join(args.out, "clips.json"), "w") as f:
        json.dump(dict(written), f, indent=1)
    counts = Counter(split_of(k) for _ in FAMILIES for k in range(args.per_family))
    print(f"wrote {len(written)} clips of {args.frames} frames to {args.out}: {dict(counts)}")


if __name__ == "__main__":
    main()

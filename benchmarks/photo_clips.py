"""Real photographs in motion: camera pans, zooms and rotations over scikit-image's bundled photos,
with a moving object pasted in, written as mp4 with PyAV. Made here, never downloaded.

Each clip looks at one photograph through a moving virtual camera (a constant pan velocity, a zoom
rate and a rotation rate, drawn per clip) and carries one object cut from another photograph (a
disc with a soft edge) that moves in a straight line and bounces off the frame's edges. The
photographs are split between train, val and test, so ``test/`` shows scenes (and objects) that
training never saw, the way a user's held-out recordings would.

    python benchmarks/photo_clips.py OUT [--per-photo 6] [--frames 60] [--size 128x96]

writes ``OUT/{train,val,test}/<photo>_<k>.mp4`` (15 fps) and ``OUT/clips.json`` with each clip's
photo, object and motion. Then ``svg convert-videos OUT ARRAYS`` and ``svg train --config
configs/videos_cpu.yaml data.root=ARRAYS`` (docs/data.md).
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Dict, Iterator, List, Tuple

import numpy as np
from scipy.ndimage import map_coordinates

from svg.testing.videos import write_frames

#: photograph → split; the objects come from the same split's photographs
SPLITS = {
    "train": ("astronaut", "coffee", "chelsea", "rocket", "cell", "hubble_deep_field",
              "immunohistochemistry", "retina", "brick", "grass", "gravel", "camera", "page", "moon"),
    "val": ("coins", "horse", "text"),
    "test": ("cat", "clock", "logo", "colorwheel"),
}
SIZE = (128, 96)


def photo(name: str) -> np.ndarray:
    """scikit-image's bundled photograph ``name`` as (H, W, 3) float in [0, 1] (grey ones repeated)."""
    import skimage.data

    img = np.asarray(getattr(skimage.data, name)(), dtype=np.float64)
    img = img / 255.0 if img.max() > 1 else img
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    return img[..., :3]


def camera_view(img: np.ndarray, t: float, motion: Dict[str, float], w: int, h: int) -> np.ndarray:
    """The (h, w, 3) view at time ``t`` (frames) of a camera that pans, zooms and rotates over ``img``."""
    cy = motion["y0"] + motion["vy"] * t
    cx = motion["x0"] + motion["vx"] * t
    scale = motion["scale"] * (1 + motion["zoom"]) ** t          # photo pixels per output pixel
    angle = motion["angle"] + motion["spin"] * t
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = (u - w / 2) * scale, (v - h / 2) * scale
    ys = cy + np.sin(angle) * u + np.cos(angle) * v
    xs = cx + np.cos(angle) * u - np.sin(angle) * v
    return np.stack([map_coordinates(img[..., c], [ys, xs], order=1, mode="mirror")
                     for c in range(3)], -1)


def paste(frame: np.ndarray, sprite: np.ndarray, alpha: np.ndarray, y: float, x: float) -> np.ndarray:
    """``frame`` with ``sprite`` (r, r, 3) blended by ``alpha`` (r, r) at integer top-left (y, x)."""
    r = sprite.shape[0]
    y, x = int(round(y)), int(round(x))
    out = frame.copy()
    out[y:y + r, x:x + r] = alpha[..., None] * sprite + (1 - alpha[..., None]) * out[y:y + r, x:x + r]
    return out


def clip(img: np.ndarray, obj: np.ndarray, rng: np.random.Generator, n: int, w: int, h: int
         ) -> Tuple[Iterator[np.ndarray], Dict[str, float]]:
    """``n`` uint8 (h, w, 3) frames of one clip and the motion that made them."""
    ih, iw = img.shape[:2]
    scale = rng.uniform(0.6, 1.4) * min(ih / h, iw / w) / 2   # the view covers about half the photo
    motion = dict(y0=rng.uniform(0.3, 0.7) * ih, x0=rng.uniform(0.3, 0.7) * iw,
                  vy=rng.uniform(-1.5, 1.5) * scale, vx=rng.uniform(-2.0, 2.0) * scale,
                  scale=scale, zoom=rng.choice([0.0, rng.uniform(-0.01, 0.01)]),
                  angle=rng.uniform(-0.2, 0.2), spin=rng.choice([0.0, rng.uniform(-0.02, 0.02)]))
    r = int(rng.integers(14, 24))
    oy, ox = rng.integers(0, obj.shape[0] - 2 * r), rng.integers(0, obj.shape[1] - 2 * r)
    sprite = obj[oy:oy + 2 * r:2, ox:ox + 2 * r:2]                             # (r, r, 3)
    yy, xx = np.mgrid[0:r, 0:r] - (r - 1) / 2
    alpha = np.clip(r / 2 - np.hypot(yy, xx), 0, 1)                           # a disc, soft edge
    pos = np.array([rng.uniform(0, h - r), rng.uniform(0, w - r)])
    vel = rng.uniform(1.0, 3.0, 2) * rng.choice([-1, 1], 2)
    motion.update(object_r=r, object_vy=float(vel[0]), object_vx=float(vel[1]))

    def frames() -> Iterator[np.ndarray]:
        p, v = pos.copy(), vel.copy()
        for t in range(n):
            view = paste(camera_view(img, t, motion, w, h), sprite, alpha, *p)
            yield (np.clip(view, 0, 1) * 255).round().astype(np.uint8)
            p += v
            for a, hi in ((0, h - r), (1, w - r)):                             # bounce at the edges
                if not 0 <= p[a] <= hi:
                    v[a] = -v[a]
                    p[a] = np.clip(p[a], 0, hi)
    return frames(), {k: float(val) for k, val in motion.items()}


def main(argv: List[str] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--per-photo", type=int, default=6, help="clips of each photograph")
    p.add_argument("--frames", type=int, default=60, help="frames per clip (15 fps)")
    p.add_argument("--size", default=f"{SIZE[0]}x{SIZE[1]}", help="WxH, both even (mp4)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        p.error(f"--size {args.size!r}: expected WxH, e.g. 128x96")
    if args.per_photo < 1 or args.frames < 1 or w % 2 or h % 2 or min(w, h) < 48:
        p.error(f"need --per-photo >= 1, --frames >= 1 and an even size of at least 48 px; got "
                f"{args.per_photo}, {args.frames}, {args.size}")
    rng = np.random.default_rng(args.seed)
    written = {}
    for split, names in SPLITS.items():
        folder = os.path.join(args.out, split)
        os.makedirs(folder, exist_ok=True)
        photos = {n: photo(n) for n in names}
        for i, name in enumerate(names):
            for k in range(args.per_photo):
                obj_name = names[(i + 1 + k) % len(names)]
                frames, motion = clip(photos[name], photos[obj_name], rng, args.frames, w, h)
                path = os.path.join(folder, f"{name}_{k:02d}.mp4")
                write_frames(path, frames, w, h, "mp4", "libx264", fps=15, options={"crf": "18"})
                written[os.path.relpath(path, args.out)] = dict(photo=name, object=obj_name, **motion)
    with open(os.path.join(args.out, "clips.json"), "w") as f:
        json.dump(written, f, indent=1)
    counts = {s: len(n) * args.per_photo for s, n in SPLITS.items()}
    print(f"wrote {len(written)} clips of {args.frames} frames ({w}x{h}) to {args.out}: {counts}")


if __name__ == "__main__":
    main()

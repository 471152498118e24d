"""The README's picture: the truth beside the shipped model's samples, for a few test videos.

    python benchmarks/readme_gif.py [--run pretrained/smmnist_sigma.pt] [--out docs/media/rollouts.gif]

One row per test video (the first ``--videos`` of the test split, fixed), columns: the truth, then
``--samples`` futures drawn from the learned prior (5 context frames framed green, 10 predicted
framed red). Seeded, so the committed GIF is reproducible on the same CPU.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from svg.data import make_dataset
from svg.train.batches import fixed_batches
from svg.checkpoints import load_model
from svg.visualize import labelled_rollout, write_gif


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="pretrained/smmnist_sigma.pt")
    parser.add_argument("--out", default="docs/media/rollouts.gif")
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--n-future", type=int, default=10)
    args = parser.parse_args(argv)

    model, cfg, _, step = load_model(args.run, torch.device("cpu"))
    n_past = cfg.model.n_past
    x = fixed_batches(make_dataset(cfg.data, "test", n_past + args.n_future), args.videos, args.videos)[0]
    with torch.no_grad():
        samples = model.generate(x[:, :n_past], args.n_future, args.samples,
                                 generator=torch.Generator().manual_seed(0))     # (N, B, T, C, H, W)
    labels = ["truth"] + [f"sample {k + 1}" for k in range(args.samples)]
    rows = []
    for b in range(x.shape[0]):
        gif, _ = labelled_rollout(torch.cat([x[b:b + 1], samples[:, b]]), labels, n_past, scale=1)
        cell = gif.shape[1] - (x.shape[-2] + 4)      # the label row: only the first video keeps it
        rows.append(gif if b == 0 else gif[:, cell:])
    frames = np.concatenate(rows, axis=1)
    write_gif(args.out, frames, fps=3)
    print(f"wrote {args.out}: {frames.shape[2]}×{frames.shape[1]} px, {frames.shape[0]} frames, "
          f"{args.videos} test videos × {args.samples} samples of {args.run} (step {step})")


if __name__ == "__main__":
    main()

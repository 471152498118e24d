"""A short CPU training run on bouncing squares lowers the loss, and the demo writes its GIF."""
import imageio.v2 as imageio
import numpy as np
import torch

from data_loaders.moving_squares import moving_squares
from svg import SVG, LikelihoodConfig, ModelConfig
from svg.cli import main
from svg.train import train_steps


def test_short_training_lowers_loss():
    torch.manual_seed(0)
    model = SVG(ModelConfig(width=16, g_dim=32, z_dim=4, rnn_size=64, n_past=2,
                            likelihood=LikelihoodConfig(name="optimal")))
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    hist = train_steps(model, opt, lambda: moving_squares(8, 4, generator=gen), steps=60, progress=False)
    first = np.mean([h["total"] for h in hist[:5]])
    last = np.mean([h["total"] for h in hist[-5:]])
    assert last < first - 0.2 * abs(first), (first, last)
    assert hist[-1]["sigma"] < hist[0]["sigma"]


def test_moving_squares_stay_on_canvas():
    x = moving_squares(5, 40, size=32, square=6, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 40, 1, 32, 32)
    assert torch.all(x.flatten(2).sum(-1) == 36)    # the whole square is visible in every frame


def test_train_command_writes_rollout_gif(tmp_path):
    out = tmp_path / "run"
    rc = main(["train", "--steps", "2", "--batch-size", "2", "--n-past", "2", "--n-future", "2",
               "--width", "8", "--g-dim", "16", "--z-dim", "2", "--rnn-size", "16", "--out", str(out)])
    assert rc == 0
    frames = imageio.mimread(out / "rollouts.gif")
    assert len(frames) == 4                                  # n_past + n_future
    assert frames[0].shape[:2] == (4 * 68, 4 * 68)           # 4 sequences × (truth + 3 samples)

"""A short CPU training run on bouncing squares lowers the loss; the CLI writes its run folder."""
import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from data_loaders.moving_squares.dataset import MovingSquares, moving_squares
from svg import SVG, LikelihoodConfig, ModelConfig
from svg.cli import main


def test_short_training_lowers_loss():
    torch.manual_seed(0)
    model = SVG(ModelConfig(width=16, g_dim=32, z_dim=4, rnn_size=64, n_past=2,
                            likelihood=LikelihoodConfig(name="optimal")))
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    totals, sigmas = [], []
    for _ in range(60):
        out = model.loss(moving_squares(8, 4, generator=gen))
        opt.zero_grad()
        out.objective().backward()
        opt.step()
        totals.append(out.total.mean().item())
        sigmas.append(out.sigma.mean().item())
    first, last = np.mean(totals[:5]), np.mean(totals[-5:])
    assert last < first - 0.2 * abs(first), (first, last)
    assert sigmas[-1] < sigmas[0]


def test_moving_squares_stay_on_canvas_and_dataset_is_fixed():
    x = moving_squares(5, 40, size=32, square=6, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, 40, 1, 32, 32)
    assert torch.all(x.flatten(2).sum(-1) == 36)    # the whole square is visible in every frame
    ds = MovingSquares(6, length=10, seed=3)
    assert torch.equal(ds[4], MovingSquares(6, length=10, seed=3)[4])
    assert not torch.equal(ds[4], ds[5])
    with pytest.raises(IndexError, match="index 10 out of range"):
        ds[10]


def test_train_command_writes_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--no-progress", "data.name=moving_squares", "data.num_workers=0",
               "data.n_future=2", "model.n_past=2", "model.width=8", "model.g_dim=16", "model.z_dim=2",
               "model.rnn_size=16", "train.epochs=1", "train.steps_per_epoch=2", "train.batch_size=2",
               "train.val_batches=1", f"run_dir={out}"])
    assert rc == 0
    # what the console shows is also in train.log, the outcome lines last
    log_lines = (out / "train.log").read_text().splitlines()
    assert "best of 10 on 16 test sequences (2 → 2 frames): PSNR" in log_lines[-1]
    assert "checkpoints, config.yaml, train.log, tensorboard, gifs, best.pt, rollouts.gif, " \
           "summary.json" in log_lines[-2]
    frames = imageio.mimread(out / "rollouts.gif")
    assert len(frames) == 4                                  # n_past + n_future
    # the first validation batch (2 sequences) × (truth | posterior | 3 samples), 68-pixel cells
    assert frames[0].shape[:2] == (2 * 68, 5 * 68)
    capsys.readouterr()
    assert main(["train", "--resume", f"run_dir={tmp_path / 'empty'}"]) == 2   # a user error
    assert "--resume: no checkpoint in" in capsys.readouterr().err

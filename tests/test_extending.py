"""The extension promise: a likelihood, a metric, a backbone and a dataset are one file and one
registry line each.

This file is that one file for four toy entries. Each is registered with one line (in a fixture,
so that other tests see the normal registries), declares its own options, and a tiny model that
uses all four is trained and evaluated through the public command line, with the options given
as ordinary config keys and flags. Nothing else in the project knows about them.
"""
import json
import math
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from data_loaders import DATASETS, DatasetEntry, register_dataset
from data_loaders.common.base import VideoDataset
from models import BACKBONES, LIKELIHOODS, Backbone, register_backbone
from models.base import FrameDecoder, FrameEncoder
from models.likelihood_base import DecoderNLL, Likelihood, register
from models.skip import conv_cat
from svg.cli import main
from svg.config import load_config
from svg.eval.registry import METRICS, Metric, register_metric


# ------------------------------------------------------------------ a likelihood: Laplace
class Laplace(Likelihood):
    """Laplace decoder with a fixed scale b: NLL = Σ |x − x̂| / b + log(2b)."""

    name = "toy_laplace"

    @dataclass
    class Options:
        scale: float = 0.5

    def __init__(self, scale: float = 0.5):
        super().__init__()
        self.scale = scale

    def _nll(self, x, x_hat, log_sigma):
        per_value = (x - x_hat).abs() / self.scale + math.log(2 * self.scale)
        sigma = torch.tensor(self.scale * math.sqrt(2), dtype=x.dtype, device=x.device)  # its std
        return DecoderNLL(per_value.flatten(1).sum(1), sigma)


# ------------------------------------------------------------------ a backbone at 32 × 32
class ToyEncoder(FrameEncoder):
    def __init__(self, g_dim, channels, image_size, width, slope: float = 0.2):
        super().__init__()
        self.act = nn.LeakyReLU(slope)
        self.down = nn.ModuleList([nn.Conv2d(channels, width, 4, 2, 1), nn.Conv2d(width, width, 4, 2, 1)])
        self.head = nn.Conv2d(width, g_dim, image_size // 4)

    def forward(self, x):
        skips = []
        for conv in self.down:
            x = self.act(conv(x))
            skips.append(x)
        return torch.tanh(self.head(x)).flatten(1), skips


class ToyDecoder(FrameDecoder):
    def __init__(self, g_dim, out_channels, image_size, width, slope: float = 0.2):
        super().__init__()
        self.g_dim, self.act = g_dim, nn.LeakyReLU(slope)
        self.head = nn.ConvTranspose2d(g_dim, width, image_size // 4)
        self.up = nn.ConvTranspose2d(2 * width, width, 4, 2, 1)
        self.out = nn.ConvTranspose2d(2 * width, out_channels, 4, 2, 1)

    def forward(self, g, skips, rows=None):
        x = self.act(self.head(g.view(-1, self.g_dim, 1, 1)))
        x = self.act(conv_cat(self.up, x, skips[1], rows))
        return conv_cat(self.out, x, skips[0], rows)


@dataclass
class ToyBackboneOptions:
    slope: float = 0.2


def toy_skip_shapes(image_size, width):
    return [(width, image_size // 2), (width, image_size // 4)]


# ------------------------------------------------------------------ a dataset: drifting bars
@dataclass
class BarsOptions:
    speed: int = 1
    length: int = 12


class DriftingBars(VideoDataset):
    """A vertical bar drifting right by ``speed`` pixels per frame, 32 × 32 grey; item i starts at
    column i (train: a random column)."""

    def __init__(self, split, seq_len, o: BarsOptions):
        self.split, self.seq_len, self.o = split, seq_len, o

    def __len__(self):
        return self.o.length

    def __getitem__(self, i):
        self.check_index(i)
        start = int(torch.randint(32, ())) if self.split == "train" else i
        video = torch.zeros(self.seq_len, 1, 32, 32)
        for t in range(self.seq_len):
            video[t, 0, :, (start + self.o.speed * t) % 32] = 1.0
        return video


# ------------------------------------------------------------------ a metric: scaled MAE
@dataclass
class MAEOptions:
    scale: float = 1.0


def _mae(device, o: MAEOptions):
    return lambda pred, target: o.scale * (pred - target).abs().mean(dim=(-3, -2, -1))


@pytest.fixture
def toys():
    """The four registration lines; afterwards the registries are as they were."""
    before = {r.kind: sorted(r) for r in (LIKELIHOODS, BACKBONES, DATASETS, METRICS)}
    register(Laplace)
    register_backbone("toy32", Backbone(ToyEncoder, ToyDecoder, 32, toy_skip_shapes, ToyBackboneOptions))
    register_dataset(DatasetEntry("toy_bars", lambda split, root, seq_len, o: DriftingBars(split, seq_len, o),
                                  channels=1, image_size=32, n_future=2, eval_n_future=3,
                                  Options=BarsOptions))
    register_metric(Metric("toy_mae", False, _mae, lambda o: f"mean absolute error times {o.scale}",
                           MAEOptions))
    yield
    LIKELIHOODS.remove("toy_laplace")
    BACKBONES.remove("toy32")
    DATASETS.remove("toy_bars")
    METRICS.remove("toy_mae")
    assert {r.kind: sorted(r) for r in (LIKELIHOODS, BACKBONES, DATASETS, METRICS)} == before


TOY_RUN = ["model.backbone=toy32", "model.backbone_options.slope=0.1", "model.likelihood.name=toy_laplace",
           "model.likelihood.scale=0.25", "data.name=toy_bars", "data.options.speed=2", "data.num_workers=0",
           "model.n_past=2", "model.width=4", "model.g_dim=8", "model.z_dim=2", "model.rnn_size=8",
           "train.batch_size=2", "train.epochs=1", "train.steps_per_epoch=2", "train.log_every=1",
           "train.gif_every=100", "train.ckpt_every=2", "train.val_batches=1"]


def test_toy_entries_are_checked_like_every_other_config_key(toys):
    cfg = load_config(None, TOY_RUN)
    assert type(cfg.model.likelihood) is Laplace.Config and cfg.model.likelihood.scale == 0.25
    assert cfg.model.backbone_options == {"slope": 0.1} and cfg.data.options == {"speed": 2}
    assert (cfg.data.n_future, cfg.data.eval_n_future) == (2, 3)   # the dataset's declared horizons
    with pytest.raises(ValueError, match=r"unknown config key 'model.likelihood.scal' in the command "
                                         r"line; valid keys here: name, .*scale"):
        load_config(None, TOY_RUN + ["model.likelihood.scal=1"])
    with pytest.raises(ValueError, match=r"bad value for config key 'data.options.speed' in the command "
                                         r"line: Value 'fast'.*could not be converted to Integer"):
        load_config(None, TOY_RUN + ["data.options.speed=fast"])
    with pytest.raises(ValueError, match=r"unknown config key 'model.backbone_options.depth'.*slope"):
        load_config(None, TOY_RUN + ["model.backbone_options.depth=3"])


def test_a_model_of_four_toy_entries_trains_and_evaluates_through_the_cli(toys, tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", "--no-progress", *TOY_RUN, f"run_dir={run_dir}"]) == 0
    saved = load_config(str(run_dir / "config.yaml"))
    assert saved.model.likelihood.name == "toy_laplace" and saved.model.likelihood.scale == 0.25
    ckpt = torch.load(run_dir / "best.pt", weights_only=False)
    assert ckpt["config"]["model"]["backbone_options"] == {"slope": 0.1}
    assert main(["evaluate", "--run", str(run_dir), "--n-samples", "2", "--max-videos", "3",
                 "--metrics", "toy_mae", "psnr", "--toy_mae-scale", "2", "--out", str(tmp_path / "eval")]) == 0
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    p = report["protocol"]
    assert p["n_future"] == 3 and p["dataset"] == "toy_bars"          # the declared eval horizon
    assert p["toy_mae"] == "mean absolute error times 2.0"
    assert "(max PSNR, min TOY_MAE)" in p["selection"]
    assert 0 <= report["metrics"]["toy_mae"]["mean"] <= 2 and report["metrics"]["psnr"]["mean"] > 0
    assert p["likelihood"].startswith("toy_laplace")

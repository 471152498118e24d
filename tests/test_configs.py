"""The shipped configs say what they claim: the *_mse configs are the original SVG exactly."""
import os
import re

import pytest

from svg.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The original SVG's settings (edenton/svg README commands and train_svg_lp.py defaults).
ORIGINAL = {
    "smmnist_mse": dict(backbone="dcgan64", channels=1, z_dim=10, n_past=5, data="smmnist"),
    "bair_mse": dict(backbone="vgg64", channels=3, z_dim=64, n_past=2, data="bair"),
}


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_mse_configs_are_the_original_svg(name):
    cfg = load_config(os.path.join(ROOT, "configs", f"{name}.yaml"))
    want = ORIGINAL[name]
    m = cfg.model
    assert (m.backbone, m.channels, m.z_dim, m.n_past) == (want["backbone"], want["channels"], want["z_dim"],
                                                           want["n_past"])
    assert (m.g_dim, m.rnn_size, m.predictor_layers, m.prior_layers, m.posterior_layers) == (128, 256, 2, 1, 1)
    assert m.skip == "original"                           # skips frozen at frame n_past − 2
    assert m.likelihood.name == "mse" and m.likelihood.mse_beta == 1e-4 and m.beta == 1.0
    assert m.prior == "learned"                           # SVG-LP
    assert cfg.data.name == want["data"] and cfg.data.n_future == 10
    t = cfg.train
    assert (t.lr, t.beta1, t.batch_size, t.epochs, t.steps_per_epoch) == (2e-3, 0.9, 100, 300, 600)


@pytest.mark.parametrize("name", ["smmnist", "bair"])
def test_paper_configs_keep_the_papers_skip(name):
    assert load_config(os.path.join(ROOT, "configs", f"{name}.yaml")).model.skip == "last_context"


def test_every_setting_is_declared_once_with_its_doc_and_range():
    """Type, default, range and doc sit together in the field; the ranges and the docstrings are
    made from it (core.settings), so a setting cannot be documented or checked somewhere else."""
    import dataclasses

    from core.settings import declared
    from svg.config import Config, DataConfig, EvalConfig, ModelConfig, TrainConfig

    for cls in (Config, ModelConfig, DataConfig, TrainConfig, EvalConfig):
        assert [f.name for f in declared(cls)] == [f.name for f in dataclasses.fields(cls)], cls
        for f in declared(cls):
            assert f"{f.name} (" in cls.__doc__ and f.metadata["doc"] in cls.__doc__, (cls, f.name)
    for override, words in (("train.lr=0", "train.lr=0.0 is out of range: it must be > 0 and finite"),
                            ("model.head=flow", "model.head=flow is out of range: it must be one of "
                                                "pixels, composite, warp"),
                            ("train.ema=1.0", "train.ema=1.0 is out of range: it must be in (0, 1) "
                                              "(or null: no averaging)"),
                            ("data.num_workers=-2", "data.num_workers=-2 is out of range: it must be >= -1")):
        with pytest.raises(ValueError, match=re.escape(words)):
            load_config(None, [override])
    assert load_config(None, ["train.grad_clip=null", "train.ema=0.5"]).train.ema == 0.5

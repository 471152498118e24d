"""Checkpoints written by version 0.1 (before the model moved to ``models/``) still load.

``fixtures/checkpoint_format_0.1.json`` was written by the 0.1 code: for three model settings, the
config dict its checkpoints store and the name, shape and dtype of every state-dict entry. A
checkpoint of that form, with random weights, must load through the public loaders.
"""
import json
import os

import pytest
import torch

from svg.checkpoints import load_model

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "checkpoint_format_0.1.json")
with open(FIXTURE) as f:
    FORMAT_0_1 = json.load(f)


def _old_checkpoint(entry, path):
    g = torch.Generator().manual_seed(0)
    state = {k: (torch.rand(shape, generator=g) if dtype.startswith("float")
                 else torch.zeros(shape, dtype=getattr(torch, dtype)))
             for k, (shape, dtype) in entry["state"].items()}
    torch.save({"model": state, "config": entry["config"], "step": 7}, path)
    return state


@pytest.mark.parametrize("name", sorted(FORMAT_0_1))
def test_a_0_1_checkpoint_loads_with_its_weights(tmp_path, name):
    path = str(tmp_path / "best.pt")
    state = _old_checkpoint(FORMAT_0_1[name], path)
    model, cfg, found, step = load_model(str(tmp_path), torch.device("cpu"))
    assert (found, step) == (path, 7)
    assert cfg.model.likelihood.name == FORMAT_0_1[name]["config"]["model"]["likelihood"]["name"]
    assert "head" not in FORMAT_0_1[name]["config"]["model"] and cfg.model.head == "pixels"
    loaded = model.state_dict()
    assert sorted(loaded) == sorted(state)
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k

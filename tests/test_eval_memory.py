"""Evaluation memory: chunk sizes from a budget, and results that do not depend on the chunking."""
import dataclasses
import importlib

import pytest
import torch

from core.errors import UserError
from svg import SVG, ModelConfig
from svg.config import EvalConfig
from svg.cli.evaluate import parse_size
from svg.eval.memory import DEFAULT_FRACTION, available_memory, bytes_per_sample, chunk_plan, plan_chunks

ev = importlib.import_module("svg.eval.evaluate")   # the module (svg.eval.evaluate is also the function)
SMALL = ModelConfig(n_past=2, width=8, g_dim=16, z_dim=4, rnn_size=16)


class Videos(torch.utils.data.Dataset):
    """Fixed random dark videos (T, 1, 64, 64) in [0, 0.3] (so PSNR tells samples apart)."""

    def __init__(self, n, frames=5):
        self.x = torch.rand(n, frames, 1, 64, 64, generator=torch.Generator().manual_seed(3)) * 0.3

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = SVG(SMALL).eval()
    with torch.no_grad():   # random weights hardly pass z on: make the samples of a sequence differ
        for p in list(model.predictor.parameters()) + list(model.decoder.head.parameters()):
            p.mul_(50)
    return model


def test_parse_size():
    assert parse_size("3G") == 3 * 2 ** 30 and parse_size("512M") == 512 * 2 ** 20
    assert parse_size("800k") == 800 * 1024 and parse_size("1024") == 1024
    assert parse_size("1.5G") == 3 * 2 ** 29
    for bad in ("3X", "0", "-1G", "", "G", "3 GB extra"):
        with pytest.raises(UserError, match="--max-memory must be a positive size such as 3G"):
            parse_size(bad)


def test_plan_chunks_fills_the_budget_and_never_exceeds_it():
    per = 1000
    assert plan_chunks(400 * per, per, 4, 100) == (4, 100)      # the asked batch fits
    assert plan_chunks(10 ** 9 * per, per, 4, 100) == (4, 100)  # never more than asked
    assert plan_chunks(250 * per, per, 4, 100) == (2, 100)      # fewer whole sequences
    assert plan_chunks(99 * per, per, 4, 100) == (1, 99)        # one sequence, samples in chunks
    assert plan_chunks(30 * per + 999, per, 4, 100) == (1, 30)
    assert plan_chunks(10, per, 4, 100) == (1, 1)               # at least one sample
    for budget in (1, 7, 99, 100, 101, 399, 400, 1000):
        seqs, samples = plan_chunks(budget * per, per, 4, 100)
        assert seqs * samples <= max(1, budget) and 1 <= seqs <= 4 and 1 <= samples <= 100


def test_bytes_per_sample_grows_with_frames_channels_and_width():
    base = bytes_per_sample(SMALL, 64, 2, 10)
    assert bytes_per_sample(SMALL, 64, 2, 20) > base
    assert bytes_per_sample(dataclasses.replace(SMALL, channels=3), 64, 2, 10) > 2.5 * base
    assert bytes_per_sample(dataclasses.replace(SMALL, width=64), 64, 2, 10) > base
    # at least the measured peak of scoring: 476 bytes per predicted value (dcgan64, 10 frames)
    assert base >= 476 * 10 * 64 * 64


def test_available_memory_reads_meminfo():
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    expected = int(fields["MemAvailable"].split()[0]) * 1024
    assert available_memory(torch.device("cpu")) == pytest.approx(expected, rel=0.2)


def test_the_budget_picks_the_chunk(model, monkeypatch):
    cfg = EvalConfig(n_samples=10, n_past=2, n_future=3, batch_size=4)
    per = bytes_per_sample(SMALL, 64, 2, 3)
    plan = chunk_plan(model, dataclasses.replace(cfg, max_memory=3 * per + 1), torch.device("cpu"))
    assert (plan["sequences"], plan["samples"]) == (1, 3) and plan["bytes_per_sample"] == per
    plan = chunk_plan(model, dataclasses.replace(cfg, max_memory=25 * per), torch.device("cpu"))
    assert (plan["sequences"], plan["samples"]) == (2, 10)
    # default: a fraction of what is available
    monkeypatch.setattr("svg.eval.memory.available_memory", lambda device: int(14 * per / DEFAULT_FRACTION))
    plan = chunk_plan(model, cfg, torch.device("cpu"))
    assert plan["budget_bytes"] == 14 * per and (plan["sequences"], plan["samples"]) == (1, 10)
    with pytest.raises(UserError, match="--max-memory 100 bytes is less than one sample needs"):
        chunk_plan(model, dataclasses.replace(cfg, max_memory=100), torch.device("cpu"))


def test_generate_sample_depends_only_on_its_noise(model):
    ctx = torch.rand(2, 2, 1, 64, 64, generator=torch.Generator().manual_seed(1))
    eps = torch.randn(3, 2, 1 + 3, SMALL.z_dim, generator=torch.Generator().manual_seed(2))
    together = model.generate(ctx, 3, 3, eps=eps)
    alone = model.generate(ctx[1:], 3, 1, eps=eps[2:, 1:])
    assert torch.allclose(together[2, 1], alone[0, 0], atol=1e-6)
    assert not torch.equal(together[1, 1, 2:], together[2, 1, 2:])   # other noise, other sample
    with pytest.raises(ValueError, match=r"eps must have shape .* = \(3, 2, 4, 4\)"):
        model.generate(ctx, 3, 3, eps=eps[:, :, :3])


def run_eval(model, **kw):
    cfg = EvalConfig(n_samples=6, n_past=2, n_future=3, metrics=["psnr", "ssim"], **kw)
    return ev.evaluate(model, Videos(5), cfg)


def test_best_of_n_is_the_same_whatever_the_chunking(model):
    per = bytes_per_sample(SMALL, 64, 2, 3)
    whole = run_eval(model, batch_size=5)
    assert (whole["chunking"]["sequences"], whole["chunking"]["samples"]) == (5, 6)
    assert whole["results"]["psnr"].per_sample.mean(-1).std(0).min() > 1e-3   # samples differ
    for kw in (dict(batch_size=5, max_memory=per), dict(batch_size=2, max_memory=4 * per),
               dict(batch_size=1)):
        other = run_eval(model, **kw)
        assert other["chunking"]["samples"] == {per: 1, 4 * per: 4}.get(kw.get("max_memory"), 6)
        for name in ("psnr", "ssim"):
            a, b = whole["results"][name], other["results"][name]
            assert torch.equal(a.best_index, b.best_index), (kw, name)
            assert torch.allclose(a.per_sample, b.per_sample, rtol=1e-5, atol=1e-6), (kw, name)
            assert other["metrics"][name]["mean"] == pytest.approx(whole["metrics"][name]["mean"],
                                                                   rel=1e-6)
        assert other["test_nll_per_dim"] == pytest.approx(whole["test_nll_per_dim"], rel=1e-5)
    # and the seed does change the samples
    assert not torch.equal(run_eval(model, batch_size=5, seed=1)["results"]["psnr"].per_sample,
                           whole["results"]["psnr"].per_sample)


def test_noise_of_a_sequence_is_its_own():
    a, la = ev.sequence_noise(0, 7, 4, 5, 6, 3)
    b, lb = ev.sequence_noise(0, 7, 4, 5, 6, 3)
    assert a.shape == (4, 5, 3) and la.shape == (5, 3)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, ev.sequence_noise(0, 8, 4, 5, 6, 3)[0])
    assert not torch.equal(a, ev.sequence_noise(1, 7, 4, 5, 6, 3)[0])
    assert not torch.equal(a, ev.sequence_noise(-1, 7, 4, 5, 6, 3)[0])   # any seed is fine

"""Learning-rate schedules and the moving average of the weights, each against an independent
computation: the schedule's formula written out, and an EMA rolled by hand from the saved weights."""
import math
import re

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from core.errors import UserError
from svg.config import load_config
from svg.checkpoints import export_model, list_checkpoints, load_model
from svg.train.loop import train
from svg.train.schedule import learning_rate
from tiny_runs import tiny

SCHEDULE = ["train.lr_schedule=cosine", "train.lr_warmup=2", "train.lr_final_fraction=0.1",
            "train.lr=1e-3"]


def expected_lr(step, total, schedule, warmup, final, base=1e-3):
    """The schedule written out once more, step by step: warm-up, then the decay's formula."""
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / (total - warmup)
    return base * {"constant": 1.0,
                   "cosine": final + (1 - final) * (1 + math.cos(math.pi * p)) / 2,
                   "linear": 1 - (1 - final) * p}[schedule]


@pytest.mark.parametrize("schedule", ["constant", "cosine", "linear"])
def test_schedule_follows_its_formula(schedule):
    total = 100
    got = [learning_rate(s, 1e-3, total, schedule, 10, 0.05) for s in range(total)]
    want = [expected_lr(s, total, schedule, 10, 0.05) for s in range(total)]
    assert got == pytest.approx(want, rel=1e-12)
    assert got[9] == pytest.approx(1e-3) and got[0] == pytest.approx(1e-4)
    if schedule != "constant":   # decays monotonically towards the final fraction
        assert all(a >= b for a, b in zip(got[10:], got[11:]))
        assert 0.05e-3 < got[-1] < 0.07e-3


def test_the_default_schedule_is_todays_constant_rate():
    cfg = load_config("configs/smmnist.yaml")
    assert (cfg.train.lr_schedule, cfg.train.lr_warmup, cfg.train.ema) == ("constant", 0, None)
    assert learning_rate(5000, 2e-3, 6000) == 2e-3


@pytest.mark.parametrize("override, words", [
    ("train.lr_schedule=step", "one of constant, cosine, linear"),
    ("train.ema=1.0", "in (0, 1)"),
    ("train.lr_final_fraction=2", "in [0, 1]"),
    ("train.lr_warmup=-1", ">= 0")])
def test_bad_recipe_settings_name_the_key(tmp_path, override, words):
    with pytest.raises(UserError, match=re.escape(words)):
        train(tiny(tmp_path / "run", 2, override), progress=False)


def test_the_scheduled_rate_reaches_tensorboard(tmp_path):
    run = tmp_path / "run"
    train(tiny(run, 6, *SCHEDULE), progress=False)
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    logged = [e.value for e in events.Scalars("train/lr")]
    assert logged == pytest.approx([expected_lr(s, 6, "cosine", 2, 0.1) for s in range(6)], rel=1e-6)


def hand_rolled_ema(weights_per_step, decay):
    """EMA of the state dicts saved after each step: d = min(decay, (1 + n)/(10 + n)), floats only."""
    avg = {k: v.clone().double() if v.is_floating_point() else v.clone()
           for k, v in weights_per_step[0].items()}   # the starting weights
    for n, w in enumerate(weights_per_step[1:]):
        d = min(decay, (1 + n) / (10 + n))
        for k, v in w.items():
            avg[k] = d * avg[k] + (1 - d) * v.double() if v.is_floating_point() else v.clone()
    return avg


def test_ema_equals_a_hand_rolled_average_and_is_what_best_and_export_hold(tmp_path):
    # one-step runs chained by resume give the live weights after every step
    run = tmp_path / "run"
    torch.manual_seed(0)
    steps = 4
    weights = []
    for s in range(1, steps + 1):
        cfg = tiny(run, s, "train.ema=0.5", "train.ckpt_every=1", "train.keep_last=10", *SCHEDULE[:1])
        train(cfg, progress=False)
        state = torch.load(list_checkpoints(str(run))[-1], weights_only=False)
        if s == 1:   # the weights before the first step: a fresh model of the same seed
            from models.svg_lp import SVG
            torch.manual_seed(cfg.train.seed)
            weights.append(SVG(cfg.model).state_dict())
        weights.append(state["model"])
    want = hand_rolled_ema(weights, 0.5)
    got = state["ema"]["model"]
    assert state["ema"]["updates"] == steps
    for k, v in want.items():
        if v.is_floating_point():
            torch.testing.assert_close(got[k].double(), v, rtol=1e-5, atol=1e-6, msg=k)
        else:
            assert torch.equal(got[k], v), k
    # the commands load the average by default and the live weights with raw_weights
    model, _, _, _ = load_model(list_checkpoints(str(run))[-1], torch.device("cpu"))
    raw, _, _, _ = load_model(list_checkpoints(str(run))[-1], torch.device("cpu"), raw_weights=True)
    k = next(k for k, v in got.items() if v.is_floating_point() and v.ndim > 1)
    assert torch.equal(model.state_dict()[k], got[k])
    assert torch.equal(raw.state_dict()[k], state["model"][k])
    assert not torch.equal(got[k], state["model"][k])
    info = export_model(str(run), str(tmp_path / "m.pt"), half=False)
    assert info["weights"] == "ema"
    exported, _, _, _ = load_model(str(tmp_path / "m.pt"), torch.device("cpu"))
    best = torch.load(run / "best.pt", weights_only=False)
    assert torch.equal(exported.state_dict()[k], best["ema"]["model"][k])


def test_killed_and_resumed_recipe_run_matches_an_uninterrupted_one(tmp_path):
    extra = (*SCHEDULE, "train.ema=0.9")
    train(tiny(tmp_path / "whole", 6, *extra), progress=False)
    train(tiny(tmp_path / "split", 3, *extra, "train.ckpt_every=3"), progress=False)
    train(tiny(tmp_path / "split", 6, *extra), progress=False)
    a = torch.load(list_checkpoints(str(tmp_path / "whole"))[-1], weights_only=False)
    b = torch.load(list_checkpoints(str(tmp_path / "split"))[-1], weights_only=False)
    for part in ("model", "ema"):
        sa, sb = (a[part], b[part]) if part == "model" else (a[part]["model"], b[part]["model"])
        for k in sa:
            assert torch.equal(sa[k], sb[k]), (part, k)


def test_a_checkpoint_without_ema_still_loads_and_resumes_with_ema(tmp_path, caplog):
    run = tmp_path / "run"
    train(tiny(run, 2), progress=False)
    old = torch.load(list_checkpoints(str(run))[-1], weights_only=False)
    assert "ema" not in old
    model, _, _, _ = load_model(str(run), torch.device("cpu"))   # the raw weights, no error
    train(tiny(run, 4, "train.ema=0.99"), progress=False)
    assert "holds no moving average" in caplog.text
    new = torch.load(list_checkpoints(str(run))[-1], weights_only=False)
    assert new["ema"]["updates"] == 2


def test_a_warmup_longer_than_the_run_is_refused(tmp_path):
    # the rate would never reach train.lr: 100 warm-up steps in a 12-step run
    with pytest.raises(UserError, match=re.escape("train.lr_warmup=100 is longer than the run's 12 steps")):
        train(tiny(tmp_path / "run", 12, "train.lr_warmup=100"), progress=False)
    assert not (tmp_path / "run").exists()


def test_lengthening_a_decaying_run_warns_with_the_rates_before_and_after(tmp_path, caplog):
    import logging

    run, cosine = tmp_path / "run", ["train.lr_schedule=cosine", "train.lr=1e-3"]
    train(tiny(run, 3, *cosine), progress=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="svg.train"):
        train(tiny(run, 6, *cosine), progress=False)
    jumps = [r.getMessage() for r in caplog.records if "learning rate jumps" in r.getMessage()]
    last, then, now = (expected_lr(2, 3, "cosine", 0, 0), expected_lr(3, 3, "cosine", 0, 0),
                       expected_lr(3, 6, "cosine", 0, 0))
    assert len(jumps) == 1 and now > last > then   # the rate goes up again
    assert f"the last update used {last:.3g}" in jumps[0]
    assert f"goes on at {then:.3g}" in jumps[0] and f"at {now:.3g};" in jumps[0]
    # what the warning says is what the run did: TensorBoard holds the rate of step 4 (0-based 3)
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert {e.step: e.value for e in events.Scalars("train/lr")}[4] == pytest.approx(now, rel=1e-6)


def test_a_resume_that_keeps_the_rate_says_nothing_of_it():
    from types import SimpleNamespace

    from svg.train.schedule import resume_rate_change

    saved = dict(lr=1e-3, epochs=1, steps_per_epoch=40, lr_schedule="constant", lr_warmup=0,
                 lr_final_fraction=0.0)
    assert resume_rate_change(saved, SimpleNamespace(**dict(saved, steps_per_epoch=60)), 40) is None
    cosine = dict(saved, lr_schedule="cosine")
    assert resume_rate_change(cosine, SimpleNamespace(**cosine), 20) is None
    assert resume_rate_change(cosine, SimpleNamespace(**dict(cosine, steps_per_epoch=60)), 20)

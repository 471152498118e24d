"""Training options and entry points that are otherwise easy to break unnoticed: the fixed prior,
torch.compile, the demo, config errors, the likelihood registry and its renamed key."""
import os
import subprocess
import sys

import pytest
import torch

from svg import LIKELIHOODS, LikelihoodConfig, build_likelihood
from svg.config import config_from_dict, load_config
from svg.train.loop import train
from tiny_runs import REPO, TINY as TINY_RUN, tiny

TINY = TINY_RUN + ["train.steps_per_epoch=2"]


def test_fixed_prior_trains_and_generates(tmp_path):
    summary = train(load_config(None, TINY + ["model.prior=fixed", f"run_dir={tmp_path}"]), progress=False)
    state = torch.load(tmp_path / "ckpt_000000002.pt", weights_only=False)["model"]
    assert not any(k.startswith("prior.") for k in state)             # SVG-FP has no prior network
    assert summary["step"] == 2 and 0 < summary["metrics"]["psnr"]["mean"] < 100


@pytest.mark.slow   # compiling takes minutes on 2 CPU cores
def test_compile_trains(tmp_path):
    summary = train(load_config(None, TINY + ["train.compile=true", f"run_dir={tmp_path}"]), progress=False)
    assert summary["step"] == 2
    assert all(torch.isfinite(v).all() for v in
               torch.load(tmp_path / "ckpt_000000002.pt", weights_only=False)["model"].values()
               if v.is_floating_point())


def test_demo_entry_point(tmp_path):
    cmd = [sys.executable, os.path.join(REPO, "train_svg.py"), "--demo", "--no-progress",
           "train.epochs=1", "train.steps_per_epoch=1", "train.batch_size=2", "train.val_batches=1",
           "data.num_workers=0", f"run_dir={tmp_path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_config(str(tmp_path / "config.yaml")).model.likelihood.name == "optimal"
    assert (tmp_path / "rollouts.gif").exists() and (tmp_path / "train.log").exists()


def test_config_from_dict_names_the_source_and_key():
    with pytest.raises(ValueError, match=r"config stored in ckpt_7.pt does not fit this version: key 'train.batch_size': Value 'many'"):
        config_from_dict({"train": {"batch_size": "many"}}, "ckpt_7.pt")
    with pytest.raises(ValueError, match=r"config stored in old.pt does not fit this version: key 'model.no_such_key'"):
        config_from_dict({"model": {"no_such_key": 1}}, "old.pt")


def test_with_actions_is_refused_by_the_trainer_with_a_plain_message(tmp_path):
    with pytest.raises(ValueError, match="with_actions=true gives dict items"):
        train(load_config(None, TINY + ["data.options={with_actions: true}", f"run_dir={tmp_path}"]),
              progress=False)


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_every_registered_likelihood_builds_from_the_config(name):
    lik = build_likelihood(LikelihoodConfig(name=name))
    assert type(lik) is LIKELIHOODS[name] and lik.name == name


def test_unknown_likelihood_lists_the_registry():
    with pytest.raises(ValueError, match=r"unknown likelihood 'gauss'; choose one of \['bernoulli'"):
        build_likelihood(LikelihoodConfig(name="gauss"))


def test_stored_configs_of_earlier_versions_are_translated_where_a_checkpoint_is_read(tmp_path):
    """The one translation: 0.1 stored every likelihood's options (the chosen one reads its own),
    and before it the mse weight was ``beta``; a config file or command line must use today's keys."""
    from svg.checkpoints import translate_stored_config

    stored = {"model": {"likelihood": {"name": "mse", "beta": 0.001, "sigma": 1.0, "axes": "sequence",
                                       "log_sigma_min": -6.0, "momentum": 0.01}}}
    new = translate_stored_config(stored, "old.pt")
    assert new["model"]["likelihood"] == {"name": "mse", "mse_beta": 0.001}
    assert "beta" in stored["model"]["likelihood"]   # a copy: the stored mapping is left as it was
    assert build_likelihood(config_from_dict(new).model.likelihood).beta == 0.001
    f = tmp_path / "old.yaml"
    f.write_text("model:\n  likelihood:\n    name: mse\n    beta: 0.001\n")
    with pytest.raises(ValueError, match=r"unknown config key 'model.likelihood.beta'.*mse_beta"):
        load_config(str(f))
    with pytest.raises(ValueError, match=r"unknown config key 'model.likelihood.sigma'"):
        load_config(None, ["model.likelihood.sigma=0.5"])   # optimal has no fixed σ


def test_the_run_records_data_root_as_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train(load_config(None, TINY + ["train.steps_per_epoch=1", "data.root=data/here", "run_dir=run"]),
          progress=False)
    assert load_config(str(tmp_path / "run" / "config.yaml")).data.root == str(tmp_path / "data" / "here")


@pytest.mark.parametrize("keep", [True, False])
def test_keep_host_memory_follows_the_config_on_cpu(tmp_path, monkeypatch, keep):
    calls = []
    monkeypatch.setattr("svg.train.loop.keep_freed_memory", lambda: calls.append(1) or True)
    train(load_config(None, TINY + ["train.device=cpu", "train.steps_per_epoch=1",
                                    f"train.keep_host_memory={str(keep).lower()}",
                                    f"run_dir={tmp_path}"]), progress=False)
    assert calls == ([1] if keep else [])


def test_amp_auto_picks_bf16_exactly_where_the_cpu_has_native_bf16(monkeypatch, tmp_path):
    """train.amp=auto reads the CPU's flags: bf16 with amx_bf16 or avx512_bf16, else fp32."""
    import builtins

    from core import devices as runtime

    real_open = builtins.open

    def cpuinfo(flags):
        def fake_open(path, *a, **k):
            if path == "/proc/cpuinfo":
                import io
                return io.StringIO(f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n")
            return real_open(path, *a, **k)
        return fake_open

    cpu = torch.device("cpu")
    for flags, expected in (("avx2 avx512f avx512_bf16", "bf16"), ("avx2 amx_tile amx_bf16", "bf16"),
                            ("avx2 avx512f", "none")):
        monkeypatch.setattr(builtins, "open", cpuinfo(flags))
        mode, why = runtime.resolve_amp("auto", cpu)
        assert mode == expected, (flags, why)
        assert ("has none of" in why) == (expected == "none")
    monkeypatch.setattr(builtins, "open", real_open)
    assert runtime.resolve_amp("bf16", cpu)[0] == "bf16" and runtime.resolve_amp("none", cpu)[0] == "none"


def test_bf16_asked_for_on_a_device_without_native_bf16_is_warned_about(monkeypatch, caplog, tmp_path):
    """Emulated bf16 is many times slower than fp32: an explicit train.amp=bf16 there is warned
    about when the trainer is built; auto (which picks fp32 there) and native bf16 are not."""
    from svg.runtime import Dist
    from svg.train.loop import _build

    def warnings_for(amp, native):
        def fake(device):
            return native, "the CPU has none of amx_bf16, avx512_bf16"
        monkeypatch.setattr("core.devices.native_bf16", fake)   # what auto resolves by
        monkeypatch.setattr("svg.train.loop.native_bf16", fake)
        caplog.clear()
        with caplog.at_level("WARNING", logger="svg.train"):
            _build(tiny(tmp_path, 1, f"train.amp={amp}"), Dist(), torch.device("cpu"))
        return caplog.text

    warning = "train.amp=bf16, but the CPU has none of amx_bf16, avx512_bf16: bf16 is emulated"
    assert warning in warnings_for("bf16", native=False)
    assert warning not in warnings_for("bf16", native=True)
    assert warning not in warnings_for("auto", native=False)


def test_amp_auto_trains_and_the_log_says_which_precision_and_why(tmp_path):
    from core.devices import resolve_amp

    run = tmp_path / "run"
    train(tiny(run, 2, "train.amp=auto"), progress=False)
    mode, why = resolve_amp("auto", torch.device("cpu"))
    assert f"precision: {'fp32' if mode == 'none' else mode} ({why})" in (run / "train.log").read_text()


def test_loader_workers_auto_picks_none_on_a_cpu_and_several_on_a_gpu(monkeypatch):
    from svg.train.batches import loader_workers

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert loader_workers(-1, "cpu") == 0 and loader_workers(-1, "cuda") == 8
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert loader_workers(-1, "cuda") == 1 and loader_workers(3, "cpu") == 3
    assert load_config("configs/smmnist_demo.yaml").data.num_workers == -1
    with pytest.raises(ValueError, match=r"data.num_workers=-2 is out of range: it must be >= -1"):
        load_config(None, ["data.num_workers=-2"])

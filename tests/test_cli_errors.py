"""User errors through the CLI, as a user meets them: one line on stderr, exit status 2, no
traceback (unless --debug or SVG_DEBUG=1); unexpected exceptions keep theirs; svg --version."""
import os
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from eval_fvd import FeatureStats
from core.errors import DEBUG_HINT, MissingEntry, MissingFile, UserError, user_error_message
from svg.cli import entry as cli
from svg.train.batches import UserErrorLoader
main = cli.main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, env=None, script=("-m", "svg.cli")):
    """The command in a fresh process, from the repository root, as a user would type it."""
    full_env = {k: v for k, v in os.environ.items() if k != "SVG_DEBUG"}
    full_env.update(PYTHONPATH=ROOT, **(env or {}))
    return subprocess.run([sys.executable, *script, *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=300)


def test_bad_config_key_is_two_lines_and_status_2():
    p = run_cli("data.nme=1", script=("train_svg.py",))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in p.stderr
    assert lines[0].startswith("svg train: error: unknown config key 'data.nme'")
    assert "--debug" in lines[1]


@pytest.mark.parametrize("argv, env", [(["--debug", "train", "data.nme=1"], "0"),
                                       (["train", "data.nme=1", "--debug"], ""),
                                       (["train", "data.nme=1"], "1")])
def test_debug_and_svg_debug_show_the_traceback(monkeypatch, capsys, argv, env):
    monkeypatch.setenv("SVG_DEBUG", env)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("core.errors.UserError: unknown config key 'data.nme'")


def test_version():
    p = run_cli("--version")
    assert p.returncode == 0
    assert p.stdout.split()[:2] == ["svg-sigma", metadata.version("svg-sigma")]
    assert f"torch {metadata.version('torch')}" in p.stdout
    train_svg = run_cli("--version", script=("train_svg.py",))
    assert train_svg.returncode == 0 and train_svg.stdout == p.stdout


# a subcommand defined here, outside the project's packages: its errors are not user errors
def add_arguments(p):
    p.add_argument("--kind", default="value")


class FailingItems(Dataset):
    """Item 3 fails: with a message for the user, or inside numpy (not one)."""

    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3 and self.kind == "worker-user":
            raise UserError("frame 3 of bad.npy is damaged")
        if i == 3:
            np.zeros(-1)
        return torch.zeros(2)


def run(args):
    if args.kind.startswith("worker"):                # in a DataLoader worker process
        for _ in UserErrorLoader(FailingItems(args.kind), batch_size=2, num_workers=1):
            pass
    if args.kind == "project-bug":                    # an internal check in the project's code
        from models.skip import _split_weight
        _split_weight(torch.nn.Conv2d(4, 4, 3, groups=2), 2)
    if args.kind == "numpy":
        np.zeros(-1)                                  # ValueError raised inside numpy
    if args.kind == "key":
        raise KeyError("a bug, not a user error")
    if args.kind == "interrupt":
        raise KeyboardInterrupt
    raise ValueError("raised outside svg-sigma's packages")


@pytest.mark.parametrize("kind, exc", [("value", ValueError), ("numpy", ValueError), ("key", KeyError),
                                       ("project-bug", ValueError), ("worker-numpy", ValueError)])
def test_unexpected_exceptions_keep_their_traceback(monkeypatch, kind, exc):
    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", (__name__, "raises"))
    with pytest.raises(exc):
        main(["boom", "--kind", kind])


def test_user_error_in_a_dataloader_worker_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", (__name__, "raises"))
    assert main(["boom", "--kind", "worker-user"]) == 2
    assert capsys.readouterr().err == f"svg boom: error: frame 3 of bad.npy is damaged\n{DEBUG_HINT}\n"
    assert main(["boom", "--kind", "worker-user", "--debug"]) == 2      # where it was raised, too
    err = capsys.readouterr().err
    assert "Raised in a DataLoader worker process" in err and "in __getitem__" in err, err
    assert err.strip().splitlines()[-1] == "core.errors.UserError: frame 3 of bad.npy is damaged"


def test_ctrl_c_outside_training(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", (__name__, "raises"))
    assert main(["boom", "--kind", "interrupt"]) == 130
    assert capsys.readouterr().err == "svg boom: interrupted\n"
    with pytest.raises(KeyboardInterrupt):
        main(["boom", "--kind", "interrupt", "--debug"])


def raised_by(source, filename):
    try:
        exec(compile(source, filename, "exec"), {"UserError": UserError, "MissingFile": MissingFile})
    except Exception as e:
        return e
    raise AssertionError("no exception")


def test_what_counts_as_a_user_error():
    """By type alone: a UserError (or subclass) from anywhere; not a ValueError or OSError, even
    one raised by a ``raise`` statement or an ``open()`` in the project's own packages."""
    ours = os.path.join(ROOT, "data_loaders", "somewhere.py")        # a frame in a project package
    outside = os.path.join(ROOT, "tests", "somewhere.py")
    for where in (ours, outside):
        assert user_error_message(raised_by("raise UserError('bad value')", where)) == "bad value"
        assert user_error_message(raised_by("raise MissingFile('x.npy does not exist')", where)) == \
            "x.npy does not exist"
        for bug in ("raise ValueError('m')", "open('/nonexistent/x.npy')", "a, b = [1, 2, 3]", "int('x')",
                    "raise KeyError('k')"):
            assert user_error_message(raised_by(bug, where)) is None, bug
    assert user_error_message(MissingEntry("w.ckpt: no 'params' entry")) == "w.ckpt: no 'params' entry"
    assert user_error_message(SystemExit("give either")) == "give either"
    assert user_error_message(SystemExit(2)) is None
    try:
        np.zeros(-1)                                                 # raised inside numpy
    except ValueError as e:
        assert user_error_message(e) is None


def test_options_between_overrides_and_plain_system_exit(capsys):
    # `b=2` after an option is still an override: the error is about its key, not the argument
    assert main(["train", "data.name=moving_squares", "--no-progress", "train.nope=2"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'train.nope'" in err and "unrecognized arguments" not in err
    assert main(["train", "--demo", "--config", "configs/smmnist.yaml"]) == 2
    assert capsys.readouterr().err.strip() == "svg train: error: give either --demo or --config, not both"


def test_unreadable_config_files_are_named(tmp_path, capsys):
    cases = {"random.yaml": bytes(np.random.default_rng(0).integers(128, 256, 300, dtype=np.uint8)),
             "broken.yaml": b"model:\n  width: 8\n bad: 1\n",
             "list.yaml": b"- 1\n- 2\n"}
    expected = {"random.yaml": "is not readable YAML", "broken.yaml": "(line 3, column 2",
                "list.yaml": "must hold a mapping"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        assert main(["train", "--config", str(tmp_path / name)]) == 2
        first = capsys.readouterr().err.splitlines()[0]
        assert f"config file {tmp_path / name}" in first and expected[name] in first, first


@pytest.fixture
def fvd_inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.integers(0, 256, (2, 9, 32, 32, 3), dtype=np.uint8))
    np.save(tmp_path / "fake.npy", rng.random((2, 10, 3, 32, 32)).astype(np.float32))
    for name, n in (("real_stats.npz", 10), ("fake_stats.npz", 12)):
        FeatureStats.of(rng.standard_normal((n, 4)), 16, (64, 64)).save(str(tmp_path / name))
    return tmp_path


@pytest.mark.parametrize("case", ["missing", "frames"])
def test_fvd_user_errors_are_one_line_at_both_entry_points(fvd_inputs, capsys, case):
    real = fvd_inputs / ("nope.npy" if case == "missing" else "real.npy")
    expected = (f"{real} does not exist" if case == "missing" else
                "FVD compares videos of the same frame count: real videos have 9 frames of 32x32, "
                "generated videos have 10 frames of 32x32")
    args = [str(real), str(fvd_inputs / "fake.npy"), "--weights", str(fvd_inputs / "no.ckpt")]
    p = run_cli(*args, script=("-m", "eval_fvd"))
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.splitlines() == [f"python -m eval_fvd: error: {expected}", DEBUG_HINT]
    assert main(["fvd", *args]) == 2
    assert capsys.readouterr().err.splitlines() == [f"svg fvd: error: {expected}", DEBUG_HINT]
    p = run_cli(*args, "--debug", script=("-m", "eval_fvd"))
    assert p.returncode == 2 and "Traceback (most recent call last)" in p.stderr


def test_user_warnings_are_one_plain_line(fvd_inputs, capsys):
    args = [str(fvd_inputs / "real_stats.npz"), str(fvd_inputs / "fake_stats.npz")]
    warning = ("warning: FVD from fewer than 256 videos per side (real 10, generated 12): the estimate "
               "is biased and noisy, not comparable to published values")
    p = run_cli(*args, script=("-m", "eval_fvd"))
    assert p.returncode == 0 and p.stdout.startswith("FVD "), p.stderr
    assert p.stderr.splitlines() == [f"python -m eval_fvd: {warning}"]
    assert main(["fvd", *args]) == 0
    assert capsys.readouterr().err.splitlines() == [f"svg fvd: {warning}"]

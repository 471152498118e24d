"""User errors through the CLI, as a user meets them: one line on stderr, exit status 2, no
traceback (unless --debug or SVG_DEBUG=1); unexpected exceptions keep theirs; svg --version."""
import os
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from svg.cli import entry as cli
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
    assert err.strip().splitlines()[-1].startswith("ValueError: unknown config key 'data.nme'")


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


def run(args):
    if args.kind == "numpy":
        np.zeros(-1)                                  # ValueError raised inside numpy
    if args.kind == "key":
        raise KeyError("a bug, not a user error")
    if args.kind == "interrupt":
        raise KeyboardInterrupt
    raise ValueError("raised outside svg-sigma's packages")


@pytest.mark.parametrize("kind, exc", [("value", ValueError), ("numpy", ValueError), ("key", KeyError)])
def test_unexpected_exceptions_keep_their_traceback(monkeypatch, kind, exc):
    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", (__name__, "raises"))
    with pytest.raises(exc):
        main(["boom", "--kind", kind])


def test_ctrl_c_outside_training(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", (__name__, "raises"))
    assert main(["boom", "--kind", "interrupt"]) == 130
    assert capsys.readouterr().err == "svg boom: interrupted\n"
    with pytest.raises(KeyboardInterrupt):
        main(["boom", "--kind", "interrupt", "--debug"])


def raised_by(source, filename):
    try:
        exec(compile(source, filename, "exec"), {})
    except Exception as e:
        return e
    raise AssertionError("no exception")


def test_what_counts_as_a_user_error():
    ours = os.path.join(ROOT, "data_loaders", "somewhere.py")        # a frame in a project package
    assert cli.user_error_message(raised_by("raise ValueError('bad value')", ours)) == "bad value"
    assert cli.user_error_message(raised_by("open('/nonexistent/x.npy')", ours)) == \
        "[Errno 2] No such file or directory: '/nonexistent/x.npy'"
    for bug in ("a, b = [1, 2, 3]", "int('x')", "raise KeyError('k')"):  # failed operations: bugs
        assert cli.user_error_message(raised_by(bug, ours)) is None, bug
    outside = os.path.join(ROOT, "tests", "somewhere.py")
    assert cli.user_error_message(raised_by("raise ValueError('m')", outside)) is None
    try:
        np.zeros(-1)                                                 # raised inside numpy
    except ValueError as e:
        assert cli.user_error_message(e) is None


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

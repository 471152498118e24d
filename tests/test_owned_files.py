"""Files users own (issue 41, item 1): no command writes over one of its inputs or over a file it
did not create, unless given ``--overwrite``.

The property, over every command that writes: run it with its outputs going into a folder that
holds its inputs and other files of the user's, and every one of those files is byte-identical
afterwards (md5); put a file of the user's at one of its output names, and it is refused in one
line naming that file, with every file, that one included, byte-identical.
"""
import contextlib
import hashlib
import io
import os
import shutil

import imageio.v2 as imageio
import numpy as np
import pytest

from svg.cli import main
from svg.testing.bair_records import write_tfrecords
from svg.testing.kth_videos import write_video as write_avi
from svg.testing.videos import moving_rect
from tiny_runs import TINY

USER_BYTES = b"the user's own file, not svg's\n"
FAST_EVAL = ["--n-samples", "2", "--max-videos", "2", "--metrics", "psnr", "--device", "cpu"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", "--no-progress", *TINY, "train.steps_per_epoch=2", f"run_dir={run}"]) == 0
    return run


def md5s(root) -> dict:
    """relative path → md5 of every file under ``root``."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.md5(f.read()).hexdigest()
    return out


def user_file(path) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(USER_BYTES)
    return os.path.basename(path)


def kth_source(root):
    frames = np.full((44, 120, 160), 20, np.uint8)
    for t in range(44):
        frames[t, 10 + t:34 + t, 4 + t:28 + t] = 230
    os.makedirs(root / "boxing")
    write_avi(str(root / "boxing" / "person21_boxing_d1_uncomp.avi"), frames)


def bair_source(root):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        os.makedirs(root / split)
        write_tfrecords(str(root / split / "traj_0_to_0.tfrecords"),
                        *(rng.integers(0, 256, (1, 30, 64, 64, 3), dtype=np.uint8) for _ in range(2)),
                        rng.standard_normal((1, 30, 4)).astype(np.float32),
                        rng.standard_normal((1, 30, 3)).astype(np.float32))


def case(command: str, home, run) -> tuple:
    """(argv writing into ``home``, which now holds the command's inputs and a file of the user's;
    an output name of that argv to put a user's file at; the arguments of a clean output there)."""
    user_file(home / "notes.txt")
    if command == "predict":
        imageio.mimsave(home / "clip.gif", list(moving_rect(6)), duration=100, loop=0)
        return (["predict", "--run", str(run), str(home / "clip.gif"), "--out", str(home), "--n-future",
                 "2", "--device", "cpu"], home / "clip.pred.gif")
    if command == "generate":
        return (["generate", "--run", str(run), "--out", str(home), "--max-videos", "1", "--n-samples",
                 "2", "--device", "cpu"], home / "video_0000.png")
    if command == "evaluate":
        return ["evaluate", "--run", str(run), "--out", str(home), *FAST_EVAL], home / "metrics.json"
    if command == "report":   # its input: an evaluation folder (its progress bar kept off the test's stderr)
        with contextlib.redirect_stderr(io.StringIO()):
            assert main(["evaluate", "--run", str(run), "--out", str(home / "eval"), *FAST_EVAL]) == 0
        return ["report", str(home / "eval"), "--out", str(home / "page.html")], home / "page.html"
    if command == "export":
        shutil.copy(run / "best.pt", home / "mine.pt")
        return ["export", "--run", str(home / "mine.pt"), str(home / "shared.pt")], home / "shared.pt"
    if command == "convert-videos":
        os.makedirs(home / "clips")
        imageio.mimsave(home / "clips" / "clip.gif", list(moving_rect(6)), duration=100, loop=0)
        return ["convert-videos", str(home / "clips"), str(home / "arrays")], home / "arrays" / "clip.gif.npy"
    if command == "convert-kth":
        kth_source(home / "kth")
        return ["convert-kth", str(home / "kth"), str(home / "kth64")], home / "kth64" / "manifest.json"
    if command == "convert-bair":
        bair_source(home / "bair")
        return (["convert-bair", str(home / "bair"), str(home / "bair64")],
                home / "bair64" / "train" / "videos.npy")
    assert command == "train"
    (home / "my.yaml").write_text("train:\n  lr: 0.001\n")
    return (["train", "--no-progress", "--config", str(home / "my.yaml"), *TINY,
             "train.steps_per_epoch=1", f"run_dir={home}"], home / "config.yaml")


COMMANDS = ["predict", "generate", "evaluate", "report", "export", "convert-videos", "convert-kth",
            "convert-bair", "train"]


@pytest.mark.parametrize("command", COMMANDS)
def test_inputs_and_other_files_stay_byte_identical(command, run_dir, tmp_path, capsys):
    argv, output = case(command, tmp_path, run_dir)
    before = md5s(tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    after = md5s(tmp_path)
    assert {k: after.get(k) for k in before} == before   # every input and user file unchanged
    assert os.path.exists(output)                         # and the command did write


@pytest.mark.parametrize("command", COMMANDS)
def test_a_users_file_at_an_output_name_is_refused_by_name(command, run_dir, tmp_path, capsys):
    argv, output = case(command, tmp_path, run_dir)
    name = user_file(output)
    before = md5s(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"svg {command}: error: ") and name in err[0], err
    assert "--overwrite" in err[0] and len(err) <= 2 and "Traceback" not in "\n".join(err)
    assert md5s(tmp_path) == before


def test_the_reported_case_predict_in_the_clips_folder(run_dir, tmp_path, capsys, monkeypatch):
    """``svg predict --run RUN clip.gif --out .`` run in the clip's folder wrote clip.gif over it."""
    imageio.mimsave(tmp_path / "clip.gif", list(moving_rect(6)), duration=100, loop=0)
    clip = md5s(tmp_path)["clip.gif"]
    monkeypatch.chdir(tmp_path)
    argv = ["predict", "--run", str(run_dir), "clip.gif", "--out", ".", "--n-future", "2", "--device", "cpu"]
    assert main(argv) == 0
    assert md5s(tmp_path)["clip.gif"] == clip and os.path.exists("clip.pred.npz")
    assert main(argv) == 2   # its own earlier output is not overwritten silently either
    assert "clip.pred.gif already exists" in capsys.readouterr().err
    first = md5s(tmp_path)["clip.pred.npz"]
    assert main(argv + ["--n-future", "3", "--overwrite"]) == 0
    assert md5s(tmp_path)["clip.pred.npz"] != first and md5s(tmp_path)["clip.gif"] == clip


def test_export_over_its_own_checkpoint_needs_overwrite(run_dir, tmp_path, capsys):
    shutil.copy(run_dir / "best.pt", tmp_path / "best.pt")
    before = md5s(tmp_path)
    assert main(["export", "--run", str(tmp_path / "best.pt"), str(tmp_path / "best.pt")]) == 2
    assert "best.pt already exists" in capsys.readouterr().err and md5s(tmp_path) == before
    assert main(["export", "--run", str(tmp_path / "best.pt"), str(tmp_path / "best.pt"), "--overwrite"]) == 0
    assert md5s(tmp_path) != before


def test_a_converter_refuses_a_foreign_manifest_but_resumes_its_own(tmp_path, capsys):
    """convert-kth deleted any manifest.json in DST that was not its own; now it is refused, and
    a DST that holds a finished conversion is still taken up again."""
    kth_source(tmp_path / "kth")
    dst = tmp_path / "out"
    assert main(["convert-kth", str(tmp_path / "kth"), str(dst)]) == 0
    assert main(["convert-kth", str(tmp_path / "kth"), str(dst)]) == 0   # its own: fine
    other = tmp_path / "other"
    user_file(other / "manifest.json")
    assert main(["convert-kth", str(tmp_path / "kth"), str(other)]) == 2
    assert "holds manifest.json, which this command did not write" in capsys.readouterr().err
    assert (other / "manifest.json").read_bytes() == USER_BYTES

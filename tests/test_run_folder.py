"""Run folders: one trainer at a time, unwritable folders refused up front, failed starts leave no
empty folder, and train.log holds what the console showed during set-up (warnings included)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from svg.testing.kth_videos import write_video
from core.errors import UserError
from svg.cli import main
from svg.train.run_folder import LOCK_FILE, claim_run_folder
from tiny_runs import REPO, TINY


def _children(pid: int) -> list:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _alive(pid: int) -> bool:
    """Running, and not a zombie (an orphan's parent may never reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(condition, proc, what: str, timeout: float = 300):
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the trainer ended before {what}: {proc.stderr.read()[-2000:]}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _lock_text(run) -> str:
    # (never while this process holds the lock: closing the file would drop it)
    return (run / LOCK_FILE).read_text() if (run / LOCK_FILE).exists() else ""


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
                    reason="needs Linux /proc to find the DataLoader workers")
def test_one_trainer_per_run_folder_and_a_killed_one_frees_it_at_once(tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, os.path.join(REPO, "train_svg.py"), "--no-progress", *TINY,
            "data.num_workers=2", "train.steps_per_epoch=100000", "train.ckpt_every=3",
            f"run_dir={run}"]
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    third = None
    try:
        _wait_for(lambda: len(_children(first.pid)) >= 2, first, "its DataLoader workers started")
        workers = _children(first.pid)
        second = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr[-2000:]
        lines = second.stderr.splitlines()
        assert lines[0] == (f"svg train: error: run folder {run} is in use by another svg train "
                            f"(pid {first.pid} on host {socket.gethostname()}); wait for it to end "
                            f"or stop it, or train into another run_dir")
        assert len(lines) == 2 and "Traceback" not in second.stderr
        assert first.poll() is None                           # the holder trains on, undisturbed
        log_text = (run / "train.log").read_text()
        assert log_text.count("starting from step 0 of") == 1 and "resuming" not in log_text
        assert "in use" not in log_text                       # the refused one wrote nothing there

        first.send_signal(signal.SIGKILL)
        first.wait()
        assert all(_alive(w) for w in workers)                # orphaned workers still hold the file…
        with claim_run_folder(str(run)):                      # …yet the lock is free at once
            assert all(_alive(w) for w in workers)
        third = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _lock_text(run).startswith(f"pid {third.pid} "), third,
                  "a new trainer held the folder")
    finally:
        for p in (first, third):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def test_a_second_claim_in_the_same_process_is_refused_and_the_lock_outlives_it(tmp_path):
    run = tmp_path / "run"
    with claim_run_folder(str(run)):
        with pytest.raises(UserError, match="already being trained by this process"):
            with claim_run_folder(str(run)):
                pass
        # still held: another process is refused, naming this one
        probe = subprocess.run(
            [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n"
             "    print('held')", str(run / LOCK_FILE)], capture_output=True, text=True, timeout=60)
        assert probe.stdout.strip() == "held", probe.stderr
    assert (run / LOCK_FILE).read_text() == ""                # released: no holder named
    with claim_run_folder(str(run)):
        pass


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder this process cannot write in: without write permission, or, for root
    (whom permissions do not bind), immutable (``chattr +i``)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
        yield ro
        ro.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(ro)]).returncode:
        pytest.skip("running as root, and cannot make a folder immutable here")
    try:
        yield ro
    finally:
        subprocess.run(["chattr", "-i", str(ro)], check=True)


def test_unwritable_run_dir_and_output_folder_are_refused_before_any_work(read_only_folder, tmp_path,
                                                                           capsys):
    ro = read_only_folder
    calls = {"new run_dir": ["train", "--no-progress", *TINY, f"run_dir={ro}/run"],
             "existing run_dir": ["train", "--no-progress", *TINY, f"run_dir={ro}"],
             "generate": ["generate", "--run", str(tmp_path / "no-such-run"), "--out", f"{ro}/out"],
             "convert-kth": ["convert-kth", str(tmp_path / "kth"), f"{ro}/kth"],
             "convert-bair": ["convert-bair", str(tmp_path / "bair"), f"{ro}/bair"],
             "convert-videos": ["convert-videos", str(tmp_path / "clips"), f"{ro}/videos"]}
    (tmp_path / "clips").mkdir()   # convert-videos first checks that SRC exists and holds no DST
    expected = {
        "new run_dir": f"svg train: error: run_dir {ro}/run: cannot write to make it in {ro} "
                       f"(no permission); choose a writable folder",
        "existing run_dir": f"svg train: error: run_dir {ro}: cannot write (no permission); "
                            f"choose a writable folder",
        "generate": f"svg generate: error: --out {ro}/out: cannot write to make it in {ro} "
                    f"(no permission); choose a writable folder"}   # before looking for the run
    for command in ("convert-kth", "convert-bair", "convert-videos"):   # before reading a source
        expected[command] = (f"svg {command}: error: DST {ro}/{command[8:]}: cannot write to make it in "
                             f"{ro} (no permission); choose a writable folder")
    for name, argv in calls.items():
        assert main(argv) == 2, name
        err = capsys.readouterr().err
        assert err.splitlines()[0] == expected[name] and "Traceback" not in err, (name, err)
    assert os.listdir(ro) == []


def _kth_root(root, people_frames):
    """A raw KTH folder with one boxing video per (person, frames) of a still grey square."""
    os.makedirs(root / "boxing", exist_ok=True)
    for person, n in people_frames:
        frames = np.full((n, 120, 160), 20, np.uint8)
        frames[:, 40:64, 60:84] = 230
        write_video(str(root / "boxing" / f"person{person:02d}_boxing_d1_uncomp.avi"), frames)
    return root


def test_a_failed_start_removes_the_folders_it_made(tmp_path):
    missing = tmp_path / "no-such-data"
    status = main(["train", "--no-progress", *TINY, "data.name=kth", f"data.root={missing}",
                   f"run_dir={tmp_path / 'runs' / 'a'}"])
    assert status == 2
    assert os.listdir(tmp_path) == []                     # neither runs/a nor runs is left behind


def test_a_failed_start_in_an_existing_folder_says_why_in_train_log(tmp_path):
    """train.log holds the set-up's warnings (config and Python warnings) and the failure."""
    data = _kth_root(tmp_path / "kth", [(1, 12), (2, 3)])   # person 2 too short; no val person 20
    run = tmp_path / "run"
    run.mkdir()
    config = tmp_path / "digits.yaml"
    config.write_text("data:\n  name: smmnist\n  options:\n    num_digits: 2\n")
    status = main(["train", "--no-progress", "--config", str(config), *TINY, "data.name=kth",
                   f"data.root={data}", f"run_dir={run}"])
    assert status == 2
    lines = (run / "train.log").read_text().splitlines()
    assert f"svg.config WARNING data.name=kth on the command line replaces smmnist of {config}: " \
           f"dropping that file's data.options {{'num_digits': 2}}" in lines[0]
    assert any(line.endswith("py.warnings WARNING KTH train: skipped 1 of 2 videos shorter than 4 "
                             "frames: person02_boxing_d1 (3)") for line in lines)
    assert f"svg.train ERROR training failed: MissingFile: {data}: no KTH videos of people [20] " \
           f"found" in lines[-1]
    assert sorted(os.listdir(run)) == [LOCK_FILE, "train.log"]
    assert stat.S_ISREG(os.stat(run / LOCK_FILE).st_mode)

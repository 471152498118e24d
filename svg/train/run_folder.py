"""Claiming a run folder: made if missing, checked writable, and held by one trainer at a time.

One writer per folder
    ``svg train`` holds an exclusive lock on ``run_dir/train.lock`` for its whole life and writes
    its pid and host into that file; a second trainer on the same folder is refused with both.
    ``svg evaluate`` and ``svg generate`` only read a run and take no lock.

Why a POSIX record lock (``fcntl.lockf``) rather than ``flock``
    A ``flock`` lock belongs to the open file description, which DataLoader workers inherit when
    they are forked: after the trainer is killed (``kill -9``) its orphaned workers would keep
    the lock until they notice and exit. A record lock belongs to the process: a fork does not
    inherit it and the kernel drops it when the process dies, whatever its children do. (It
    also works over NFS.) Its catch: the process loses the lock when it closes *any* descriptor
    of the file, so nothing in the trainer may open ``train.lock`` but this module; and two
    claims in one process do not exclude each other, so the second one looks for the file among
    the process's open descriptors instead.

A failed start leaves nothing behind
    When training fails and the folders this run made hold only ``train.log`` and the lock
    file, they are removed (the console has shown why); a folder that existed keeps its
    ``train.log``, which ends with the reason.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import os
import socket
import time
from typing import Iterator, List

from core.errors import UserError
from core.owned_files import check_writable, refuse_foreign
from svg.checkpoints import CKPT_PATTERN

LOCK_FILE = "train.lock"
LOG_FILE = "train.log"
#: the files of a run folder the trainer writes whole (besides checkpoints and GIFs); not the
#: lock file, which the locking itself deals with (a claim that failed or ended leaves it)
OWN_FILES = ("config.yaml", "summary.json", "rollouts.gif", "best.pt")


def missing_folders(folder: str) -> List[str]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing, path = [], os.path.abspath(folder)
    while not os.path.lexists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def _holder(path: str) -> str:
    """Who holds the lock, as its holder wrote it (it writes just after locking: wait a moment)."""
    for _ in range(20):
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
            text = f.read().strip()
            if text:
                return text
        time.sleep(0.05)
    return "pid and host not known"


def _open_here(path: str) -> bool:
    """Whether this process has ``path`` open, seen without opening it (Linux: /proc/self/fd)."""
    with contextlib.suppress(OSError):
        target = os.stat(path)
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                st = os.stat(f"/proc/self/fd/{fd}")
                if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                    return True
    return False


def _in_use(run_dir: str, path: str) -> UserError:
    return UserError(f"run folder {run_dir} is in use by another svg train ({_holder(path)}); wait "
                     f"for it to end or stop it, or train into another run_dir")


def _open_lock(run_dir: str) -> int:
    """The locked, open lock file of ``run_dir`` (made if missing), its holder written in it."""
    path = os.path.join(run_dir, LOCK_FILE)
    if _open_here(path):   # then locking again would succeed, and closing it would drop the lock
        raise UserError(f"run folder {run_dir} is already being trained by this process")
    while True:
        try:
            os.makedirs(run_dir, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise UserError(f"run_dir {run_dir}: cannot write there ({e.strerror}); choose a "
                            f"writable folder") from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise _in_use(run_dir, path) from None
        with contextlib.suppress(FileNotFoundError):
            if os.fstat(fd).st_ino == os.stat(path).st_ino:   # not removed by a failed start meanwhile
                break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
    return fd


def is_run_folder(run_dir: str) -> bool:
    """Whether ``run_dir`` is a trainer's: it holds ``train.log`` (every session writes it first)
    or a step checkpoint."""
    if not os.path.isdir(run_dir):
        return False
    names = os.listdir(run_dir)
    return LOG_FILE in names or any(CKPT_PATTERN.match(name) for name in names)


def written_over(rel: str) -> bool:
    """Whether the trainer writes over a file at ``rel`` (relative to the run folder) rather
    than beside it: its configs, end-of-run files and rollout GIFs (a checkpoint makes the
    folder a run folder already)."""
    folder, _, name = rel.rpartition("/")
    if folder == "gifs":
        return fnmatch.fnmatch(name, "step_*.gif")
    return not folder and (name in OWN_FILES or fnmatch.fnmatch(name, "config.*.yaml"))


@contextlib.contextmanager
def claim_run_folder(run_dir: str, enabled: bool = True, overwrite: bool = False) -> Iterator[None]:
    """Hold ``run_dir`` (made if missing) for one trainer while the block runs.

    Raises :class:`UserError`, before anything is written, when the folder cannot be written or
    another trainer holds it, or when it is no run folder (:func:`is_run_folder`) and holds a
    file the trainer would write over (``config.yaml`` in the user's own folder), unless
    ``overwrite``. When the block fails and the folders this claim made hold nothing but
    ``train.log`` and the lock file, they are removed. ``enabled=False`` (torchrun ranks other
    than 0, which share rank 0's run): does nothing.
    """
    if not enabled:
        yield
        return
    made, ours = missing_folders(run_dir), is_run_folder(run_dir)
    # nothing written before these two checks: a refused start leaves no folder behind
    check_writable(run_dir, "run_dir")
    if not ours:
        refuse_foreign(run_dir, lambda rel: not written_over(rel), "run_dir",
                       "train into another run_dir", overwrite)
    fd = _open_lock(run_dir)
    try:
        yield
    except BaseException:
        _remove_unused(run_dir, made)
        raise
    finally:
        os.ftruncate(fd, 0)   # no longer held by anyone
        os.close(fd)   # after the removal: nobody else may take the folder while it goes


def _remove_unused(run_dir: str, made: List[str]) -> None:
    """Remove ``made`` (deepest first) if the run folder holds only the log and the lock file."""
    if not made or not set(os.listdir(run_dir)) <= {LOG_FILE, LOCK_FILE}:
        return
    with contextlib.suppress(OSError):
        for name in (LOG_FILE, LOCK_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(run_dir, name))
        for folder in made:
            os.rmdir(folder)   # stops at the first that is no longer empty

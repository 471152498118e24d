"""One way to write a file so that an interruption never leaves a complete-looking one.

Every file the project writes (checkpoints, configs, reports, GIFs, converted datasets, FVD
statistics) goes through :func:`atomic_path` or :func:`atomic_write`: the data goes to a hidden
temporary name in the same folder (``.<name>.tmp-<pid><ext>``, so extension-sniffing writers still
work), is fsynced, and is renamed over the final name; the rename is made durable by fsyncing the
folder. A crash at any point leaves the old file or the complete new one, plus at worst a
temporary that :func:`remove_stale_temporaries` clears later.

It lives in ``data_loaders``, the lowest layer that writes files, so that ``svg`` and ``eval_fvd``
can both use it without breaking the one-way dependency rule.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
from typing import IO, Iterator, List

from core.errors import MissingFile, UserError

_TMP = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(?P<ext>\.[^.]*)?$")


def temporary_name(path: str) -> str:
    """The hidden temporary file that :func:`atomic_path` writes before renaming to ``path``."""
    folder, base = os.path.split(os.path.abspath(path))
    ext = os.path.splitext(base)[1]
    return os.path.join(folder, f".{base}.tmp-{os.getpid()}{ext}")


def is_temporary(name: str) -> bool:
    """Whether the file name ``name`` is one of :func:`temporary_name`'s."""
    return _TMP.match(name) is not None


def fsync_path(path: str) -> None:
    """Flush a file (or a folder entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write ``path`` through; on success it is fsynced and renamed.

    On an exception the temporary file is removed and ``path`` is left as it was. A folder that
    does not exist or cannot be written to raises :class:`~core.errors.UserError` naming it.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MissingFile(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: folder {folder} is not writable")
    tmp = temporary_name(path)
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise FileNotFoundError(f"nothing was written to {tmp} for {path}")
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    fsync_path(os.path.dirname(os.path.abspath(path)))   # make the rename itself durable


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """``open(path, mode)`` that becomes visible under ``path`` only once completely written."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_write writes whole files; mode must start with 'w', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as f:
            yield f


def write_text(path: str, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8)."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def remove_stale_temporaries(folder: str) -> List[str]:
    """Delete temporaries of :func:`atomic_path` in ``folder`` whose writer process has died.

    A file whose writing process is still alive is kept (it may be finishing its rename).
    Returns the removed paths.
    """
    removed = []
    for path in glob.glob(os.path.join(folder, ".*.tmp-*")):
        m = _TMP.match(os.path.basename(path))
        if m is None:
            continue
        try:
            os.kill(int(m.group("pid")), 0)
            continue                      # the writer still runs
        except ProcessLookupError:
            pass
        except PermissionError:           # alive, owned by someone else
            continue
        os.remove(path)
        removed.append(path)
    return removed

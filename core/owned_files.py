"""Files users own: a command writes over none of its inputs and no file it did not create,
unless it is told to with ``--overwrite``.

Three checks, all made before any work, so that a refused command has changed nothing:
:func:`check_writable` for the folder a command writes into (it can be written there at all),
:func:`refuse_existing` for the files a command is about to write (``svg predict``,
``generate``, ``evaluate``, ``export``), and :func:`refuse_foreign` for a folder a command fills
and may come back to (the converters' DST, the trainer's run folder), where only the files of an
earlier run of the same command may be there. The messages are one line naming the file.
"""
from __future__ import annotations

import errno
import os
import tempfile
from typing import Callable, Iterable, Optional

from core.atomic_files import is_temporary
from core.errors import UserError

#: the help of every command's ``--overwrite`` flag
OVERWRITE_HELP = ("write over files that already exist at the output names (default: refuse, "
                  "naming the first)")

#: the same for a command that fills a folder (the converters' DST, the trainer's run_dir)
OVERWRITE_FOLDER_HELP = ("write into a folder that holds files this command did not write "
                         "(default: refuse, naming one)")


def check_writable(folder: str, what: str) -> None:
    """Raise a one-line :class:`UserError` unless files can be created in ``folder`` (or, where it
    does not exist yet, in the nearest folder above it, where it would be made).

    The check writes and fsyncs a nameless scratch file there rather than asking ``os.access``:
    that asks about permissions only, which bind neither root nor an immutable folder, and says
    nothing of a full or read-only disk. Nothing is created, so a refused command leaves no
    empty folder. ``what`` names the folder for the user, e.g. ``"run_dir"`` or ``"--out"``.
    """
    target = os.path.abspath(folder)
    existing = target
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        blocker = "" if existing == target else f": {existing}"   # name the path only once
        raise UserError(f"{what} {folder}{blocker} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing) as f:
            f.write(b"svg write check")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        why = {errno.EROFS: "read-only file system", errno.EACCES: "no permission",
               errno.EPERM: "no permission"}.get(e.errno, e.strerror or str(e))
        where = "" if existing == target else f" to make it in {existing}"
        raise UserError(f"{what} {folder}: cannot write{where} ({why}); choose a writable folder") from None


def refuse_existing(paths: Iterable[str], overwrite: bool = False, fix: str = "choose another --out") -> None:
    """Raise a one-line :class:`UserError` naming the first of ``paths`` that exists, unless
    ``overwrite``: a file of the user's, an input, or an earlier run's output alike (a command
    cannot tell them apart, and replacing any of them silently loses it). ``fix`` says what else
    the user can do (e.g. "choose another --out")."""
    if overwrite:
        return
    for path in paths:
        if os.path.lexists(path):
            raise UserError(f"{path} already exists; {fix}, or give --overwrite to replace it")


def first_foreign_file(folder: str, ours: Callable[[str], bool]) -> Optional[str]:
    """The first file under ``folder`` (sorted walk; paths relative to it, ``/``-separated) that
    ``ours`` does not recognise as written by the command; None when there is none. The
    temporaries of :mod:`core.atomic_files` are always the command's own."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
            if not is_temporary(name) and not ours(rel):
                return rel
    return None


def refuse_foreign(folder: str, ours: Callable[[str], bool], what: str, fix: str,
                   overwrite: bool = False) -> None:
    """Raise a one-line :class:`UserError` when ``folder`` holds a file that ``ours`` does not
    recognise (:func:`first_foreign_file`), unless ``overwrite`` or the folder does not exist.
    ``what`` names the folder's role ("DST", "run_dir"); ``fix`` what to do instead."""
    if overwrite or not os.path.isdir(folder):
        return
    rel = first_foreign_file(folder, ours)
    if rel is not None:
        raise UserError(f"{what} {folder} holds {rel}, which this command did not write; {fix}, or "
                        f"give --overwrite to write there anyway")

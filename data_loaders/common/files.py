"""Reading data files so that a damaged or foreign file is reported by its path.

numpy, json and imageio describe an unreadable file without naming it (or name it deep inside a
traceback); these wrappers raise ``UserError("<path>: ...")`` (a ``ValueError``) instead, with what
was expected.
"""
from __future__ import annotations

import json
import os
import pickle
import zipfile
from typing import IO, Any, Optional

import numpy as np

from core.errors import MissingFile, UserError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def _require(path: str) -> None:
    if not os.path.exists(path):
        raise MissingFile(f"{path} does not exist")


def open_file(path: str, mode: str = "rb") -> IO:
    """``open(path, mode)`` for reading a file the user gave: a missing one raises
    :class:`~core.errors.MissingFile`, one that cannot be opened (a folder, no permission) a
    :class:`~core.errors.UserError`, each naming ``path``."""
    _require(path)
    try:
        return open(path, mode)
    except OSError as e:
        raise UserError(f"{path} cannot be read: {e.strerror or e}") from None


def load_array(path: str, mmap_mode: Optional[str] = None) -> Any:
    """``np.load`` of a ``.npy`` (or ``.npz``) file that is never unpickled.

    Returns the array (memory-mapped with ``mmap_mode``) or the open ``NpzFile``. A file that is
    neither format, or is damaged, raises ``ValueError`` naming ``path``.
    """
    with open_file(path) as f:
        head = f.read(6)
    if head != NPY_MAGIC and not head.startswith(ZIP_MAGIC):
        raise UserError(f"{path} is not a NumPy .npy or .npz file (it does not start with the "
                        f".npy magic bytes or a zip header); is it damaged or another format?")
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise UserError(f"{path} is a damaged NumPy file: {e}") from None


def load_json(path: str) -> Any:
    """The parsed JSON of ``path``; a damaged file raises ``ValueError`` naming it."""
    with open_file(path) as f:
        raw = f.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None


def read_image(path: str, all_frames: bool = False):
    """One image (PNG, GIF frame, ...) as a numpy array via imageio, or with ``all_frames`` the
    list of every frame (an animated GIF); unreadable → ``ValueError``."""
    import imageio.v2 as imageio

    _require(path)
    try:
        return imageio.mimread(path) if all_frames else imageio.imread(path)
    except (ValueError, OSError, SyntaxError) as e:   # PIL reports some bad headers as SyntaxError
        raise UserError(f"{path} is not a readable image: {e}") from None

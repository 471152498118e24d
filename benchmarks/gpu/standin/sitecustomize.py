"""The dry run's stand-in for the device's Python (``run_device.sh --dry-run`` puts this folder on
``PYTHONPATH``): the top-level modules named in ``$SVG_STANDIN_HIDDEN`` (one a line; written by
``prepare_carry.py --dry-run``: what is installed here but not on the device) import only from
``sys.path`` entries outside this Python's site-packages, that is from the working tree and the
carry, as on the device; from site-packages they fail as they would there.
"""
import importlib.machinery
import os
import site
import sys


def _real(path):
    return os.path.realpath(path or os.getcwd())


_HIDDEN = frozenset(open(os.environ["SVG_STANDIN_HIDDEN"]).read().split()) \
    if os.environ.get("SVG_STANDIN_HIDDEN") else frozenset()
_SITE = {_real(p) for p in site.getsitepackages() + [site.getusersitepackages()]}


class DeviceLacks:
    """Meta-path finder, first in line: a hidden top-level module is looked up only outside
    site-packages, and a miss ends the search (the later finders would find it there)."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if path is not None or name not in _HIDDEN:
            return None
        spec = importlib.machinery.PathFinder.find_spec(
            name, [p for p in sys.path if _real(p) not in _SITE])
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r} (the device lacks it, and it "
                                      f"is not carried: the dry run's stand-in)", name=name)
        return spec


if _HIDDEN:
    sys.meta_path.insert(0, DeviceLacks)

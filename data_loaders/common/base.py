"""The dataset contract: what a video dataset must do to plug into training and evaluation.

One file, one registry line: a new dataset is a module of ``data_loaders`` with a
:class:`VideoDataset` subclass, its builder function and one ``register_dataset(DatasetEntry(...))``
line, which declares its options, frame channels and size, and default horizons. The registry
(:data:`DATASETS`) imports every module of the package on first lookup, so nothing else needs to
know the new file; the dataset tests loop over the registry and check each entry against what it
declares. Add the new dataset's disjointness and prefix tests next to the others in
``tests/test_data_splits.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Union

import torch
from torch.utils.data import Dataset

from core.registry import NoOptions, Registry, option_names
from core.errors import UserError


class VideoDataset(Dataset):
    """One split (``train``, ``val`` or ``test``) of a video dataset.

    - ``__getitem__(i)`` returns (T, C, H, W) float32 in [0, 1], T = the ``seq_len`` the builder
      was given. Frames are uint8 on disk and float in [0, 1] from here on, nowhere else; a
      dataset whose frames are uint8 makes them float through :meth:`frames_out`, so that with
      ``uint8_items`` set (the trainer sets it on its training split) items stay (T, C, H, W)
      uint8 in [0, 255] and become float on the training device: a quarter of the bytes to
      collate, pin and copy. A dataset that makes float frames directly may ignore the flag.
    - Training randomness (which video, which start frame, on-the-fly trajectories) is drawn from
      torch's global generator only: the trainer seeds it per step (``svg.train.batches.StepSeeded``),
      which makes every step replayable and resume exact. Never keep a private generator for it.
    - ``val`` and ``test`` items are a fixed function of (seed, i) and prefix-stable: the first k
      frames of item i are the same whatever ``seq_len`` was asked, so 5 → 10 and 5 → 20
      evaluations score the same videos.
    - The three splits are disjoint (different videos, people or digits); say how in the
      builder's docstring and the README.
    - Bad files raise ``ValueError`` / ``FileNotFoundError`` naming the file and what was expected.
    """

    #: items as (T, C, H, W) uint8 in [0, 255] instead of float32 in [0, 1] (see the contract).
    uint8_items: bool = False

    def __len__(self) -> int:
        raise NotImplementedError

    def frames_out(self, frames: torch.Tensor) -> torch.Tensor:
        """(T, C, H, W) uint8 frames as the item: float32 in [0, 1] (``x / 255``), or the uint8
        tensor itself when ``uint8_items`` is set."""
        return frames if self.uint8_items else frames.float().div_(255.0)

    def __getitem__(self, index: int) -> torch.Tensor:
        raise NotImplementedError

    def check_index(self, i: int, items: str = "videos") -> None:
        """Raise ``IndexError`` for an ``i`` outside 0 .. len − 1 (``items`` names what is counted)."""
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} {items}")


#: A declared frame property: a number, or a function of the dataset's options that gives it.
PerOptions = Union[int, Callable[[Any], int]]


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset as the config selects it (``data.name``), declared next to its dataset class.

    name : its config name.
    build : (split, root, seq_len, options) → the split's dataset; root is ``data.root`` (None:
        the default source, if the dataset has one); options an instance of ``Options``.
    channels, image_size : C and S of its (C, S, S) frames, each a number or a function of the
        options (e.g. a ``size`` option).
    n_future, eval_n_future : its default horizons, frames predicted in training and in
        evaluation (``data.n_future`` and ``data.eval_n_future`` when the config leaves them out).
    Options : a dataclass of its options with defaults (``data.options`` in the config, checked by
        type when the config is read).
    """
    name: str
    build: Callable[[str, Optional[str], int, Any], Dataset]
    channels: PerOptions
    image_size: PerOptions
    n_future: int
    eval_n_future: int
    Options: type = NoOptions

    def options(self, given: Dict[str, Any]) -> Any:
        """``Options`` from a dict of option values; unknown names raise ``UserError``."""
        valid = option_names(self.Options)
        unknown = sorted(set(given) - set(valid))
        if unknown:
            raise UserError(f"dataset {self.name!r}: unknown options {unknown}; valid: {valid}")
        return self.Options(**given)

    def frame_shape(self, options: Any = None) -> Tuple[int, int]:
        """(channels, image size) of the frames with ``options`` (default: the defaults)."""
        opts = self.Options() if options is None else options
        return tuple(v(opts) if callable(v) else v for v in (self.channels, self.image_size))


#: Config name → dataset entry; finds the entries in every module of ``data_loaders``.
DATASETS: Registry[DatasetEntry] = Registry("dataset", ["data_loaders"])


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    """Make ``entry`` selectable as ``data.name: <entry.name>``."""
    return DATASETS.add(entry.name, entry)


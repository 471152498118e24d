"""The batches training steps are fed: replayable from any step, and their loader.

Exact resume rests on :class:`StepSeeded`: every random draw of training step s (which sequences,
their on-the-fly randomness) is seeded from (seed, rank, s), so a run restarted from a checkpoint at
step k replays steps k+1.. exactly. The datasets themselves come from :func:`svg.data.make_dataset`.
"""
from __future__ import annotations

import os
import random
import traceback
from typing import Any, Callable, Iterator, List, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate, get_worker_info

from core.errors import UserError


def step_seed(seed: int, rank: int, step: int, salt: int = 0) -> int:
    """A 63-bit seed that depends only on its arguments."""
    return int(np.random.SeedSequence([seed, rank, step, salt]).generate_state(2, np.uint32)
               .astype(np.uint64).view(np.uint64)[0] >> np.uint64(1))


class StepBatches(Sampler):
    """Batch sampler whose batch for step s is the keys (s, 0..B−1): steps are replayable."""

    def __init__(self, start: int, stop: int, batch_size: int):
        self.start, self.stop, self.batch_size = start, stop, batch_size

    def __iter__(self) -> Iterator[List[tuple]]:
        for s in range(self.start, self.stop):
            yield [(s, j) for j in range(self.batch_size)]

    def __len__(self) -> int:
        return self.stop - self.start


class StepSeeded(Dataset):
    """Item (s, j) = a random sequence of ``dataset``, with every RNG seeded from (seed, rank, s, j).

    Whatever randomness the dataset uses (torch, numpy or Python's global generators) becomes a
    function of the step, in any worker; the caller's generator states are restored afterwards.
    A DataLoader fetches a step's batch through :meth:`__getitems__`, which saves and restores the
    states once per batch rather than once per item (saving numpy's and torch's cost about as much
    as a whole SM-MNIST item); each item is seeded the same either way.
    """

    def __init__(self, dataset: Dataset, seed: int, rank: int):
        self.dataset, self.seed, self.rank = dataset, seed, rank

    def __len__(self) -> int:
        return len(self.dataset)

    def _seeded_item(self, key) -> Any:
        s, j = key
        seed = step_seed(self.seed, self.rank, s, 1 + j)
        torch.random.default_generator.manual_seed(seed)   # the CPU's only: leave CUDA's alone
        np.random.seed(seed % 2 ** 32)
        random.seed(seed)
        return self.dataset[int(torch.randint(len(self.dataset), ()))]

    def __getitems__(self, keys: List[tuple]) -> List[Any]:
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                return [self._seeded_item(key) for key in keys]
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)

    def __getitem__(self, key) -> Any:
        return self.__getitems__([key])[0]


class _RaisedInWorker:
    """A :class:`UserError` raised in a DataLoader worker, travelling to the main process as a
    value: torch would re-raise it as ``UserError(<worker traceback text>)``, losing the message."""

    def __init__(self, error: UserError, trace: str):
        self.error, self.trace = error, trace


class _CarryUserErrors(Dataset):
    """``dataset`` whose items are returned, or, in a worker process, a :class:`_RaisedInWorker`
    in place of a :class:`UserError` (for a batch fetched at once, in place of the batch); in the
    main process the error propagates as usual."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key) -> Any:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: list) -> list:
        try:
            fetch = getattr(self.dataset, "__getitems__", None)
            return fetch(keys) if fetch else [self.dataset[key] for key in keys]
        except UserError as e:
            if get_worker_info() is None:
                raise
            return [_RaisedInWorker(e, traceback.format_exc())]


class _CollateUnlessRaised:
    """``collate`` of a batch, or the batch's first :class:`_RaisedInWorker` as it is."""

    def __init__(self, collate: Callable[[list], Any]):
        self.collate = collate

    def __call__(self, items: list) -> Any:
        raised = next((x for x in items if isinstance(x, _RaisedInWorker)), None)
        return raised if raised is not None else self.collate(items)


class UserErrorLoader(DataLoader):
    """A ``DataLoader`` that re-raises a :class:`UserError` of a worker process as the original
    exception (message and type; the worker's traceback is attached as a note), so the CLI shows
    it as one line like any other user error. Other exceptions travel as torch sends them."""

    def __init__(self, dataset: Dataset, *args, collate_fn: Optional[Callable] = None, **kwargs):
        super().__init__(_CarryUserErrors(dataset), *args,
                         collate_fn=_CollateUnlessRaised(collate_fn or default_collate), **kwargs)

    def __iter__(self) -> Iterator[Any]:
        for batch in super().__iter__():
            if isinstance(batch, _RaisedInWorker):
                if hasattr(batch.error, "add_note"):   # Python 3.11+; the message alone before
                    batch.error.add_note(f"Raised in a DataLoader worker process:\n{batch.trace}")
                raise batch.error
            yield batch


def loader_workers(num_workers: int, device_type: str) -> int:
    """``data.num_workers``, with -1 resolved for the device: 0 on a CPU, min(8, CPUs − 1) on an
    accelerator."""
    if num_workers >= 0:
        return num_workers
    return 0 if device_type == "cpu" else max(0, min(8, (os.cpu_count() or 1) - 1))


def training_loader(dataset: Dataset, seed: int, rank: int, start: int, stop: int, batch_size: int,
                    num_workers: int, pin_memory: bool) -> DataLoader:
    """Batches of steps ``start``..``stop − 1``, each (B, T, C, H, W), replayable from any step
    (``num_workers`` ≥ 0: see :func:`loader_workers`)."""
    return UserErrorLoader(StepSeeded(dataset, seed, rank), batch_sampler=StepBatches(start, stop, batch_size),
                           num_workers=num_workers, pin_memory=pin_memory,
                           generator=torch.Generator().manual_seed(seed))


def fixed_batches(dataset: Dataset, n: int, batch_size: int) -> List[torch.Tensor]:
    """The first ``n`` items of a (validation) dataset as stacked batches of ``batch_size``."""
    n = min(n, len(dataset))
    return [torch.stack([dataset[i] for i in range(k, min(k + batch_size, n))])
            for k in range(0, n, batch_size)]

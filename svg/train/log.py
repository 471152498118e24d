"""What a training run shows and records: progress bar, TensorBoard scalars, ``train.log``."""
from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import warnings
from datetime import datetime
from typing import Iterator, List, Sequence, Tuple

from core.errors import InputWarning
from svg.train.step import StepStats
from svg.timing import duration_words

log = logging.getLogger("svg.train")
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ ")   # logging's asctime


def log_lines(run_dir: str) -> Iterator[Tuple[datetime, str]]:
    """(time, line) of each record in ``run_dir/train.log`` (local time, to the second), across
    resumes; the lines of a traceback, which carry no time, are left out. Nothing without a log."""
    path = os.path.join(run_dir, "train.log")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = _STAMP.match(line)
            if m:
                yield datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"), line


@contextlib.contextmanager
def log_file(run_dir: str, enabled: bool = True, earlier: Sequence[logging.LogRecord] = ()) -> Iterator[None]:
    """Copy every log record (what the console shows, warnings included) to ``run_dir/train.log``,
    appending across resumes.

    earlier : records of the set-up before the run folder was known (e.g. config warnings),
        written first. Python ``warnings`` issued meanwhile are logged too (logger
        ``py.warnings``), and an exception ending the block is recorded with its message (a
        ``ValueError`` or ``OSError``, the types of bad input) or its traceback (anything else).
    """
    if not enabled:
        yield
        return
    handler = logging.FileHandler(os.path.join(run_dir, "train.log"), encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for record in earlier:
        handler.handle(record)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        with warnings_logged():
            yield
    except BaseException as e:
        handler.handle(_failure_record(e))   # the console shows it already, so to the file only
        raise
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _failure_record(e: BaseException) -> logging.LogRecord:
    if isinstance(e, KeyboardInterrupt):
        return log.makeRecord(log.name, logging.ERROR, __file__, 0, "training interrupted", (), None)
    detail = None if isinstance(e, (ValueError, OSError)) else (type(e), e, e.__traceback__)
    return log.makeRecord(log.name, logging.ERROR, __file__, 0, "training failed: %s: %s",
                          (type(e).__name__, e), detail)


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # a warning written for the user (InputWarning) is one plain line; others keep their origin
    if issubclass(category, InputWarning):
        logging.getLogger("py.warnings").warning("%s", message)
    else:
        logging.getLogger("py.warnings").warning("%s: %s (%s:%d)", category.__name__, message,
                                                 filename, lineno)


@contextlib.contextmanager
def warnings_logged() -> Iterator[None]:
    """Within the block, Python ``warnings`` go to the ``py.warnings`` logger (so to the console
    and ``train.log`` alike) instead of straight to stderr; filters apply as usual."""
    with warnings.catch_warnings():
        warnings.showwarning = _log_warning
        yield


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def kept_records() -> Iterator[List[logging.LogRecord]]:
    """The list of log records (and Python warnings) of the block, as they are also shown: for
    :func:`log_file`'s ``earlier``, when the run folder is known only after them."""
    kept = _Kept()
    logging.getLogger().addHandler(kept)
    try:
        with warnings_logged():
            yield kept.records
    finally:
        logging.getLogger().removeHandler(kept)


class TrainLog:
    """Progress bar and TensorBoard scalars of the main process (a no-op on other ranks).

    run_dir : the run folder (TensorBoard events go to ``run_dir/tensorboard``).
    start, total : first and last step of this session. log_every : steps between scalar writes.
    sequences_per_step : batch size × processes, for the sequences/s rate.
    """

    def __init__(self, run_dir: str, start: int, total: int, log_every: int, sequences_per_step: int,
                 enabled: bool, progress: bool):
        from tqdm import tqdm

        self.start, self.total, self.log_every, self.per_step = start, total, log_every, sequences_per_step
        self.writer = None   # the SummaryWriter, on the main process only
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(os.path.join(run_dir, "tensorboard"))
        # smoothing: the bar's rate averages over many steps, so that a validation pause or the
        # slow first step does not swing the ETA between hours and a day
        self.bar = tqdm(total=total, initial=start, disable=not (progress and enabled), desc="train",
                        dynamic_ncols=True, smoothing=0.02)
        self.t0, self.steps = time.perf_counter(), 0
        self.t1 = None   # the end of the first step: the pace is measured after it

    def step(self, done: int, stats: StepStats, lr: float) -> None:
        """Record step ``done`` (1-based): bar every step, scalars every ``log_every`` steps."""
        self.steps += 1
        if self.writer is None:
            return
        self.bar.update(1)
        if stats.skipped:
            return
        self.bar.set_postfix(loss=f"{stats.loss:.1f}", nll=f"{stats.nll_per_dim:.3f}",
                             kl=f"{stats.kl:.2f}", sigma=f"{stats.sigma:.3f}")
        first = done == self.start + 1
        # the estimate comes log_every steps into the session (2 at least: the pace is measured
        # after the first step), whether or not that step is logged: a resume after Ctrl-C
        # starts at any step
        estimate = done == self.start + max(self.log_every, 2)
        logged = first or done % self.log_every == 0
        if not (logged or estimate):
            return
        now = time.perf_counter()
        rate = self.steps / (now - self.t0)
        if first:
            log.info("first step took %.2f s", 1 / rate)
            self.t1 = now
        if estimate:
            pace = (self.steps - 1) / (now - self.t1) if self.t1 is not None and now > self.t1 else rate
            left = self.total - done
            log.info("measured %.3f steps/s (%.1f sequences/s) over %d steps after the first; at "
                     "this pace the %d steps left take about %s on this machine (validation and "
                     "checkpoints add to it)", pace, pace * self.per_step, self.steps - 1, left,
                     duration_words(left / pace))
        if not logged:
            return
        self.scalars("train", done, loss=stats.loss, nll_per_dim=stats.nll_per_dim, kl=stats.kl,
                     sigma=stats.sigma, effective_beta=stats.effective_beta, lr=lr,
                     grad_norm=stats.grad_norm, steps_per_s=rate, sequences_per_s=rate * self.per_step)

    def scalars(self, prefix: str, step: int, **values: float) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{prefix}/{k}", float(v), step)

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()

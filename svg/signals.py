"""SIGINT/SIGTERM as a flag the training loop polls, so that it can checkpoint and exit cleanly."""
from __future__ import annotations

import signal
from typing import Optional


class StopSignal:
    """Context manager: while active, SIGINT and SIGTERM set :attr:`signal` instead of killing."""

    def __init__(self):
        self.signal: Optional[int] = None
        self._old = {}

    def __enter__(self) -> "StopSignal":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.signal = signum

    @property
    def name(self) -> Optional[str]:
        """``SIGINT`` / ``SIGTERM`` once one arrived, else None."""
        return None if self.signal is None else signal.Signals(self.signal).name

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)

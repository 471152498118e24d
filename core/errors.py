"""What the user did wrong, and how every command shows it.

``models`` is the bottom of the import graph (it imports nothing of the project), so
``data_loaders``, ``eval_fvd`` and ``svg`` all raise these classes from here, and every entry point
(``svg COMMAND``, ``train_svg.py``, ``python -m eval_fvd``) runs through :func:`run_command`.

The rule is by type: a :class:`UserError` (raised where input is checked) is printed as
``PROG: error: MESSAGE`` plus a hint line, without a traceback, with exit status 2; so is a
``SystemExit`` carrying a message. Every other exception — a ``ValueError`` or ``OSError`` from a
library or from a bug included — keeps its traceback. ``--debug`` or ``SVG_DEBUG=1`` shows the
traceback of user errors too. An :class:`InputWarning` is printed as one plain line,
``PROG: warning: MESSAGE``.
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
import warnings
from typing import Callable, Iterator, Optional, Sequence

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
DEBUG_HINT = "(run with --debug or SVG_DEBUG=1 to see the traceback)"


class UserError(ValueError):
    """Bad user input (a config key or value, an argument, a data file), with a message that
    names the file, key or value and what was expected.

    Every command prints it as one line and exits with status 2, without a traceback. A
    ``ValueError``, so code that catches ``ValueError`` keeps working. Raise it only where input
    is checked; a failed operation inside the code is a bug and keeps its traceback.
    """


class MissingFile(UserError, FileNotFoundError):
    """A file or folder the user named (or the data needs) does not exist. Also a
    ``FileNotFoundError``, so code that catches that keeps working."""


class MissingEntry(UserError, KeyError):
    """A user's file (weights, statistics) lacks an entry it must hold. Also a ``KeyError``, so
    code that catches that keeps working; printed without the quotes ``KeyError`` adds."""

    __str__ = BaseException.__str__


class InputWarning(UserWarning):
    """A warning written for the user about what they gave (few videos, short or truncated data);
    entry points print it as one plain line."""


def debug_requested(argv: Sequence[str]) -> bool:
    """Whether ``--debug`` is among ``argv`` or ``SVG_DEBUG`` is set to a true value."""
    env = os.environ.get("SVG_DEBUG", "").strip().lower()
    return "--debug" in argv or env not in ("", "0", "false", "no")


def user_error_message(exc: BaseException) -> Optional[str]:
    """The one line to print for a user error (a :class:`UserError`, or a ``SystemExit`` with a
    message), else None: the exception is unexpected and keeps its traceback."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, str) else None
    return str(exc) if isinstance(exc, UserError) else None


@contextlib.contextmanager
def plain_warnings(prog: str) -> Iterator[None]:
    """Within the block, an :class:`InputWarning` prints as ``PROG: warning: MESSAGE`` on stderr;
    other warnings (libraries', deprecations) keep Python's format with file and line."""
    with warnings.catch_warnings():
        default = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, InputWarning):
                print(f"{prog}: warning: {message}", file=file or sys.stderr)
            else:
                default(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def run_command(prog: str, fn: Callable[[], Optional[int]], debug: bool = False) -> int:
    """Run one command's ``fn()`` and return the process exit status.

    ``fn``'s return value (None → 0) on success; 2 for a user error (see the module docstring), its
    message printed as ``PROG: error: MESSAGE``; 130 after Ctrl-C. Other exceptions propagate with
    their traceback. ``debug`` (see :func:`debug_requested`) prints user errors' tracebacks and
    lets Ctrl-C propagate.
    """
    with plain_warnings(prog):
        try:
            return int(fn() or 0)
        except KeyboardInterrupt:
            if debug:
                raise
            print(f"{prog}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except (Exception, SystemExit) as exc:
            message = user_error_message(exc)
            if message is None:
                raise                              # unexpected: the traceback is the useful part
            if debug and not isinstance(exc, SystemExit):
                traceback.print_exc()
            else:
                print(f"{prog}: error: {message}", file=sys.stderr)
                if not isinstance(exc, SystemExit):
                    print(DEBUG_HINT, file=sys.stderr)
            return EXIT_USER_ERROR

"""``python -m eval_fvd REAL FAKE``: see :mod:`eval_fvd.cli`. User errors print one line and exit
with status 2, as in ``svg fvd`` (:func:`core.errors.run_command`)."""
import argparse
import sys
from typing import Optional, Sequence

from core.errors import debug_requested, run_command

from .cli import add_arguments, run

PROG = "python -m eval_fvd"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` (default: the command line), run, and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description="Fréchet Video Distance")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of user errors (also: SVG_DEBUG=1)")
    return run_command(PROG, lambda: run(parser.parse_args(argv)), debug=debug_requested(argv))


if __name__ == "__main__":
    sys.exit(main())

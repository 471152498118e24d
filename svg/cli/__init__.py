"""The ``svg`` command: :mod:`svg.cli.entry` is the entry point, one module per subcommand."""
from .entry import main

__all__ = ["main"]

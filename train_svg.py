#!/usr/bin/env python
"""Train SVG-LP with a σ-VAE decoder. Thin wrapper: see ``svg train --help``."""
import sys

from svg.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

import argparse
import sys

from .cli import add_arguments, run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m eval_fvd", description="Fréchet Video Distance")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))

"""Command line: ``python -m pruning COMMAND``, one of the subcommands listed below.

Commands: info, inspect, sweep, sensitivity, prune, retrain, structured, train, score, export,
report.

Percent in, fractions out: ``--sparsity`` takes percent (like the grid ``0:95:5``),
while JSON reports sparsity and accuracy as fractions 0..1.

One module per command in ``COMMANDS``; each has ``NAME``, ``add_parser(subparsers)`` and
``run(args)`` (raising ``CliError`` for a user mistake). Shared pieces are in ``common``.
"""

from __future__ import annotations

from .._tf import import_tensorflow_quietly

import_tensorflow_quietly()  # before the command modules import TensorFlow

import argparse  # noqa: E402
import sys  # noqa: E402

from ..data import DataError  # noqa: E402
from ..models import ModelError  # noqa: E402
from . import (export, info, inspect, prune, report, retrain, score, sensitivity,  # noqa: E402
               structured, sweep, train)
from .common import CliError  # noqa: E402

# the registry: subcommands in the order ``--help`` lists them
COMMANDS = [info, inspect, sweep, sensitivity, prune, retrain, structured, train, score, export, report]

__all__ = ["COMMANDS", "CliError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m pruning`` parser with one subcommand per module in ``COMMANDS``."""
    ap = argparse.ArgumentParser(prog="python -m pruning", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 bad file/value, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    run = {command.NAME: command.run for command in COMMANDS}[args.command]
    try:
        run(args)
    except (CliError, DataError, ModelError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0

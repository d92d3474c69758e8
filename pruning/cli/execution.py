"""Arguments shared by commands that run independent jobs: ``--executor``, ``--workers``,
``--ray-address``, ``--threads`` (sweep, sensitivity) and ``--seeds`` (sweep, retrain)."""

from __future__ import annotations

import argparse

from ..executors import EXECUTORS, ExecutorConfig
from .common import CliError


def seeds_arg(text: str) -> list[int]:
    """``0,1,2`` -> [0, 1, 2] (distinct integers)."""
    try:
        seeds = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 0,1,2, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct seeds like 0,1,2, got {text!r}")
    return seeds


def add_executor_args(p: argparse.ArgumentParser, what: str) -> None:
    g = p.add_argument_group(f"executor ({what})")
    g.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="local: in this process (default, or $PRUNING_EXECUTOR); process: a pool of "
                   "--workers processes; ray: Ray tasks on a local or an existing cluster")
    g.add_argument("--workers", type=int, default=None,
                   help="worker processes (process) or CPUs of a local Ray (default 1, or $PRUNING_WORKERS)")
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join this Ray cluster (e.g. auto, or ray://head:10001; default "
                   "$PRUNING_RAY_ADDRESS, else a local Ray)")
    g.add_argument("--threads", type=int, default=None,
                   help="intra-op threads per worker (default: cores / workers)")


def executor_config(args: argparse.Namespace) -> ExecutorConfig:
    """The executor these arguments (then ``PRUNING_*`` variables) ask for."""
    try:
        return ExecutorConfig.from_env(kind=args.executor, workers=args.workers,
                                       ray_address=args.ray_address, threads=args.threads)
    except ValueError as e:
        raise CliError(str(e)) from None

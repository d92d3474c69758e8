"""``--method nm --pattern N:M`` and ``--method block`` for ``prune`` and ``sweep``.

On the command line N:M is one method, ``nm``, whose ``--pattern`` picks the group size;
inside, groups of 4 and of 8 are the one-shot methods 'nm' and 'nm8' (``pruning.patterns``).
"""

from __future__ import annotations

import argparse

from ..patterns import NM_GROUPS, nm_of, parse_pattern, pattern_method
from .common import CliError

CLI_METHODS = ("nm", "block")  # accepted by --method beside global / layerwise


def add_pattern_arg(p: argparse.ArgumentParser, sweep: bool = False) -> None:
    """--pattern N:M (with --method nm)."""
    p.add_argument("--pattern", help="with --method nm: at most N non-zeros in every M consecutive "
                   "input-channel weights, M = 4 or 8 (default 2:4)" + (
                       "; a sweep covers every N of that M unless --sparsity is given, levels "
                       "rounding to the nearest N:M" if sweep else ""))


def prune_request(args: argparse.Namespace) -> tuple[str, float, str | None]:
    """(one-shot method, sparsity, pattern text or None) for ``prune``'s arguments."""
    if args.method != "nm":
        if args.pattern is not None:
            raise CliError("--pattern applies only with --method nm")
        if args.sparsity is None:
            raise CliError(f"--method {args.method} needs --sparsity (percent)")
        return args.method, args.sparsity, None
    n, m = parse_pattern(args.pattern or "2:4")
    if args.sparsity is not None:
        raise CliError(f"--method nm: the pattern sets the sparsity ({n}:{m} keeps {n} of every {m}); "
                       "drop --sparsity")
    method, sparsity = pattern_method(n, m)
    return method, sparsity, f"{n}:{m}"


def sweep_request(args: argparse.Namespace) -> tuple[str, str]:
    """(one-shot method, grid text) for ``sweep``'s arguments."""
    if args.method != "nm":
        if getattr(args, "pattern", None) is not None:
            raise CliError("--pattern applies only with --method nm")
        return args.method, args.sparsity or "0:95:5"
    m = parse_pattern(args.pattern or "2:4")[1]
    method = next(k for k, v in NM_GROUPS.items() if v == m)
    grid = args.sparsity or ",".join(f"{100 * k / m:g}" for k in range(m + 1))
    return method, grid


def pattern_text(method: str, sparsity: float) -> str:
    """'2:4' for ('nm', 0.5)."""
    n, m = nm_of(method, sparsity)
    return f"{n}:{m}"

"""``prune``: prune once and write the weights (verified by reloading them)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..masks import METHODS, SCOPES, total_sparsity
from .common import (CliError, add_model_args, add_output_args, emit, inputs_report, open_workbench,
                     output_format, percent_arg)
from .nm import CLI_METHODS, add_pattern_arg, prune_request

NAME = "prune"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="prune once and write the weights")
    p.add_argument("--method", required=True, choices=METHODS + CLI_METHODS,
                   help="global, layerwise, nm (N:M pattern, see --pattern) or block (1x4 blocks)")
    p.add_argument("--sparsity", type=percent_arg, help="target sparsity in percent (not with nm: "
                   "its pattern sets it)")
    add_pattern_arg(p)
    p.add_argument("--scope", default="all", choices=SCOPES)
    add_output_args(p, required=True, help="output file (.h5, .weights.h5 or .keras)")
    add_model_args(p)


def run(args: argparse.Namespace) -> None:
    from ..export import reload_check, write_weights

    out = Path(args.out)
    fmt = output_format(out, args.format)
    method, sparsity, pattern = prune_request(args)
    wb = open_workbench(args)
    point = wb.point(method, sparsity, args.scope)
    write_weights(wb.load(point.pruned.arrays), out, fmt)
    check = reload_check(out, wb.model).get_weights()
    reloaded = total_sparsity(check, wb.baseline.kinds, args.scope)
    if abs(reloaded - point.pruned.sparsity) > 1e-12:
        out.unlink(missing_ok=True)
        raise CliError(f"{out}: reloaded sparsity {reloaded} differs from {point.pruned.sparsity}; file removed")
    res = {**point.as_dict(), **inputs_report(wb), "file": str(out), "format": fmt, "bytes": out.stat().st_size}
    if pattern is not None:
        res.update(method="nm", pattern=pattern)
    text = (f"wrote {out} ({fmt}, {res['bytes']:,} bytes): {args.method}"
            f"{f' {pattern}' if pattern else ''} at "
            f"{100 * point.pruned.sparsity:.2f}% sparsity ({args.scope}), val accuracy "
            f"{100 * point.val.accuracy:.2f}%"
            + (f", test accuracy {100 * point.test.accuracy:.2f}%" if point.test else "")
            + (f", score {point.score:.4f}" if not math.isnan(point.score) else ", below the floor"))
    emit(res, args.json, text)

"""``sweep``: accuracy over a sparsity grid, its frontier and the best score."""

from __future__ import annotations

import argparse
import sys

from ..evaluate import PRECISIONS
from ..frontier import DEFAULT_FLOOR
from ..masks import METHODS, SCOPES, total_sparsity
from ..retrain import RETRAIN_METHODS
from .common import (CliError, ProgressBar, add_model_args, add_retrain_args, add_store_args, emit,
                     inputs_report, open_workbench)
from .execution import add_executor_args, seeds_arg
from .grid import seed_summary, summary_text, sweep_levels
from .nm import CLI_METHODS, add_pattern_arg, pattern_text, sweep_request

NAME = "sweep"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="accuracy over a sparsity grid, frontier and best score")
    p.add_argument("--method", required=True, choices=METHODS + CLI_METHODS + RETRAIN_METHODS,
                   help="one-shot (global, layerwise, nm, block) or one retraining run per level")
    p.add_argument("--sparsity", help="percent grid START:STOP:STEP or list (default 0:95:5; nm: "
                   "every N:M of its M)")
    add_pattern_arg(p, sweep=True)
    p.add_argument("--scope", default="all", choices=SCOPES)
    p.add_argument("--floor", type=float, default=DEFAULT_FLOOR,
                   help="accuracy floor for the score (fraction)")
    p.add_argument("--with-test", action="store_true", help="also report test accuracy per level")
    p.add_argument("--adaptive", action="store_true",
                   help="coarse grid over 0..99%% then bisect where accuracy moves (ignores --sparsity)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="with --adaptive: accuracy gap (fraction) that triggers a midpoint (default 0.01)")
    p.add_argument("--fill", action="store_true",
                   help="with --adaptive: report every integer level, filling those between full "
                   "evaluations from the images that may change there (rows marked exact=false)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="with --adaptive: bfloat16 computes each pass in bfloat16, about 2x faster "
                   "on CPUs with native bfloat16 but not identical to float32 (default float32)")
    add_store_args(p, "one-shot levels are saved as they finish and reused by later runs",
                   "compute every level; use no result store")
    add_model_args(p)
    add_retrain_args(p, epochs=3)
    p.add_argument("--seeds", type=seeds_arg, help="retraining: one run per level and seed, e.g. 0,1,2; "
                   "points get a seed field and a summary per level gives n, mean, sd, min, max")
    add_executor_args(p, "retraining methods: one job per level and seed")


def run(args: argparse.Namespace) -> None:
    from ..frontier import best_row, pareto_frontier
    from ..units import parse_grid

    method, spec = sweep_request(args)
    grid = parse_grid(spec)
    if not args.adaptive and (args.fill or args.precision != "float32"):
        raise CliError("--fill and --precision only apply to an adaptive sweep; add --adaptive")
    if args.seeds and args.method not in RETRAIN_METHODS:
        raise CliError(f"--seeds applies to retraining methods; a one-shot {args.method} sweep is "
                       "deterministic (its points carry the val set's Wilson interval instead)")
    if args.seeds and args.adaptive:
        raise CliError("--seeds and --adaptive do not combine; drop one")
    if args.adaptive and args.method in CLI_METHODS:
        raise CliError(f"--adaptive is for global and layerwise; sweep {args.method} on a grid "
                       "(nm: its M + 1 patterns by default)")
    user_method, args.method = args.method, method
    wb = open_workbench(args)
    dense = wb.dense()
    bar = ProgressBar(f"sweep {args.method}", enabled=len(grid) * len(args.seeds or [0]) > 1)
    if args.adaptive:
        from ..adaptive import adaptive_sweep

        df = adaptive_sweep(wb, args.method, args.scope, args.tolerance, floor=args.floor,
                            progress=ProgressBar(f"adaptive {args.method}"), fill=args.fill,
                            precision=args.precision)
        if args.with_test and wb.test is not None:
            df["test_accuracy"] = [wb.test.evaluate(wb.prune(args.method, t, args.scope).arrays).accuracy
                                   for t in df["target"]]
    else:
        df = (sweep_levels(args, wb, grid, bar) if args.method in RETRAIN_METHODS else
              _one_shot_sweep(args, wb, grid, bar))
    if user_method == "nm":
        df["pattern"] = [pattern_text(method, t) for t in df["target"]]
    one_shot = args.method not in RETRAIN_METHODS
    if one_shot:  # retraining also changes arrays outside the scope: no exact figure from a row
        df["sparsity_model"] = wb.model_zero_fraction(df["sparsity"].to_numpy(), args.scope)
    points, summary = df, None
    if args.seeds:
        summary, df = seed_summary(points, args.floor)
    frontier = pareto_frontier(df)
    best = best_row(df, args.floor)
    pts_cols = ["target", "sparsity"] + (["sparsity_model"] if one_shot else []) + [
        "accuracy", "loss", "score"] + (
        ["test_accuracy"] if args.with_test else []) + (["exact"] if "exact" in df else []) + (
        ["pattern"] if "pattern" in df else [])
    baseline = {"accuracy": dense["val"].accuracy, "loss": dense["val"].loss,
                "test_accuracy": dense["test"].accuracy if dense["test"] else None,
                "sparsity": total_sparsity(wb.baseline.arrays, wb.baseline.kinds, args.scope)}
    out = {"method": user_method, "scope": args.scope, "floor": args.floor,
           **inputs_report(wb), "baseline": baseline,
           "points": points[pts_cols + (["seed"] if summary is not None else [])].to_dict("records"),
           "frontier": frontier[pts_cols].to_dict("records"),
           "best": None if best is None else best[pts_cols].to_dict()}
    if args.adaptive:
        out["precision"] = args.precision
    text = df[pts_cols].to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="below floor")
    if summary is not None:
        out["seeds"], out["summary"] = list(args.seeds), summary
        text = summary_text(summary, args.seeds)
    text += ("\nbest: none above the accuracy floor" if best is None else
             f"\nbest: sparsity {100 * best['sparsity']:.1f}%, accuracy "
             f"{100 * best['accuracy']:.2f}%, score {best['score']:.4f}")
    emit(out, args.json, text)


def _one_shot_sweep(args, wb, grid, bar):
    """A one-shot sweep through the result store (unless --no-store): only missing levels run."""
    import sqlite3

    from ..store import ResultStore, resumable_sweep

    if args.no_store:
        return wb.sweep(args.method, grid, args.scope, args.floor, bar, with_test=args.with_test)
    try:
        with ResultStore(args.store) as store:
            df = resumable_sweep(wb, store, args.method, grid, args.scope, args.floor, bar,
                                 args.with_test)
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unavailable ({e}); computing without it", file=sys.stderr)
        return wb.sweep(args.method, grid, args.scope, args.floor, bar, with_test=args.with_test)
    n, served = len(df), df.attrs["from_store"]
    print(f"store: all {n} levels served from {store.db_path}, nothing recomputed" if served == n else
          f"store: {served} of {n} levels served from {store.db_path}; {n - served} computed and saved"
          if served else f"store: {n} levels computed and saved to {store.db_path}", file=sys.stderr)
    return df

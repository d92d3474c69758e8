"""``retrain``: prune with retraining (freeze, masked, gradual, imp), through the result store.

Also the retraining levels of ``sweep --method freeze|masked|gradual|imp`` (``sweep_levels``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..frontier import DEFAULT_FLOOR
from ..masks import SCOPES
from ..retrain import RETRAIN_METHODS
from .common import (CliError, ProgressBar, add_model_args, add_output_args, add_retrain_args,
                     add_store_args, emit, inputs_report, json_safe, output_format, percent_arg)

NAME = "retrain"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="prune with retraining (freeze, masked, gradual, imp)")
    p.add_argument("--method", required=True, choices=RETRAIN_METHODS)
    p.add_argument("--sparsity", type=percent_arg, help="target sparsity in percent (masked: "
                   "optional, default the --from file's own zeros)")
    p.add_argument("--scope", default="all", choices=SCOPES)
    p.add_argument("--from", dest="start", help="start from these (pruned) weights instead of --model's")
    add_output_args(p, required=False, help="write the retrained weights (.h5, .weights.h5 or .keras)")
    p.add_argument("--floor", type=float, default=DEFAULT_FLOOR,
                   help="accuracy floor for the score (fraction)")
    add_store_args(p, "the finished run is saved there and an identical later request is served "
                   "from it", "always train; use no result store")
    add_model_args(p)
    add_retrain_args(p, epochs=10)


def run(args: argparse.Namespace) -> None:
    from ..data import load_data
    from ..export import write_verified
    from ..oneshot import model_zero_fraction
    from ..modelinfo import model_classes
    from ..models import load_model, load_weights_into
    from ..retrain import limit
    from ..workbench import Workbench

    out = Path(args.out) if args.out else None
    fmt = None if out is None else output_format(out, args.format)
    model = load_model(args.model, args.preset)
    if args.start:
        if not Path(args.start).exists():
            raise CliError(f"{args.start}: no such file")
        load_weights_into(model, args.start)
    data = load_data(args.data, model_classes(model))
    data = limit(data, args.train_limit, args.val_limit, args.test_limit)
    # checks that model and data fit each other; wb.data holds the inputs as the model takes them
    wb = Workbench(model, data, input_scale=args.input_scale, prune_embeddings=args.prune_embeddings)
    arrays, info = _retrain_level(args, wb, wb.data, args.checkpoint_dir)
    info.update({**inputs_report(wb), "sparsity_model": model_zero_fraction(arrays)})
    if out is not None:
        # reloaded into a fresh model and compared bit for bit before the file appears
        write_verified(wb.load(arrays), out, fmt, arrays)
        info.update({"file": str(out), "format": fmt, "bytes": out.stat().st_size})
    text = (f"{args.method}: {100 * info['sparsity']:.2f}% sparsity ({args.scope}), val accuracy "
            f"{100 * info['accuracy']:.2f}%"
            + (f", test accuracy {100 * info['test_accuracy']:.2f}%"
               if info.get("test_accuracy") is not None else "")
            + (", from the result store" if info["from_store"] else
               f", {info['epochs_run']} epochs in {info['seconds']:.1f}s")
            + (f"; wrote {out} ({fmt}, {info['bytes']:,} bytes)" if out is not None else ""))
    emit(info, args.json, text)


def training(args: argparse.Namespace):
    from ..retrain import Training

    return Training(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                    patience=args.patience, seed=args.seed, lr_schedule=args.lr_schedule,
                    adjust_dropout=args.adjust_dropout, distill=args.distill)


def retrain_options(args: argparse.Namespace, load_teacher: bool = True) -> dict:
    """Method options; with --distill and --from, the teacher is the dense --model (loaded, or
    named only when ``load_teacher`` is False, as in result-store keys)."""
    opts = {"rounds": args.rounds, "rewind_epoch": args.rewind_epoch} if args.method == "imp" else {}
    if args.distill and getattr(args, "start", None):
        from ..models import load_model

        opts["teacher"] = (load_model(args.model, args.preset) if load_teacher
                           else str(args.model or "bundled"))
    return opts


def sweep_levels(args: argparse.Namespace, wb, grid: list[float], bar):
    """One retraining run per level. Through the result store (unless --no-store) each level is
    keyed like ``retrain --sparsity`` with the same settings: levels trained before, by a sweep
    or by ``retrain``, are served, and each new level is saved as soon as it finishes."""
    from ..retrain import limit, retrain_sweep
    from ..rows import sweep_frame, sweep_row
    from ..workbench import Workbench

    data = limit(wb.data, args.train_limit, args.val_limit, args.test_limit)
    if args.no_store:
        return retrain_sweep(wb.model, data, args.method, grid, training(args), args.scope, args.floor,
                             bar, args.with_test, args.checkpoint_dir, **retrain_options(args))
    wb = Workbench(wb.model, data, baseline=wb.baseline)  # keys hash the splits it trains and tests on
    rows, served = [], 0
    for i, s in enumerate(grid):
        level = argparse.Namespace(**{**vars(args), "sparsity": s, "start": None})
        sub = None if args.checkpoint_dir is None else str(Path(args.checkpoint_dir) / f"level-{s:.6f}")
        _, info = _retrain_level(level, wb, data, sub, quiet=True)
        served += info["from_store"]
        extra = ({"test_accuracy": info["test_accuracy"]}
                 if args.with_test and info.get("test_accuracy") is not None else {})
        row = sweep_row(args.method, args.scope, float(s), info["sparsity"], info["accuracy"],
                        info["loss"], args.floor, **extra)
        rows.append(row)
        bar(i + 1, len(grid), row)
    print(f"store: {served} of {len(grid)} levels served, {len(grid) - served} trained", file=sys.stderr)
    return sweep_frame(rows, ["test_accuracy"] if args.with_test else [])


def _retrain_level(args, wb, data, checkpoint_dir, quiet: bool = False) -> tuple[list, dict]:
    """Retrain at ``args.sparsity`` (or serve that run from the store); returns (arrays, info).
    ``quiet``: no per-epoch bar or store lines (a sweep reports per level instead)."""
    from ..retrain import retrain

    store, key = _retrain_store(args, wb)
    try:  # the store's connection is closed however training ends
        served = None if store is None else _stored_retrain(args, store, key, wb, quiet)
        if served is not None:
            return served
        bar = ProgressBar(f"retrain {args.method}", enabled=not quiet)
        res = retrain(wb.model, data, args.method, args.sparsity, training(args), args.scope, bar,
                      checkpoint_dir, **retrain_options(args))
        if res.resumed:
            print(f"resumed from {checkpoint_dir} after {len(res.history)} epochs in all", file=sys.stderr)
        arrays = list(res.arrays)
        info = {**res.as_dict(args.floor), "history": list(res.history), "from_store": False}
        if store is not None:
            import sqlite3

            try:
                store.save_result(key, arrays, {k: v for k, v in json_safe(info).items() if k != "from_store"})
                if not quiet:
                    print(f"store: saved to {store.db_path} (run {key.id[:12]})", file=sys.stderr)
            except (OSError, sqlite3.Error) as e:
                print(f"warning: result not saved to the store ({e})", file=sys.stderr)
        return arrays, info
    finally:
        if store is not None:
            store.close()


def _retrain_store(args, wb):
    """(store, key) for this retrain request, or (None, None) with --no-store or no store."""
    import dataclasses
    import sqlite3

    from ..store import ResultStore, retrain_key

    if args.no_store:
        return None, None
    try:
        store = ResultStore(args.store)
        key = retrain_key(wb, args.method, args.sparsity, args.scope,
                          dataclasses.asdict(training(args)), retrain_options(args, False))
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unavailable ({e}); training without it", file=sys.stderr)
        return None, None
    return store, key


def _stored_retrain(args, store, key, wb, quiet: bool = False):
    """The stored result's (arrays, info) for this request, or None."""
    import sqlite3

    from ..frontier import challenge_score

    try:
        found = store.load_result(key)
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unreadable ({e}); training", file=sys.stderr)
        return None
    if found is None:
        return None
    arrays, meta = found
    if len(arrays) != len(wb.baseline.arrays):
        return None
    info = dict(meta)
    info["score"] = float(challenge_score(info["sparsity"], info["accuracy"], args.floor))
    info["from_store"] = True
    if not quiet:
        print(f"store: served from {store.db_path} (run {key.id[:12]}), no training", file=sys.stderr)
    return arrays, info

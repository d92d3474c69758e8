"""``retrain``: prune with retraining (freeze, masked, gradual, imp), through the result store.

With ``--seeds`` one run per seed and n, mean, sd, min, max of val and test accuracy.
The retraining levels of ``sweep`` are in ``pruning.cli.grid``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..frontier import DEFAULT_FLOOR
from ..masks import SCOPES
from ..retrain import RETRAIN_METHODS
from .common import (CliError, ProgressBar, add_model_args, add_output_args, add_retrain_args,
                     add_store_args, emit, json_safe, output_format, percent_arg)
from .execution import seeds_arg

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
    p.add_argument("--seeds", type=seeds_arg, help="one run per seed, e.g. 0,1,2 (overrides --seed); "
                   "JSON gives each run and n, mean, sd, min, max of val and test accuracy")


def run(args: argparse.Namespace) -> None:
    from ..data import load_data
    from ..export import write_verified
    from ..models import load_model, load_weights_into
    from ..retrain import limit
    from ..workbench import Workbench

    out = Path(args.out) if args.out else None
    if args.seeds and len(args.seeds) > 1 and out is not None:
        raise CliError(f"--out writes one run; with --seeds {','.join(map(str, args.seeds))} pick one "
                       "seed (--seed N) to write, or leave --out off")
    if args.seeds and len(args.seeds) == 1:
        args.seed, args.seeds = args.seeds[0], None
    fmt = None if out is None else output_format(out, args.format)
    model = load_model(args.model, args.preset)
    if args.start:
        if not Path(args.start).exists():
            raise CliError(f"{args.start}: no such file")
        load_weights_into(model, args.start)
    data = load_data(args.data, int(model.output_shape[-1]))
    data = limit(data, args.train_limit, args.val_limit, args.test_limit)
    wb = Workbench(model, data)  # checks that model and data fit each other
    if args.seeds:
        _retrain_seeds(args, wb, data)
        return
    arrays, info = _retrain_level(args, wb, data, args.checkpoint_dir)
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


def _retrain_seeds(args: argparse.Namespace, wb, data) -> None:
    """``retrain --seeds``: one run per seed (each served from or saved to the store), then
    n, mean, sd, min, max and the 95 % t-interval of val and test accuracy over the seeds."""
    from ..intervals import summarize

    runs = []
    for seed in args.seeds:
        one = argparse.Namespace(**{**vars(args), "seed": seed})
        sub = None if args.checkpoint_dir is None else str(Path(args.checkpoint_dir) / f"seed-{seed}")
        _, info = _retrain_level(one, wb, data, sub, quiet=True)
        runs.append({**info, "seed": seed})
        print(f"seed {seed}: val accuracy {100 * info['accuracy']:.2f}%"
              + (" (from the result store)" if info["from_store"] else ""), file=sys.stderr)
    summary = {c: summarize([r.get(c) for r in runs]).as_dict() for c in ("accuracy", "test_accuracy")}
    a, t = summary["accuracy"], summary["test_accuracy"]
    text = (f"{args.method} over seeds {','.join(map(str, args.seeds))}: val accuracy "
            f"{100 * a['mean']:.2f}% +- {100 * a['sd']:.2f} (sd, n={a['n']}, "
            f"{100 * a['min']:.2f}..{100 * a['max']:.2f})"
            + (f", 95% t-interval [{100 * a['ci_low']:.2f}, {100 * a['ci_high']:.2f}]" if a["n"] >= 3 else "")
            + (f"; test {100 * t['mean']:.2f}% +- {100 * t['sd']:.2f}" if t["n"] else ""))
    emit({"method": args.method, "scope": args.scope, "seeds": list(args.seeds),
          "runs": [{k: v for k, v in r.items() if k != "history"} for r in runs],
          "summary": summary}, args.json, text)


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


def retrain_key(args: argparse.Namespace, wb):
    """The store key of this request (settings with the seed, options; the teacher by name)."""
    import dataclasses

    from ..store import retrain_key as key_of

    return key_of(wb, args.method, args.sparsity, args.scope, dataclasses.asdict(training(args)),
                  retrain_options(args, False))


def _retrain_store(args, wb):
    """(store, key) for this retrain request, or (None, None) with --no-store or no store."""
    import sqlite3

    from ..store import ResultStore

    if args.no_store:
        return None, None
    try:
        store = ResultStore(args.store)
        key = retrain_key(args, wb)
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

"""``retrain``: prune with retraining (freeze, masked, gradual, imp), through the result store.

With ``--seeds`` one run per seed and n, mean, sd, min, max of val and test accuracy. The
retraining levels of ``sweep`` are in ``pruning.cli.grid``. Both go through ``pruning.runs``
(one key scheme with the dashboard); this module only turns arguments into a ``RunRequest``
and reports.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import runs
from ..frontier import DEFAULT_FLOOR
from ..masks import SCOPES
from ..retrain import RETRAIN_METHODS
from .common import (CliError, ProgressBar, add_model_args, add_output_args, add_retrain_args,
                     add_store_args, emit, inputs_report, output_format, percent_arg)
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
    from ..oneshot import model_zero_fraction
    from ..modelinfo import model_classes
    from ..models import load_model, load_weights_into
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
    data = load_data(args.data, model_classes(model))
    req = request(args, args.sparsity)
    # checks that model and data fit each other; wb.data holds the inputs as the model takes them
    wb = Workbench(model, req.limited(data), input_scale=args.input_scale,
                   prune_embeddings=args.prune_embeddings)
    if args.seeds:
        _retrain_seeds(args, req, model, wb.data)
        return
    with open_store(args) as store:
        done = runs.run(req, model, wb.data, teacher=teacher(args), store=store,
                        progress=ProgressBar(f"retrain {args.method}"), checkpoint_dir=args.checkpoint_dir)
        _report(done, store, args.checkpoint_dir)
    arrays, info = list(done.arrays), done.info(args.floor)
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


def request(args: argparse.Namespace, sparsity: float | None) -> "runs.RunRequest":
    """The ``RunRequest`` the arguments describe, at ``sparsity``."""
    opts = {"rounds": args.rounds, "rewind_epoch": args.rewind_epoch} if args.method == "imp" else {}
    return runs.RunRequest(args.method, sparsity, args.scope, training(args), opts,
                           args.train_limit, args.val_limit, args.test_limit, seed=args.seed)


def teacher(args: argparse.Namespace):
    """With --distill and --from, the dense --model teaches (else the start model does: None)."""
    if not (args.distill and getattr(args, "start", None)):
        return None
    from ..models import load_model

    return load_model(args.model, args.preset)


def _retrain_seeds(args: argparse.Namespace, req: "runs.RunRequest", model, data) -> None:
    """``retrain --seeds``: one run per seed (each served from or saved to the store), then
    n, mean, sd, min, max and the 95 % t-interval of val and test accuracy over the seeds."""
    from dataclasses import replace

    from ..intervals import summarize

    done = []
    with open_store(args) as store:
        for seed in args.seeds:
            sub = None if args.checkpoint_dir is None else Path(args.checkpoint_dir) / f"seed-{seed}"
            one = runs.run(replace(req, seed=seed), model, data, teacher=teacher(args), store=store,
                           checkpoint_dir=sub)
            for w in one.warnings:
                print(f"warning: {w}", file=sys.stderr)
            info = one.info(args.floor)
            done.append({**info, "seed": seed})
            print(f"seed {seed}: val accuracy {100 * info['accuracy']:.2f}%"
                  + (" (from the result store)" if info["from_store"] else ""), file=sys.stderr)
    summary = {c: summarize([r.get(c) for r in done]).as_dict() for c in ("accuracy", "test_accuracy")}
    a, t = summary["accuracy"], summary["test_accuracy"]
    text = (f"{args.method} over seeds {','.join(map(str, args.seeds))}: val accuracy "
            f"{100 * a['mean']:.2f}% +- {100 * a['sd']:.2f} (sd, n={a['n']}, "
            f"{100 * a['min']:.2f}..{100 * a['max']:.2f})"
            + (f", 95% t-interval [{100 * a['ci_low']:.2f}, {100 * a['ci_high']:.2f}]" if a["n"] >= 3 else "")
            + (f"; test {100 * t['mean']:.2f}% +- {100 * t['sd']:.2f}" if t["n"] else ""))
    emit({"method": args.method, "scope": args.scope, "seeds": list(args.seeds),
          "runs": [{k: v for k, v in r.items() if k != "history"} for r in done],
          "summary": summary}, args.json, text)


@contextmanager
def open_store(args: argparse.Namespace) -> Iterator:
    """The result store (closed afterwards), or None with --no-store or when it cannot open."""
    import sqlite3

    from ..store import ResultStore

    if args.no_store:
        yield None
        return
    try:
        store = ResultStore(args.store)
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unavailable ({e}); training without it", file=sys.stderr)
        yield None
        return
    try:
        yield store
    finally:
        store.close()


def _report(done: "runs.RunResult", store, checkpoint_dir) -> None:
    for w in done.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if done.trained is not None and done.trained.resumed:
        print(f"resumed from {checkpoint_dir} after {len(done.trained.history)} epochs in all",
              file=sys.stderr)
    if store is None:
        return
    if done.from_store:
        print(f"store: served from {store.db_path} (run {done.key.id[:12]}), no training", file=sys.stderr)
    elif not any("not saved" in w for w in done.warnings):
        print(f"store: saved to {store.db_path} (run {done.key.id[:12]})", file=sys.stderr)

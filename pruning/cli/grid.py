"""The retraining levels of ``sweep --method freeze|masked|gradual|imp``: one job per level
(and per seed with ``--seeds``) on the chosen executor, through the result store, plus the
per-level summary over seeds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .execution import executor_config
from .retrain import retrain_key, retrain_options, training


def sweep_levels(args: argparse.Namespace, wb, grid: list[float], bar):
    """One retraining run per level and seed. Through the result store (unless --no-store)
    each run is keyed like ``retrain --sparsity`` with the same settings (seed included):
    runs trained before, by a sweep or by ``retrain``, are served, and each new one is saved
    by this process, the driver, as soon as it lands from its worker."""
    from ..batch import retrain_grid
    from ..jobs import ModelSpec, RetrainJob, RetrainShared
    from ..retrain import limit
    from ..rows import sweep_frame, sweep_row
    from ..workbench import Workbench

    config = executor_config(args)
    data = limit(wb.data, args.train_limit, args.val_limit, args.test_limit)
    wb = Workbench(wb.model, data, baseline=wb.baseline)  # keys hash the splits it trains and tests on
    seeds = args.seeds or [args.seed]
    opts = retrain_options(args)
    jobs, keys = [], []
    for s in grid:
        for seed in seeds:
            level = argparse.Namespace(**{**vars(args), "sparsity": s, "start": None, "seed": seed})
            sub = None if args.checkpoint_dir is None else str(
                Path(args.checkpoint_dir) / f"level-{s:.6f}" / (f"seed-{seed}" if args.seeds else ""))
            jobs.append(RetrainJob(args.method, s, training(level), args.scope, opts, sub, args.floor))
            keys.append(None if args.no_store else retrain_key(level, wb))
    store = _open_store(args)
    if config.kind != "local":
        print(f"executor: {config.describe()}", file=sys.stderr)
    landed = [0]

    def on_land(i: int, info: dict, served: bool) -> None:
        landed[0] += 1
        bar(landed[0], len(jobs), info)

    shared = RetrainShared(ModelSpec.of(wb.model, wb.baseline.arrays), data)
    try:
        res = retrain_grid(shared, jobs, keys if store else None, store, config, on_land,
                           lambda m: print(f"warning: {m}", file=sys.stderr))
    finally:
        if store is not None:
            store.close()
    what = "runs" if args.seeds else "levels"
    print(f"store: {res.served} of {len(jobs)} {what} served, {len(jobs) - res.served} trained",
          file=sys.stderr)
    rows = []
    for job, info in zip(jobs, res.infos):
        extra = ({"test_accuracy": info["test_accuracy"]}
                 if args.with_test and info.get("test_accuracy") is not None else {})
        if args.seeds:
            extra["seed"] = int(job.training.seed)
        rows.append(sweep_row(args.method, args.scope, float(job.sparsity), info["sparsity"],
                              info["accuracy"], info["loss"], args.floor, **extra))
    return sweep_frame(rows, (["test_accuracy"] if args.with_test else []) + (["seed"] if args.seeds else []))


def _open_store(args):
    if args.no_store:
        return None
    import sqlite3

    from ..store import ResultStore

    try:
        return ResultStore(args.store)
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unavailable ({e}); training without it", file=sys.stderr)
        return None


def seed_summary(points, floor: float):
    """Per level over seeds: the ``summary`` list of ``sweep --json`` (n, mean, sd, min, max,
    ci_low, ci_high of val and test accuracy) and the mean rows that the frontier and the
    best score are computed on."""
    import pandas as pd

    from ..frontier import challenge_score
    from ..intervals import level_summary

    cols = [c for c in ("accuracy", "test_accuracy", "loss") if c in points]
    wide = level_summary(points, cols, by=("target",))
    summary = []
    for r in wide.to_dict("records"):
        item = {"target": r["target"], "sparsity": r["sparsity"], "n": int(r["accuracy_n"])}
        for c in ("accuracy", "test_accuracy"):
            if f"{c}_n" in r:
                item[c] = {k: r[f"{c}_{k}"] for k in ("n", "mean", "sd", "min", "max", "ci_low", "ci_high")}
                item[c]["n"] = int(item[c]["n"])
        summary.append(item)
    means = pd.DataFrame({"method": points["method"].iloc[0], "scope": points["scope"].iloc[0],
                          "target": wide["target"], "sparsity": wide["sparsity"],
                          "accuracy": wide["accuracy_mean"], "loss": wide["loss_mean"]})
    means["score"] = [challenge_score(s, a, floor) for s, a in zip(means["sparsity"], means["accuracy"])]
    if "test_accuracy_mean" in wide:
        means["test_accuracy"] = wide["test_accuracy_mean"]
    return summary, means


def summary_text(summary: list[dict], seeds: list[int]) -> str:
    """The per-level table of a seeded sweep: mean +- sd (min..max) in percent."""
    lines = [f"val accuracy over seeds {','.join(map(str, seeds))}: mean +- sd (min..max), 95% t-interval"]
    for item in summary:
        a = item["accuracy"]
        ci = "" if a["n"] < 3 else f"  [{100 * a['ci_low']:.2f}, {100 * a['ci_high']:.2f}]"
        sd = "n/a" if a["n"] < 2 else f"{100 * a['sd']:.2f}"
        t = item.get("test_accuracy")
        test = "" if not t or not t["n"] else f"  test {100 * t['mean']:.2f}"
        lines.append(f"  {100 * item['target']:5.1f}%  n={a['n']}  {100 * a['mean']:.2f} +- {sd} "
                     f"({100 * a['min']:.2f}..{100 * a['max']:.2f}){ci}{test}")
    return "\n".join(lines)

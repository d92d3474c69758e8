"""The retraining levels of ``sweep --method freeze|masked|gradual|imp``: one job per level
(and per seed with ``--seeds``) on the chosen executor, through the result store, plus the
per-level summary over seeds."""

from __future__ import annotations

import argparse
import sys

from .execution import executor_config
from .retrain import open_store, request, teacher


def sweep_levels(args: argparse.Namespace, wb, grid: list[float], bar):
    """One retraining run per level and seed through ``pruning.runs.sweep`` on the chosen
    executor. Through the result store (unless --no-store) each run is keyed like ``retrain
    --sparsity`` with the same settings (seed included): runs trained before, by a sweep, by
    ``retrain`` or by the dashboard, are served, and each new one is saved by this process,
    the driver, as soon as it lands from its worker."""
    from .. import runs

    config = executor_config(args)
    if config.kind != "local":
        print(f"executor: {config.describe()}", file=sys.stderr)
    with open_store(args) as store:
        df = runs.sweep(request(args, None if not grid else grid[0]), grid, wb.load(wb.baseline.arrays),
                        wb.data, teacher=teacher(args), store=store, progress=bar,
                        checkpoint_dir=args.checkpoint_dir, floor=args.floor, with_test=args.with_test,
                        seeds=args.seeds, executor=config)
    for w in df.attrs["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if store is not None:
        n, served = len(df), df.attrs["from_store"]
        what = "runs" if args.seeds else "levels"
        print(f"store: {served} of {n} {what} served, {n - served} trained", file=sys.stderr)
    return df


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

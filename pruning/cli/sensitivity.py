"""``sensitivity``: val accuracy with one layer pruned at a time, per level."""

from __future__ import annotations

import argparse

from ..masks import SCOPES
from .common import CliError, ProgressBar, add_model_args, emit, inputs_report, open_workbench
from .execution import add_executor_args, executor_config

NAME = "sensitivity"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="val accuracy with one layer pruned at a time, per level")
    p.add_argument("--sparsity", default="0,25,50,70,80,90,95,99",
                   help="percent grid START:STOP:STEP or list (default 0,25,50,70,80,90,95,99)")
    p.add_argument("--scope", default="all", choices=SCOPES,
                   help="all: prune each layer's kernel and bias; kernels: its kernel only")
    p.add_argument("--layers", help="comma-separated layer names (default: every layer with weights)")
    add_model_args(p)
    add_executor_args(p, "one job per layer")


def run(args: argparse.Namespace) -> None:
    from ..sensitivity import accuracy_table, layer_sensitivity, prunable_layers
    from ..units import parse_grid

    grid = sorted(set(parse_grid(args.sparsity)))
    layers = [n.strip() for n in args.layers.split(",") if n.strip()] if args.layers else None
    wb = open_workbench(args)
    dense = wb.dense()["val"]
    bar = ProgressBar("sensitivity")
    total = len(grid) * (len(layers) if layers else len(prunable_layers(wb, args.scope)))

    def tick(done: float, layer: str) -> None:  # a layer's rows finish together: count batches
        bar(min(total, round(done * total)), total)

    config = executor_config(args)
    if config.kind == "local":
        df = layer_sensitivity(wb, grid, args.scope, layers=layers, tick=tick)
    else:
        df = _layer_jobs(config, wb, grid, args.scope, layers, bar)
    out = {"scope": args.scope, **inputs_report(wb), "dense_accuracy": dense.accuracy,
           "dense_loss": dense.loss, "levels": grid,
           "layers": list(dict.fromkeys(df["layer"])), "rows": df.to_dict("records")}
    wide = accuracy_table(df)
    wide.columns = [f"{100 * c:g}%" for c in wide.columns]
    wide.index.name = None
    text = (f"val accuracy (%) with only that layer pruned; dense {100 * dense.accuracy:.2f}%\n"
            + (100 * wide).to_string(float_format=lambda v: f"{v:.2f}"))
    emit(out, args.json, text)


def _layer_jobs(config, wb, grid, scope, layers, bar):
    """One job per layer on a worker executor; rows in model order, as the local scan gives."""
    import sys

    import pandas as pd

    from ..data import Dataset
    from ..executors import run_jobs
    from ..jobs import ModelSpec, SensitivityShared, sensitivity_job
    from ..sensitivity import COLUMNS, prunable_layers

    found = [f.name for f in prunable_layers(wb, scope)]
    unknown = sorted(set(layers or ()) - set(found))
    if unknown:
        raise CliError(f"unknown layer(s) {unknown}; choose from {found}")
    names = [n for n in found if layers is None or n in set(layers)]
    print(f"executor: {config.describe()}", file=sys.stderr)
    # the val split as this workbench prepared it (input_scale kept: workers do not scale again)
    val = Dataset(wb.data.name, wb.data.num_classes, val=wb.val.split, input_scale=wb.data.input_scale)
    shared = SensitivityShared(ModelSpec.of(wb.model, wb.baseline.arrays), val, tuple(grid), scope,
                               wb.info.embeddings_pruned)
    done = [0]

    def landed(i: int, rows: list) -> None:
        done[0] += len(rows)
        bar(done[0], len(names) * len(grid))

    per_layer = run_jobs(config, sensitivity_job, shared, names, landed)
    return pd.DataFrame([r for rows in per_layer for r in rows], columns=COLUMNS)

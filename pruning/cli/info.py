"""``info``: model, data, parameters, dense val/test accuracy."""

from __future__ import annotations

import argparse

from ..masks import total_sparsity
from ..models import is_keras_archive
from ..oneshot import model_zero_fraction
from .common import add_model_args, emit, inputs_report, open_workbench

NAME = "info"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="model, data, parameters, dense val/test accuracy")
    add_model_args(p)


def run(args: argparse.Namespace) -> None:
    wb = open_workbench(args)
    dense = wb.dense()
    b = wb.baseline
    info = {
        "model": args.model or "bundled demo",
        "preset": None if args.model and is_keras_archive(args.model) else args.preset,  # None: its own
        "params": b.params, "arrays": len(b.arrays),
        "input_shape": list(wb.data.input_shape), "classes": wb.info.num_classes,
        "data": wb.data.name, "val_size": len(wb.val.split),
        "test_size": len(wb.test.split) if wb.test else 0,
        **inputs_report(wb),
        "sparsity_all": total_sparsity(b.arrays, b.kinds, "all"),
        "sparsity_kernels": total_sparsity(b.arrays, b.kinds, "kernels"),
        "sparsity_model": model_zero_fraction(b.arrays),
        "val_accuracy": dense["val"].accuracy, "val_loss": dense["val"].loss,
        "test_accuracy": dense["test"].accuracy if dense["test"] else None,
        "prunable_params": wb.info.prunable_params,
        "prunable_layers": wb.info.as_dict()["prunable_layers"],
    }
    shown = {**info, "preset": info["preset"] or "none (the .keras model brings its own architecture)"}
    lines = [f"{k:17s} {v}" for k, v in shown.items() if k not in ("prunable_layers", "never_pruned")]
    lines.append(f"{'never_pruned':17s} {', '.join(info['never_pruned']) or 'none'}")
    lines += [f"  {p['layer']:30s} {p['type']:20s} {p['params']:>10,d} {100 * p['share']:6.2f}%"
              for p in info["prunable_layers"]]
    emit(info, args.json, "\n".join(lines))

"""``info``: model, data, parameters, dense val/test accuracy."""

from __future__ import annotations

import argparse

from ..masks import total_sparsity
from .common import add_model_args, emit, open_workbench

NAME = "info"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="model, data, parameters, dense val/test accuracy")
    add_model_args(p)


def run(args: argparse.Namespace) -> None:
    wb = open_workbench(args)
    dense = wb.dense()
    b = wb.baseline
    info = {
        "model": args.model or "bundled demo", "preset": args.preset,
        "params": b.params, "arrays": len(b.arrays),
        "input_shape": list(wb.data.input_shape), "classes": wb.data.num_classes,
        "data": wb.data.name, "val_size": len(wb.val.split),
        "test_size": len(wb.test.split) if wb.test else 0,
        "sparsity_all": total_sparsity(b.arrays, b.kinds, "all"),
        "sparsity_kernels": total_sparsity(b.arrays, b.kinds, "kernels"),
        "val_accuracy": dense["val"].accuracy, "val_loss": dense["val"].loss,
        "test_accuracy": dense["test"].accuracy if dense["test"] else None,
    }
    text = "\n".join(f"{k:17s} {v}" for k, v in info.items())
    emit(info, args.json, text)

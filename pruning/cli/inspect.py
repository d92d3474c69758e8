"""``inspect``: per-array and total sparsity of a weights file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..masks import array_sparsity, total_sparsity
from ..models import PRESETS
from .common import CliError, emit

NAME = "inspect"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="per-array and total sparsity of a weights file")
    p.add_argument("file")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="check the file against this architecture (names and shapes)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> None:
    from ..models import build_preset, load_keras_archive, load_weights_into, read_weight_file, weight_arrays

    path = Path(args.file)
    if not path.exists():
        raise CliError(f"{path}: no such file")
    if path.suffix == ".keras" or args.preset:
        model = load_keras_archive(path) if path.suffix == ".keras" else load_weights_into(
            build_preset(args.preset), path)
        was = weight_arrays(model)
        names, kinds, arrays = [w.name for w in was], [w.kind for w in was], [w.array for w in was]
    else:
        names, kinds, arrays = [], [], []
        for lname, arrs in read_weight_file(path):
            for vname, a in arrs:
                names.append(f"{lname}/{vname}")
                kinds.append("kernel" if a.ndim > 1 else "bias")
                arrays.append(a)
    rows = [{"name": r.name, "kind": r.kind, "shape": list(a.shape), "size": r.size,
             "zeros": r.zeros, "sparsity": r.sparsity}
            for r, a in zip(array_sparsity(arrays, kinds, names), arrays)]
    out = {"file": str(path), "arrays": rows, "params": sum(r["size"] for r in rows),
           "nonzeros": sum(r["size"] - r["zeros"] for r in rows),
           "sparsity_all": total_sparsity(arrays, kinds, "all"),
           "sparsity_kernels": total_sparsity(arrays, kinds, "kernels")}
    lines = [f"{r['name']:24s} {r['kind']:6s} {str(tuple(r['shape'])):20s} {r['size']:>9d} "
             f"{100 * r['sparsity']:7.2f}%" for r in rows]
    lines.append(f"total: {out['params']:,} params, {out['nonzeros']:,} non-zero; sparsity "
                 f"{100 * out['sparsity_all']:.2f}% (all parameters), "
                 f"{100 * out['sparsity_kernels']:.2f}% (kernels only)")
    emit(out, args.json, "\n".join(lines))

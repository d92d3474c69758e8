"""``export``: a model as a LiteRT ``.tflite`` file, with that file's own val/test accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..models import PRESETS
from ..tflite import TFLITE_FORMATS
from .common import CliError, emit

NAME = "export"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="write a LiteRT .tflite file and measure its accuracy")
    p.add_argument("file", help="weights (.h5 legacy, .weights.h5) or a full .keras model")
    p.add_argument("--format", required=True, choices=TFLITE_FORMATS,
                   help="tflite: float32; tflite-int8: dynamic-range int8 weights; tflite-int8-full: "
                   "int8 weights, activations, input and output, calibrated on training images")
    p.add_argument("--out", required=True, help="output .tflite file")
    p.add_argument("--sparse-format", choices=("auto", "on", "off"), default="auto",
                   help="store sparse tensors in TFLite's sparse format (EXPERIMENTAL_SPARSITY); "
                   "auto (default): when kernels are >= 10%% zero, both ways, keeping the smaller file")
    p.add_argument("--preset", default="fashion-mnist", choices=sorted(PRESETS),
                   help="architecture a weights file is loaded into (default: fashion-mnist)")
    p.add_argument("--data", default="fashion-mnist",
                   help="'fashion-mnist' (bundled), an .npz, or a folder of the seed's .pkl files")
    p.add_argument("--val-limit", type=int, help="evaluate on the first N validation images only")
    p.add_argument("--test-limit", type=int, help="evaluate on the first N test images only")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def run(args: argparse.Namespace) -> None:
    from ..data import load_data
    from ..inputs import ensure_fitted
    from ..modelinfo import model_classes
    from ..models import load_model
    from ..tflite import verified_tflite, write_tflite

    src, out = Path(args.file), Path(args.out)
    if not src.exists():
        raise CliError(f"{src}: no such file")
    if out.suffix != ".tflite":
        raise CliError(f"{out.name}: the output must end in .tflite")
    model = load_model(src, args.preset)
    # checked against the model's input and scaled by the 'auto' rule (DataError says what is wrong)
    data = ensure_fitted(load_data(args.data, model_classes(model)), model)
    sparse = {"auto": None, "on": True, "off": False}[args.sparse_format]
    f = verified_tflite(model, args.format, data, args.val_limit, args.test_limit, sparse)
    write_tflite(f, out)
    res = {**f.as_dict(), "file": str(out), "source": str(src), "val_size": f.val.n,
           "test_size": f.test.n if f.test else 0}
    text = (f"wrote {out} ({args.format}, {res['bytes']:,} bytes"
            f"{', sparse format' if f.sparse else ''}): val accuracy {100 * f.val.accuracy:.2f}%"
            + (f", test accuracy {100 * f.test.accuracy:.2f}%" if f.test else "")
            + f", measured on the written file through LiteRT ({f.delegate})")
    emit(res, args.json, text)

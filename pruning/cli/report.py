"""``report``: what a model file costs to deploy, beside the dense model, measured now."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..latency import MIN_RUNS
from ..models import PRESETS
from .common import CliError, emit

NAME = "report"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="parameters, multiply-adds, file sizes and measured latency "
                              "against the dense model")
    p.add_argument("file", help="weights (.h5 legacy, .weights.h5) or a full .keras model")
    p.add_argument("--dense", help="the dense reference (default: the preset's bundled weights)")
    p.add_argument("--preset", default="fashion-mnist", choices=sorted(PRESETS),
                   help="architecture weights files are loaded into (default: fashion-mnist)")
    p.add_argument("--data", default="fashion-mnist",
                   help="training images calibrate the full-int8 file ('fashion-mnist', .npz, folder)")
    p.add_argument("--runs", type=int, default=MIN_RUNS,
                   help=f"timed runs per latency figure, median reported (default and minimum {MIN_RUNS})")
    p.add_argument("--batches", default="1,256", help="batch sizes timed (default 1,256)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def _text(r: dict) -> str:
    lines = [f"params          {r['params']:,} ({r['nonzeros']:,} non-zero); dense {r['dense_params']:,}",
             f"multiply-adds   {r['macs']:,} per image, {r['effective_macs']:,} effective "
             f"(non-zero weights); dense {r['dense_macs']:,}"]
    lines += [f"size {k:18s} {v:>12,} bytes  (dense {r['dense_sizes'].get(k, 0):,})"
              for k, v in r["sizes"].items()]
    for rt, per in r["latency_ms"].items():
        for b, ms in per.items():
            lines.append(f"latency {rt:7s} batch {b:>3s}  {ms:9.2f} ms  dense {r['dense_latency_ms'][rt][b]:9.2f} ms"
                         f"  speed-up {r['speedup'][rt][b]:.2f}x")
    lines.append(f"median of {r['runs']} runs after {r['warmup']} warm-up, model and dense interleaved; "
                 f"LiteRT: float32 .tflite, {r['threads']['litert']} threads")
    lines += [f"note: {n}" for n in r["notes"]]
    if r["macs_skipped"]:
        lines.append(f"note: multiply-adds not counted for {', '.join(r['macs_skipped'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    from ..data import load_data
    from ..inputs import ensure_fitted
    from ..modelinfo import model_classes
    from ..deploy import deployment_report
    from ..models import BUNDLED_WEIGHTS, load_model

    src = Path(args.file)
    if not src.exists():
        raise CliError(f"{src}: no such file")
    if args.runs < MIN_RUNS:
        raise CliError(f"--runs {args.runs}: latency is the median of at least {MIN_RUNS} runs")
    if args.dense is None and args.preset not in BUNDLED_WEIGHTS:
        raise CliError(f"preset {args.preset} has no bundled dense weights; pass --dense FILE")
    if args.dense is not None and not Path(args.dense).exists():
        raise CliError(f"{args.dense}: no such file")
    try:
        batches = tuple(int(b) for b in args.batches.split(","))
    except ValueError:
        raise CliError(f"--batches {args.batches!r}: give batch sizes like 1,256") from None
    if not batches or min(batches) < 1:
        raise CliError(f"--batches {args.batches!r}: batch sizes must be >= 1")
    model = load_model(src, args.preset)
    dense = load_model(args.dense, args.preset)
    data = ensure_fitted(load_data(args.data, model_classes(model)), model)  # as the model takes it
    r = deployment_report(model, dense, data, runs=args.runs, batches=batches)
    emit({"file": str(src), "dense": args.dense or "bundled", **r}, args.json, _text(r))

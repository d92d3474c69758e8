"""``structured``: remove whole channels/neurons, fine-tune, write a physically smaller model.

``python -m pruning structured --remove 0.5 [--importance l1|l2|bn|taylor]
[--allocation uniform|global|sensitivity] [--epochs N] [--train-limit N] --out small.keras
[--h5 small.h5] [--json]``. The accuracy reported is the written file's, measured after
reloading it; the deployment report (params, MACs, sizes, latency vs dense) is measured in
the same run.
"""

from __future__ import annotations

import argparse
import sys

from .common import ProgressBar, add_model_args, add_retrain_args, emit, json_safe
from .retrain import training

NAME = "structured"


def add_parser(subparsers) -> None:
    from ..structured import ALLOCATIONS, CRITERIA

    p = subparsers.add_parser(NAME, help="remove channels/neurons: a smaller, faster .keras model")
    p.add_argument("--remove", type=float, required=True, metavar="FRACTION",
                   help="fraction of the channels/neurons of every prunable group to remove, in [0, 1)")
    p.add_argument("--importance", choices=CRITERIA, default="l1",
                   help="unit score: L1/L2 norm of its weights, BatchNorm scale, or first-order "
                   "Taylor from a few training batches (default l1)")
    p.add_argument("--allocation", choices=ALLOCATIONS, default="uniform",
                   help="the same ratio per group, one global ranking (normalized per group), or "
                   "per-group ratios from a per-layer sensitivity scan (default uniform)")
    p.add_argument("--layers", help="comma-separated Conv/Dense layer names: prune only their groups "
                   "(default: every prunable group)")
    p.add_argument("--out", required=True, help="the smaller model, a .keras file (verified by reload)")
    p.add_argument("--h5", help="also write legacy .h5 weights here, with its architecture in "
                   "<name>.json (keras.models.model_from_json, then load_weights)")
    p.add_argument("--report-runs", type=int, default=20,
                   help="timed runs per latency figure of the deployment report (default 20)")
    p.add_argument("--no-report", action="store_true", help="skip the deployment report")
    add_model_args(p)
    add_retrain_args(p, epochs=0)  # --epochs 0: no fine-tuning


def run(args: argparse.Namespace) -> None:
    from ..data import load_data
    from ..inputs import fit_inputs
    from ..modelinfo import describe_model, model_classes
    from ..models import load_model
    from ..retrain import limit
    from ..structured.pipeline import run_structured

    model = load_model(args.model, args.preset)
    data = load_data(args.data, model_classes(model))
    data = limit(data, args.train_limit, args.val_limit, args.test_limit)
    # checks the shape against the model's input and applies the (visible) input scaling
    fit = fit_inputs(data, describe_model(model), getattr(args, "input_scale", "auto"))
    data = fit.data
    bar = ProgressBar("fine-tune", enabled=args.epochs > 0)
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if not args.json else None
    _, info = run_structured(model, data, args.remove, args.importance, args.allocation,
                             training(args), args.out, args.h5,
                             None if args.no_report else args.report_runs,
                             args.checkpoint_dir, bar, log=log,
                             layers=[n.strip() for n in args.layers.split(",") if n.strip()]
                             if args.layers else None)
    info.update(fit.as_dict())
    shrunk = ", ".join(f"{k} {v['before']}->{v['after']}" for k, v in info["removed"].items() if v["removed"])
    text = (f"structured {args.importance}/{args.allocation} remove {args.remove:g}: "
            f"{info['params']:,} params (dense {info['dense_params']:,}, "
            f"{info['dense_params'] / info['params']:.2f}x fewer); val accuracy "
            f"{100 * info['accuracy']:.2f}%"
            + (f", test {100 * info['test_accuracy']:.2f}%" if "test_accuracy" in info else "")
            + (f" after {info['epochs_run']} fine-tuning epochs" if info["epochs_run"] else
               " (not fine-tuned; add --epochs N)")
            + f"\nchannels: {shrunk or 'none removed'}"
            + "".join(f"\nunpruned: {k}: {v}" for k, v in info["unpruned"].items())
            + "".join(f"\nnote: {n}" for n in info["notes"])
            + f"\nwrote {info['file']} ({info['bytes']:,} bytes)"
            + (f" and {info['h5']} + {info['config']}" if "h5" in info else ""))
    dep = info.get("deployment")
    if dep:
        sp = dep.get("speedup", {}).get("keras", {})
        text += ("\nlatency speed-up vs dense (Keras): "
                 + ", ".join(f"batch {b} {v:.2f}x" for b, v in sp.items()))
    emit(json_safe(info), args.json, text)

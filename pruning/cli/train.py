"""``train``: train a dense preset from scratch (the demo weights and their sidecar)."""

from __future__ import annotations

import argparse
import sys

from ..models import PRESETS
from .common import emit

NAME = "train"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="train a dense preset from scratch (demo weights)")
    p.add_argument("--preset", default="fashion-mnist", choices=sorted(PRESETS))
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="legacy .h5 weights; a .json sidecar goes beside it")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> None:
    from ..data import load_data
    from ..train import save_trained, train_dense

    data = load_data(args.data, PRESETS[args.preset][1])
    model, summary = train_dense(data, args.preset, epochs=args.epochs, seed=args.seed,
                                 verbose=0 if args.json else 2)
    command = ("python -m pruning " + " ".join(sys.argv[1:])).replace(" --json", "") \
        if sys.argv[1:2] == ["train"] else f"python -m pruning train --preset {args.preset} " \
        f"--epochs {args.epochs} --seed {args.seed} --out {args.out}"
    sidecar = save_trained(model, summary, args.out, command)
    emit({**summary, "weights": args.out, "sidecar": str(sidecar)}, args.json,
         f"wrote {args.out} and {sidecar}: val {summary['val_accuracy']:.4f}, "
         f"test {summary.get('test_accuracy')}")

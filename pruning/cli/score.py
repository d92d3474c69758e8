"""``score``: score a weights file exactly as the challenge's leaderboard does.

Same function as the server (``pruning.challenge.scoring.score_file``): the file is loaded
with the hostile-input rules, put into the architecture, sparsity is counted over all
parameters (kernels and biases) and accuracy measured on the chosen split, so a student's
check and the leaderboard agree bit for bit.
"""

from __future__ import annotations

import argparse

from ..frontier import DEFAULT_FLOOR
from ..models import PRESETS
from .common import emit

NAME = "score"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="score a file as the challenge does: sparsity, accuracy, score")
    p.add_argument("file", metavar="FILE", help="the submission: .h5 (legacy), .weights.h5 or .keras")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="architecture to load the weights into (default fashion-mnist; a .keras "
                   "file without --preset is scored in its own architecture)")
    p.add_argument("--data", default="fashion-mnist",
                   help="'fashion-mnist' (bundled), an .npz, or a folder of the seed's .pkl files")
    p.add_argument("--split", choices=("val", "test"), default="test",
                   help="split to score on (default test: the demo challenge's hidden split)")
    p.add_argument("--floor", type=float, default=DEFAULT_FLOOR,
                   help=f"accuracy floor as a fraction (default {DEFAULT_FLOOR}); at or below it "
                   "there is no score")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def run(args: argparse.Namespace) -> None:
    from ..challenge.scoring import score_local

    result = score_local(args.file, args.preset, args.data, args.split, args.floor)
    out = {**result.as_dict(), "split": args.split, "floor": args.floor}
    score = "below the floor" if out["score"] is None else f"{out['score']:.4f}"
    text = (f"sparsity {100 * result.sparsity:.2f}% (all parameters: {result.nonzeros:,} of "
            f"{result.params:,} non-zero)\naccuracy {100 * result.accuracy:.2f}% on {result.images:,} "
            f"{args.split} images\nscore    {score} = (sparsity + accuracy) / 2, floor {args.floor:g}")
    emit(out, args.json, text)

"""What every command shares: the error type, JSON/text output, the progress bar, argument
groups, percent parsing and the output-format check."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from ..inputs import INPUT_SCALES
from ..models import PRESETS
from ..retrain import LR_SCHEDULES
from ..units import parse_percent

FORMAT_BY_SUFFIX = ((".weights.h5", "weights.h5"), (".keras", "keras"), (".h5", "h5"))


class CliError(Exception):
    """A user mistake reported as one line on stderr with exit code 1."""


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def emit(obj: dict, as_json: bool, text: str) -> None:
    """Print a command's result: ``obj`` as JSON with ``--json``, else ``text``."""
    print(json.dumps(json_safe(obj), indent=2) if as_json else text)


class ProgressBar:
    """A one-line progress bar on stderr (silent when ``enabled`` is False)."""

    def __init__(self, label: str, enabled: bool = True, width: int = 30) -> None:
        self.label, self.enabled, self.width, self.t0 = label, enabled, width, time.time()
        self._logged = -1

    def __call__(self, done: int, total: int, row: dict | None = None) -> None:
        if not self.enabled:
            return
        tty = sys.stderr.isatty()  # redraw one line on a terminal; in logs, a line per 10 %
        if not tty:
            tenth = 10 * done // max(total, 1)
            if tenth == self._logged and done < total and total > 20:
                return
            self._logged = tenth
        filled = int(self.width * done / max(total, 1))
        extra = ""
        if row and "sparsity" in row:
            extra = f"  sparsity {100 * row['sparsity']:.1f}%  acc {100 * row['accuracy']:.2f}%"
        start, end = ("\r", "") if tty else ("", "\n")
        sys.stderr.write(f"{start}{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                         f"{done}/{total} {time.time() - self.t0:5.1f}s{extra}{end}")
        if done >= total and tty:
            sys.stderr.write("\n")
        sys.stderr.flush()


def percent_arg(text: str) -> float:
    """argparse type: a sparsity percent 0..100 on the command line -> a fraction."""
    try:
        return parse_percent(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_model_args(p: argparse.ArgumentParser, data: bool = True) -> None:
    """--model, --preset (and --data, --val-limit, --test-limit), --json."""
    p.add_argument("--model", help="weights (.h5 legacy, .weights.h5) or full .keras model; "
                   "default: the bundled demo weights")
    p.add_argument("--preset", default="fashion-mnist", choices=sorted(PRESETS),
                   help="architecture to load a weights file into (default: fashion-mnist; a .keras "
                   "model brings its own)")
    if data:
        p.add_argument("--data", default="fashion-mnist",
                       help="'fashion-mnist' (bundled), an .npz, or a folder of the seed's .pkl files")
        p.add_argument("--val-limit", type=int, help="use only the first N validation images")
        p.add_argument("--test-limit", type=int, help="use only the first N test images")
        p.add_argument("--input-scale", default="auto", choices=INPUT_SCALES,
                       help="how stored inputs are scaled for the model: 'auto' (default: x/255 "
                       "for 8-bit pixels unless the model has its own Rescaling/Normalization "
                       "layer, else as stored), 'none', '1/255' or '1/127.5-1'")
        p.add_argument("--prune-embeddings", action="store_true",
                       help="count Embedding tables as prunable weights (off by default)")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def add_retrain_args(p: argparse.ArgumentParser, epochs: int) -> None:
    """The retraining group (budget, optimiser, recipe, imp rounds, checkpoints)."""
    g = p.add_argument_group("retraining (freeze, masked, gradual, imp)")
    g.add_argument("--epochs", type=int, default=epochs, help=f"epochs per phase (default {epochs})")
    g.add_argument("--train-limit", type=int, help="train on the first N training images only")
    g.add_argument("--batch-size", type=int, default=128)
    g.add_argument("--learning-rate", type=float, default=1e-3)
    g.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                   help="cosine: each phase's learning rate decays to 1%% of --learning-rate "
                   "(default constant)")
    g.add_argument("--adjust-dropout", action="store_true",
                   help="scale each Dropout rate by sqrt(kept fraction) of the layer before it, "
                   "updated every epoch (Han et al. 2015)")
    g.add_argument("--distill", type=float, default=0.0, metavar="WEIGHT",
                   help="blend the dense model's predictions into the training targets with this "
                   "weight in [0, 1] (knowledge distillation; with --from the teacher is --model)")
    g.add_argument("--patience", type=int, default=5, help="early-stopping patience in epochs")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--rounds", type=int, default=3, help="imp: pruning rounds (default 3)")
    g.add_argument("--rewind-epoch", type=int, help="imp: rewind to the dense weights after N "
                   "epochs of training (default: to the given weights)")
    g.add_argument("--checkpoint-dir", help="save state after every epoch and resume from it")


def add_store_args(p: argparse.ArgumentParser, what: str, without: str) -> None:
    """--store DIR and --no-store, with the command's own help texts."""
    p.add_argument("--store", metavar="DIR", help=f"result store: {what} (default: "
                   "$PRUNING_STORE_DIR or ~/.cache/pruning-dashboard)")
    p.add_argument("--no-store", action="store_true", help=without)


def add_output_args(p: argparse.ArgumentParser, required: bool, help: str) -> None:
    """--out FILE and --format (h5, weights.h5, keras)."""
    p.add_argument("--out", required=required, help=help)
    p.add_argument("--format", choices=("h5", "weights.h5", "keras"),
                   help="default: from the --out suffix (h5 = legacy Keras 2 layout)")


def output_format(out: Path, fmt: str | None) -> str:
    """The export format for ``out``: ``fmt`` or the one its suffix names (CliError if they
    disagree or the suffix names none)."""
    fmt = fmt or next((f for s, f in FORMAT_BY_SUFFIX if out.name.endswith(s)), None)
    if fmt is None:
        raise CliError(f"{out.name}: cannot tell the format; end the name in .h5, .weights.h5 or "
                       ".keras, or pass --format")
    wanted = dict((f, s) for s, f in FORMAT_BY_SUFFIX)[fmt]
    if not out.name.endswith(wanted) or (fmt == "h5" and out.name.endswith(".weights.h5")):
        raise CliError(f"{out.name}: format {fmt} needs a name ending in {wanted}")
    return fmt


def open_workbench(args: argparse.Namespace):
    """The ``Workbench`` of --model/--preset/--data with the val/test limits."""
    from ..workbench import Workbench

    return Workbench.open(args.model, args.preset, args.data, val_limit=args.val_limit,
                          test_limit=args.test_limit, input_scale=args.input_scale,
                          prune_embeddings=args.prune_embeddings)


def inputs_report(wb) -> dict:
    """What every result says about how the model was read: the input scaling applied (and
    why), the input and output kinds, and the arrays no scope ever prunes."""
    return {**wb.fit.as_dict(), "input_kind": wb.info.input_kind,
            "output_kind": wb.info.output_kind, "never_pruned": list(wb.info.never_pruned)}

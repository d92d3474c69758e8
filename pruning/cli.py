"""Command line: ``python -m pruning info|inspect|sweep|sensitivity|prune|retrain|train``.

Percent in, fractions out: ``--sparsity`` takes percent (like the grid ``0:95:5``),
while JSON reports sparsity and accuracy as fractions 0..1.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from .data import DataError
from .evaluate import PRECISIONS
from .masks import METHODS, SCOPES, array_sparsity, total_sparsity
from .models import PRESETS, ModelError
from .retrain import LR_SCHEDULES, RETRAIN_METHODS

FORMAT_BY_SUFFIX = ((".weights.h5", "weights.h5"), (".keras", "keras"), (".h5", "h5"))


class CliError(Exception):
    """A user mistake reported as one line on stderr with exit code 1."""


def _clean(value):
    """JSON-safe: NaN -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _emit(obj: dict, as_json: bool, text: str) -> None:
    print(json.dumps(_clean(obj), indent=2) if as_json else text)


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


def _percent(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percent like 90, got {text!r}") from None
    if not 0 <= v <= 100 or math.isnan(v):
        raise argparse.ArgumentTypeError(f"sparsity is a percent in 0..100, got {text}")
    return v / 100


def _add_model_args(p: argparse.ArgumentParser, data: bool = True) -> None:
    p.add_argument("--model", help="weights (.h5 legacy, .weights.h5) or full .keras model; "
                   "default: the bundled demo weights")
    p.add_argument("--preset", default="fashion-mnist", choices=sorted(PRESETS),
                   help="architecture to load weights into (default: fashion-mnist)")
    if data:
        p.add_argument("--data", default="fashion-mnist",
                       help="'fashion-mnist' (bundled), an .npz, or a folder of the seed's .pkl files")
        p.add_argument("--val-limit", type=int, help="use only the first N validation images")
        p.add_argument("--test-limit", type=int, help="use only the first N test images")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def _add_retrain_args(p: argparse.ArgumentParser, epochs: int) -> None:
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


def _add_store_args(p: argparse.ArgumentParser, what: str, without: str) -> None:
    p.add_argument("--store", metavar="DIR", help=f"result store: {what} (default: "
                   "$PRUNING_STORE_DIR or ~/.cache/pruning-dashboard)")
    p.add_argument("--no-store", action="store_true", help=without)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m pruning", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="model, data, parameters, dense val/test accuracy")
    _add_model_args(p)

    p = sub.add_parser("inspect", help="per-array and total sparsity of a weights file")
    p.add_argument("file")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="check the file against this architecture (names and shapes)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("sweep", help="accuracy over a sparsity grid, frontier and best score")
    p.add_argument("--method", required=True, choices=METHODS + RETRAIN_METHODS,
                   help="one-shot (global, layerwise) or one retraining run per level")
    p.add_argument("--sparsity", default="0:95:5", help="percent grid START:STOP:STEP or list (default 0:95:5)")
    p.add_argument("--scope", default="all", choices=SCOPES)
    p.add_argument("--floor", type=float, default=0.60, help="accuracy floor for the score (fraction)")
    p.add_argument("--with-test", action="store_true", help="also report test accuracy per level")
    p.add_argument("--adaptive", action="store_true",
                   help="coarse grid over 0..99%% then bisect where accuracy moves (ignores --sparsity)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="with --adaptive: accuracy gap (fraction) that triggers a midpoint (default 0.01)")
    p.add_argument("--fill", action="store_true",
                   help="with --adaptive: report every integer level, filling those between full "
                   "evaluations from the images that may change there (rows marked exact=false)")
    p.add_argument("--precision", choices=PRECISIONS, default="float32",
                   help="with --adaptive: bfloat16 computes each pass in bfloat16, about 2x faster "
                   "on CPUs with native bfloat16 but not identical to float32 (default float32)")
    _add_store_args(p, "one-shot levels are saved as they finish and reused by later runs",
                    "compute every level; use no result store")
    _add_model_args(p)

    _add_retrain_args(p, epochs=3)

    p = sub.add_parser("sensitivity", help="val accuracy with one layer pruned at a time, per level")
    p.add_argument("--sparsity", default="0,25,50,70,80,90,95,99",
                   help="percent grid START:STOP:STEP or list (default 0,25,50,70,80,90,95,99)")
    p.add_argument("--scope", default="all", choices=SCOPES,
                   help="all: prune each layer's kernel and bias; kernels: its kernel only")
    p.add_argument("--layers", help="comma-separated layer names (default: every layer with weights)")
    _add_model_args(p)

    p = sub.add_parser("prune", help="prune once and write the weights")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--sparsity", required=True, type=_percent, help="target sparsity in percent")
    p.add_argument("--scope", default="all", choices=SCOPES)
    p.add_argument("--out", required=True, help="output file (.h5, .weights.h5 or .keras)")
    p.add_argument("--format", choices=("h5", "weights.h5", "keras"),
                   help="default: from the --out suffix (h5 = legacy Keras 2 layout)")
    _add_model_args(p)

    p = sub.add_parser("retrain", help="prune with retraining (freeze, masked, gradual, imp)")
    p.add_argument("--method", required=True, choices=RETRAIN_METHODS)
    p.add_argument("--sparsity", type=_percent, help="target sparsity in percent (masked: "
                   "optional, default the --from file's own zeros)")
    p.add_argument("--scope", default="all", choices=SCOPES)
    p.add_argument("--from", dest="start", help="start from these (pruned) weights instead of --model's")
    p.add_argument("--out", help="write the retrained weights (.h5, .weights.h5 or .keras)")
    p.add_argument("--format", choices=("h5", "weights.h5", "keras"),
                   help="default: from the --out suffix (h5 = legacy Keras 2 layout)")
    p.add_argument("--floor", type=float, default=0.60, help="accuracy floor for the score (fraction)")
    _add_store_args(p, "the finished run is saved there and an identical later request is served "
                    "from it", "always train; use no result store")
    _add_model_args(p)
    _add_retrain_args(p, epochs=10)

    p = sub.add_parser("train", help="train a dense preset from scratch (demo weights)")
    p.add_argument("--preset", default="fashion-mnist", choices=sorted(PRESETS))
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="legacy .h5 weights; a .json sidecar goes beside it")
    p.add_argument("--json", action="store_true")
    return ap


def _workbench(args):
    from .workbench import Workbench

    return Workbench.open(args.model, args.preset, args.data, val_limit=args.val_limit,
                          test_limit=args.test_limit)


def cmd_info(args) -> None:
    wb = _workbench(args)
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
    _emit(info, args.json, text)


def cmd_inspect(args) -> None:
    from .models import build_preset, load_keras_archive, load_weights_into, read_weight_file, weight_arrays

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
    _emit(out, args.json, "\n".join(lines))


def cmd_sweep(args) -> None:
    from .frontier import best_row, pareto_frontier
    from .sweep import parse_grid

    grid = parse_grid(args.sparsity)
    if not args.adaptive and (args.fill or args.precision != "float32"):
        raise CliError("--fill and --precision only apply to an adaptive sweep; add --adaptive")
    wb = _workbench(args)
    dense = wb.dense()
    bar = ProgressBar(f"sweep {args.method}", enabled=len(grid) > 1)
    if args.adaptive:
        from .adaptive import adaptive_sweep

        df = adaptive_sweep(wb, args.method, args.scope, args.tolerance, floor=args.floor,
                            progress=ProgressBar(f"adaptive {args.method}"), fill=args.fill,
                            precision=args.precision)
        if args.with_test and wb.test is not None:
            df["test_accuracy"] = [wb.test.evaluate(wb.prune(args.method, t, args.scope).arrays).accuracy
                                   for t in df["target"]]
    else:
        df = (_retrain_sweep(args, wb, grid, bar) if args.method in RETRAIN_METHODS else
              _one_shot_sweep(args, wb, grid, bar))
    frontier = pareto_frontier(df)
    best = best_row(df, args.floor)
    pts_cols = ["target", "sparsity", "accuracy", "loss", "score"] + (
        ["test_accuracy"] if args.with_test else []) + (["exact"] if "exact" in df else [])
    baseline = {"accuracy": dense["val"].accuracy, "loss": dense["val"].loss,
                "test_accuracy": dense["test"].accuracy if dense["test"] else None,
                "sparsity": total_sparsity(wb.baseline.arrays, wb.baseline.kinds, args.scope)}
    out = {"method": args.method, "scope": args.scope, "floor": args.floor,
           "baseline": baseline,
           "points": df[pts_cols].to_dict("records"),
           "frontier": frontier[pts_cols].to_dict("records"),
           "best": None if best is None else best[pts_cols].to_dict()}
    if args.adaptive:
        out["precision"] = args.precision
    text = df[pts_cols].to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="below floor")
    text += ("\nbest: none above the accuracy floor" if best is None else
             f"\nbest: sparsity {100 * best['sparsity']:.1f}%, accuracy "
             f"{100 * best['accuracy']:.2f}%, score {best['score']:.4f}")
    _emit(out, args.json, text)


def cmd_sensitivity(args) -> None:
    from .sensitivity import layer_sensitivity, prunable_layers
    from .sweep import parse_grid

    grid = sorted(set(parse_grid(args.sparsity)))
    layers = [n.strip() for n in args.layers.split(",") if n.strip()] if args.layers else None
    wb = _workbench(args)
    dense = wb.dense()["val"]
    bar = ProgressBar("sensitivity")
    total = len(grid) * (len(layers) if layers else len(prunable_layers(wb, args.scope)))

    def tick(done: float, layer: str) -> None:  # a layer's rows finish together: count batches
        bar(min(total, round(done * total)), total)

    df = layer_sensitivity(wb, grid, args.scope, layers=layers, tick=tick)
    out = {"scope": args.scope, "dense_accuracy": dense.accuracy, "levels": grid,
           "layers": list(dict.fromkeys(df["layer"])), "rows": df.to_dict("records")}
    wide = df.pivot(index="layer", columns="target", values="accuracy").loc[out["layers"]]
    wide.columns = [f"{100 * c:g}%" for c in wide.columns]
    wide.index.name = None
    text = (f"val accuracy (%) with only that layer pruned; dense {100 * dense.accuracy:.2f}%\n"
            + (100 * wide).to_string(float_format=lambda v: f"{v:.2f}"))
    _emit(out, args.json, text)


def cmd_prune(args) -> None:
    from .export import reload_check, write_weights

    out = Path(args.out)
    fmt = args.format or next((f for s, f in FORMAT_BY_SUFFIX if out.name.endswith(s)), None)
    if fmt is None:
        raise CliError(f"{out.name}: cannot tell the format; end the name in .h5, .weights.h5 or "
                       ".keras, or pass --format")
    wanted = dict((f, s) for s, f in FORMAT_BY_SUFFIX)[fmt]
    if not out.name.endswith(wanted) or (fmt == "h5" and out.name.endswith(".weights.h5")):
        raise CliError(f"{out.name}: format {fmt} needs a name ending in {wanted}")
    wb = _workbench(args)
    point = wb.point(args.method, args.sparsity, args.scope)
    write_weights(wb.load(point.pruned.arrays), out, fmt)
    check = reload_check(out, wb.model).get_weights()
    reloaded = total_sparsity(check, wb.baseline.kinds, args.scope)
    if abs(reloaded - point.pruned.sparsity) > 1e-12:
        out.unlink(missing_ok=True)
        raise CliError(f"{out}: reloaded sparsity {reloaded} differs from {point.pruned.sparsity}; file removed")
    res = {**point.as_dict(), "file": str(out), "format": fmt, "bytes": out.stat().st_size}
    text = (f"wrote {out} ({fmt}, {res['bytes']:,} bytes): {args.method} at "
            f"{100 * point.pruned.sparsity:.2f}% sparsity ({args.scope}), val accuracy "
            f"{100 * point.val.accuracy:.2f}%"
            + (f", test accuracy {100 * point.test.accuracy:.2f}%" if point.test else "")
            + (f", score {point.score:.4f}" if not math.isnan(point.score) else ", below the floor"))
    _emit(res, args.json, text)


def _training(args):
    from .retrain import Training

    return Training(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                    patience=args.patience, seed=args.seed, lr_schedule=args.lr_schedule,
                    adjust_dropout=args.adjust_dropout, distill=args.distill)


def _retrain_options(args, load_teacher: bool = True) -> dict:
    """Method options; with --distill and --from, the teacher is the dense --model (loaded, or
    named only when ``load_teacher`` is False, as in result-store keys)."""
    opts = {"rounds": args.rounds, "rewind_epoch": args.rewind_epoch} if args.method == "imp" else {}
    if args.distill and getattr(args, "start", None):
        from .models import load_model

        opts["teacher"] = (load_model(args.model, args.preset) if load_teacher
                           else str(args.model or "bundled"))
    return opts


def _one_shot_sweep(args, wb, grid, bar):
    """A one-shot sweep through the result store (unless --no-store): only missing levels run."""
    import sqlite3

    from .store import ResultStore, resumable_sweep

    if args.no_store:
        return wb.sweep(args.method, grid, args.scope, args.floor, bar, with_test=args.with_test)
    try:
        with ResultStore(args.store) as store:
            df = resumable_sweep(wb, store, args.method, grid, args.scope, args.floor, bar,
                                 args.with_test)
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unavailable ({e}); computing without it", file=sys.stderr)
        return wb.sweep(args.method, grid, args.scope, args.floor, bar, with_test=args.with_test)
    n, served = len(df), df.attrs["from_store"]
    print(f"store: all {n} levels served from {store.db_path}, nothing recomputed" if served == n else
          f"store: {served} of {n} levels served from {store.db_path}; {n - served} computed and saved"
          if served else f"store: {n} levels computed and saved to {store.db_path}", file=sys.stderr)
    return df


def _retrain_sweep(args, wb, grid, bar):
    """One retraining run per level. Through the result store (unless --no-store) each level is
    keyed like ``retrain --sparsity`` with the same settings: levels trained before, by a sweep
    or by ``retrain``, are served, and each new level is saved as soon as it finishes."""
    import pandas as pd

    from .retrain import limit, retrain_sweep
    from .sweep import COLUMNS
    from .workbench import Workbench

    data = limit(wb.data, args.train_limit, args.val_limit, args.test_limit)
    if args.no_store:
        return retrain_sweep(wb.model, data, args.method, grid, _training(args), args.scope, args.floor,
                             bar, args.with_test, args.checkpoint_dir, **_retrain_options(args))
    wb = Workbench(wb.model, data, baseline=wb.baseline)  # keys hash the splits it trains and tests on
    rows, served = [], 0
    for i, s in enumerate(grid):
        level = argparse.Namespace(**{**vars(args), "sparsity": s, "start": None})
        sub = None if args.checkpoint_dir is None else str(Path(args.checkpoint_dir) / f"level-{s:.6f}")
        _, info = _retrain_level(level, wb, data, sub, quiet=True)
        served += info["from_store"]
        row = {"method": args.method, "scope": args.scope, "target": float(s),
               "sparsity": info["sparsity"], "accuracy": info["accuracy"], "loss": info["loss"],
               "score": info["score"]}
        if args.with_test and info.get("test_accuracy") is not None:
            row["test_accuracy"] = info["test_accuracy"]
        rows.append(row)
        bar(i + 1, len(grid), row)
    print(f"store: {served} of {len(grid)} levels served, {len(grid) - served} trained", file=sys.stderr)
    return pd.DataFrame(rows, columns=COLUMNS + (["test_accuracy"] if args.with_test else []))


def _retrain_level(args, wb, data, checkpoint_dir, quiet: bool = False) -> tuple[list, dict]:
    """Retrain at ``args.sparsity`` (or serve that run from the store); returns (arrays, info).
    ``quiet``: no per-epoch bar or store lines (a sweep reports per level instead)."""
    from .retrain import retrain

    store, key = _retrain_store(args, wb)
    try:  # the store's connection is closed however training ends
        served = None if store is None else _stored_retrain(args, store, key, wb, quiet)
        if served is not None:
            return served
        bar = ProgressBar(f"retrain {args.method}", enabled=not quiet)
        res = retrain(wb.model, data, args.method, args.sparsity, _training(args), args.scope, bar,
                      checkpoint_dir, **_retrain_options(args))
        if res.resumed:
            print(f"resumed from {checkpoint_dir} after {len(res.history)} epochs in all", file=sys.stderr)
        arrays = list(res.arrays)
        info = {**res.as_dict(args.floor), "history": list(res.history), "from_store": False}
        if store is not None:
            import sqlite3

            try:
                store.save_result(key, arrays, {k: v for k, v in _clean(info).items() if k != "from_store"})
                if not quiet:
                    print(f"store: saved to {store.db_path} (run {key.id[:12]})", file=sys.stderr)
            except (OSError, sqlite3.Error) as e:
                print(f"warning: result not saved to the store ({e})", file=sys.stderr)
        return arrays, info
    finally:
        if store is not None:
            store.close()


def _retrain_store(args, wb):
    """(store, key) for this retrain request, or (None, None) with --no-store or no store."""
    import dataclasses
    import sqlite3

    from .store import ResultStore, retrain_key

    if args.no_store:
        return None, None
    try:
        store = ResultStore(args.store)
        key = retrain_key(wb, args.method, args.sparsity, args.scope,
                          dataclasses.asdict(_training(args)), _retrain_options(args, False))
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unavailable ({e}); training without it", file=sys.stderr)
        return None, None
    return store, key


def _stored_retrain(args, store, key, wb, quiet: bool = False):
    """The stored result's (arrays, info) for this request, or None."""
    import sqlite3

    from .frontier import challenge_score

    try:
        found = store.load_result(key)
    except (OSError, sqlite3.Error) as e:
        print(f"warning: result store unreadable ({e}); training", file=sys.stderr)
        return None
    if found is None:
        return None
    arrays, meta = found
    if len(arrays) != len(wb.baseline.arrays):
        return None
    info = dict(meta)
    info["score"] = float(challenge_score(info["sparsity"], info["accuracy"], args.floor))
    info["from_store"] = True
    if not quiet:
        print(f"store: served from {store.db_path} (run {key.id[:12]}), no training", file=sys.stderr)
    return arrays, info


def cmd_retrain(args) -> None:
    from .data import load_data
    from .export import write_verified
    from .models import load_model, load_weights_into
    from .retrain import limit
    from .workbench import Workbench

    out = Path(args.out) if args.out else None
    fmt = None
    if out is not None:
        fmt = args.format or next((f for s, f in FORMAT_BY_SUFFIX if out.name.endswith(s)), None)
        if fmt is None:
            raise CliError(f"{out.name}: cannot tell the format; end the name in .h5, .weights.h5 "
                           "or .keras, or pass --format")
        wanted = dict((f, s) for s, f in FORMAT_BY_SUFFIX)[fmt]
        if not out.name.endswith(wanted) or (fmt == "h5" and out.name.endswith(".weights.h5")):
            raise CliError(f"{out.name}: format {fmt} needs a name ending in {wanted}")
    model = load_model(args.model, args.preset)
    if args.start:
        if not Path(args.start).exists():
            raise CliError(f"{args.start}: no such file")
        load_weights_into(model, args.start)
    data = load_data(args.data, int(model.output_shape[-1]))
    data = limit(data, args.train_limit, args.val_limit, args.test_limit)
    wb = Workbench(model, data)  # checks that model and data fit each other
    arrays, info = _retrain_level(args, wb, data, args.checkpoint_dir)
    if out is not None:
        # reloaded into a fresh model and compared bit for bit before the file appears
        write_verified(wb.load(arrays), out, fmt, arrays)
        info.update({"file": str(out), "format": fmt, "bytes": out.stat().st_size})
    text = (f"{args.method}: {100 * info['sparsity']:.2f}% sparsity ({args.scope}), val accuracy "
            f"{100 * info['accuracy']:.2f}%"
            + (f", test accuracy {100 * info['test_accuracy']:.2f}%"
               if info.get("test_accuracy") is not None else "")
            + (", from the result store" if info["from_store"] else
               f", {info['epochs_run']} epochs in {info['seconds']:.1f}s")
            + (f"; wrote {out} ({fmt}, {info['bytes']:,} bytes)" if out is not None else ""))
    _emit(info, args.json, text)


def cmd_train(args) -> None:
    from .data import load_data
    from .train import save_trained, train_dense

    data = load_data(args.data, PRESETS[args.preset][1])
    model, summary = train_dense(data, args.preset, epochs=args.epochs, seed=args.seed,
                                 verbose=0 if args.json else 2)
    command = ("python -m pruning train " + " ".join(sys.argv[1:])).replace(" --json", "") \
        if sys.argv[1:2] == ["train"] else f"python -m pruning train --preset {args.preset} " \
        f"--epochs {args.epochs} --seed {args.seed} --out {args.out}"
    sidecar = save_trained(model, summary, args.out, command)
    _emit({**summary, "weights": args.out, "sidecar": str(sidecar)}, args.json,
          f"wrote {args.out} and {sidecar}: val {summary['val_accuracy']:.4f}, "
          f"test {summary.get('test_accuracy')}")


COMMANDS = {"info": cmd_info, "inspect": cmd_inspect, "sweep": cmd_sweep,
            "sensitivity": cmd_sensitivity, "prune": cmd_prune,
            "train": cmd_train,
            "retrain": cmd_retrain}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 bad file/value, 2 bad arguments)."""
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (CliError, DataError, ModelError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0

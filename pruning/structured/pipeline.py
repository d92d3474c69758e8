"""Structured pruning end to end: prune, fine-tune, write, verify, evaluate the written file.

One function for the CLI (``python -m pruning structured``) and the benchmark, so both
report the same numbers: the accuracy of a written model is measured on the file as
reloaded (safe mode), never on the in-memory model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np

from ..data import Dataset
from ..inputs import ensure_fitted
from ..evaluate import Evaluator
from ..atomic import atomic_write
from ..export import ExportError, write_verified
from ..models import load_keras_archive
from ..retrain import Training
from ..sweep import Progress
from . import StructureError, analyze, prune_structured, sensitivity_ratios
from .finetune import finetune

SENSITIVITY_LEVELS = (0.25, 0.5, 0.75, 0.9)


def check_out(path: str | Path, suffix: str, what: str) -> Path:
    """``path`` as a Path ending in ``suffix``, or a clear error."""
    p = Path(path)
    if not p.name.endswith(suffix) or (suffix == ".h5" and p.name.endswith(".weights.h5")):
        raise StructureError(f"{p.name}: {what} must end in {suffix}")
    return p


def write_h5_with_config(model: keras.Model, path: str | Path) -> tuple[Path, Path]:
    """Legacy ``.h5`` weights plus ``<stem>.json`` architecture beside them, both verified.

    Load them in plain Keras with ``m = keras.models.model_from_json(open(json).read());
    m.load_weights(h5)``; the check does exactly that and compares every array bit for bit.
    """
    path = check_out(path, ".h5", "the weights file")
    config = path.with_suffix(".json")
    text = model.to_json()
    atomic_write(config, lambda p: p.write_text(text), mode=0o644)
    write_verified(model, path, "h5")
    twin = keras.models.model_from_json(config.read_text())
    twin.load_weights(path)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        if a.shape != b.shape or a.tobytes() != b.tobytes():
            raise ExportError(f"{path.name} + {config.name}: do not reload to the weights written")
    return path, config


def deployment(model: keras.Model, dense: keras.Model, data: Dataset | None,
               runs: int) -> tuple[dict | None, str | None]:
    """struct-b's ``pruning.deploy.deployment_report`` when this build has it."""
    try:
        from ..deploy import deployment_report
    except ImportError:
        return None, "deployment report not available (pruning.deploy is missing in this build)"
    return deployment_report(model, dense, data, runs=runs), None


def run_structured(model: keras.Model, data: Dataset, remove: float, importance: str = "l1",
                   allocation: str = "uniform", training: Training | None = None,
                   out: str | Path | None = None, h5: str | Path | None = None,
                   report_runs: int | None = 20, checkpoint_dir: str | Path | None = None,
                   progress: Progress | None = None,
                   sensitivity_levels: Sequence[float] = SENSITIVITY_LEVELS,
                   log: Callable[[str], None] | None = None,
                   layers: Sequence[str] | None = None) -> tuple[keras.Model, dict]:
    """Prune ``model`` structurally, fine-tune when ``training.epochs`` > 0, write and check.

    Returns the final (reloaded, when written) model and a JSON-ready dict: ``params``,
    ``dense_params``, ``accuracy`` / ``test_accuracy`` (of the written file when ``out`` is
    given), ``dense_accuracy`` / ``dense_test_accuracy``, ``removed`` per producer layer,
    ``unpruned`` (layer: reason), ``epochs_run``, files and bytes, and ``deployment``
    (``pruning.deploy.deployment_report``; None with ``report_runs=None``).
    """
    say = log or (lambda _m: None)
    data = ensure_fitted(data, model)  # inputs as stored -> as the model takes them
    if out is not None:
        out = check_out(out, ".keras", "--out")
    if h5 is not None:
        h5 = check_out(h5, ".h5", "--h5")
    if data.train is None and (importance == "taylor" or (training and training.epochs)):
        raise StructureError(f"{data.name}: has no train split; taylor importance and fine-tuning need one")
    graph = analyze(model)
    ratios = None
    if allocation == "sensitivity":
        from ..sensitivity import layer_sensitivity
        from ..workbench import Workbench

        say("sensitivity scan (one layer pruned at a time)")
        wb = Workbench(keras.models.clone_model(model), data)
        wb.model.set_weights(model.get_weights())
        table = layer_sensitivity(wb, [0.0, *sensitivity_levels],
                                  layers=[p for g in graph.groups for p in g.producers])
        ratios = {p: r for g, r in zip(graph.groups, sensitivity_ratios(graph, table, remove))
                  for p in g.producers}
    res = prune_structured(model, remove, importance, allocation,
                           train=data.train, ratios=ratios, graph=graph, layers=layers)
    small, info = res.model, res.as_dict()
    info.update({"remove": remove, "importance": importance, "allocation": allocation})
    if ratios is not None:
        info["ratios"] = ratios
    dense_val = Evaluator(model, data.val)
    info["dense_accuracy"] = dense_val.evaluate().accuracy
    if data.test is not None:
        info["dense_test_accuracy"] = Evaluator(model, data.test).evaluate().accuracy
    info["epochs_run"] = 0
    if training is not None and training.epochs > 0:
        say(f"fine-tuning {training.epochs} epochs")
        small, run = finetune(small, data, training, teacher=model, progress=progress,
                              checkpoint_dir=checkpoint_dir)
        info.update({"epochs_run": run.epochs_run, "resumed": run.resumed,
                     "history": [{k: r[k] for k in ("epoch", "loss", "val_accuracy") if k in r}
                                 for r in run.history]})
    if out is not None:
        write_verified(small, out, "keras")  # reloaded and compared bit for bit first
        small = load_keras_archive(out)
        info.update({"file": str(out), "bytes": os.path.getsize(out)})
    if h5 is not None:
        h5_path, config = write_h5_with_config(small, h5)
        info.update({"h5": str(h5_path), "h5_bytes": os.path.getsize(h5_path), "config": str(config)})
    info["params"] = int(small.count_params())
    info["accuracy"] = Evaluator(small, data.val).evaluate().accuracy
    if data.test is not None:
        info["test_accuracy"] = Evaluator(small, data.test).evaluate().accuracy
    if report_runs is not None:
        say(f"deployment report ({report_runs} timed runs per figure)")
        info["deployment"], note = deployment(small, model, data, report_runs)
        if note:
            info["notes"] = info["notes"] + [note]
    return small, json.loads(json.dumps(info, default=lambda o: o.item() if hasattr(o, "item") else str(o)))

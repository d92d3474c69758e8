"""The Shrink page's glue: structured pruning of a copy of the bench's dense model.

The run is ``pruning.structured.pipeline.run_structured`` (the CLI's), so the page and
``python -m pruning structured`` report the same numbers: the smaller model is written as
``.keras`` and as ``.h5`` + ``.json``, both verified by reload, and its val / test accuracy
is that of the reloaded ``.keras`` file. The session's model is never touched: the run
starts from a fresh clone holding the bench's baseline (dense) weights. One result per
session is kept (the files are megabytes).
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import pandas as pd
import streamlit as st

from ..layers import assign_arrays
from .jobs import heavy_slot
from .session import Bench, limits

SHRINK_RESULT = "_shrink_result"  # session_state: the last Shrunk of this session
IMPORTANCE_LABELS = {"l1": "L1 norm", "l2": "L2 norm", "bn": "BatchNorm scale",
                     "taylor": "Taylor (first order)"}
ALLOCATION_LABELS = {"uniform": "Uniform", "global": "Global ranking", "sensitivity": "Sensitivity scan"}
KERAS_LOAD = 'import keras\n\nmodel = keras.models.load_model("{keras}", safe_mode=True)'
H5_LOAD = ('import keras\n\nmodel = keras.models.model_from_json(open("{json}").read())\n'
           'model.load_weights("{h5}")')


@dataclass(frozen=True)
class Shrunk:
    """A finished structured run: its JSON figures and the verified files."""

    key: tuple  # the bench's key
    settings: tuple  # (remove, importance, allocation, epochs, n_train)
    info: dict  # run_structured's dict: params, dense_params, accuracy, removed, unpruned, ...
    keras_bytes: bytes
    h5_bytes: bytes
    config_json: str
    stem: str

    @property
    def names(self) -> dict[str, str]:
        """Download file names: keras, h5, json."""
        return {"keras": f"{self.stem}.keras", "h5": f"{self.stem}.h5", "json": f"{self.stem}.json"}


def is_heavy(importance: str, allocation: str, epochs: int) -> bool:
    """Whether a run trains or scores with data (Taylor, sensitivity scan, fine-tuning)."""
    return importance == "taylor" or allocation == "sensitivity" or int(epochs) > 0


def structure_problem(b: Bench) -> str | None:
    """Why the bench's model cannot be pruned structurally, in words; None when it can.

    Computed once per bench (the graph analysis only reads the model's config).
    """
    from ..structured import StructureError, analyze

    cache = st.session_state.setdefault("_shrink_problem", {})
    if b.key not in cache:
        try:
            with b.lock:
                graph = analyze(b.wb.model)
            why = None
            if not graph.groups:
                blocked = "; ".join(f"{x.layer}: {x.reason}" for x in graph.unpruned()[:4])
                why = f"no layer can be pruned structurally ({blocked or 'no Conv/Dense layers'})"
        except StructureError as e:
            why = str(e)
        cache.clear()
        cache[b.key] = why
    return cache[b.key]


def dense_copy(b: Bench) -> keras.Model:
    """A fresh model of the bench's architecture holding its baseline (dense) weights."""
    with b.lock:
        twin = keras.models.clone_model(b.wb.model)
    assign_arrays(twin.weights, b.wb.baseline.arrays)  # weight_arrays' order
    return twin


def _data(b: Bench, n_train: int | None):
    from ..retrain import limit

    vl, tl = limits()
    train = b.wb.data.train
    n = None if train is None or n_train is None else min(int(n_train), len(train))
    return limit(b.wb.data, train=n, val=vl, test=tl)


def run_shrink(b: Bench, remove: float, importance: str, allocation: str, epochs: int = 0,
               n_train: int | None = None, progress: Callable[[int, int, dict], None] | None = None,
               log: Callable[[str], None] | None = None) -> Shrunk:
    """Prune a copy of the bench's dense model structurally (``remove``: fraction 0..1) and
    keep the result in this session. Heavy runs (``is_heavy``) take a ``HEAVY`` slot.

    Raises ``pruning.structured.StructureError`` / ``ValueError`` with a user-facing message.
    """
    from ..retrain import Training
    from ..structured.pipeline import run_structured

    data = _data(b, n_train)
    training = Training(epochs=int(epochs)) if int(epochs) > 0 else None
    stem = f"structured-{importance}-{allocation}-{100 * remove:.0f}pct"
    slot = heavy_slot("The server is busy with other heavy runs; waiting for a free slot…") \
        if is_heavy(importance, allocation, epochs) else contextlib.nullcontext()
    st.session_state.pop(SHRINK_RESULT, None)  # a cancelled run leaves no stale result
    with slot, tempfile.TemporaryDirectory() as d:
        out, h5 = Path(d) / "structured.keras", Path(d) / "structured.h5"
        _, info = run_structured(dense_copy(b), data, remove, importance, allocation, training,
                                 out, h5, report_runs=None, progress=progress, log=log)
        shrunk = Shrunk(b.key, (round(remove, 6), importance, allocation, int(epochs), n_train),
                        info, out.read_bytes(), h5.read_bytes(), h5.with_suffix(".json").read_text(),
                        stem)
    st.session_state[SHRINK_RESULT] = shrunk
    return shrunk


def shrink_result(b: Bench) -> Shrunk | None:
    """This session's last structured run on this bench, or None."""
    got = st.session_state.get(SHRINK_RESULT)
    return got if got is not None and got.key == b.key else None


def removed_frame(info: dict) -> pd.DataFrame:
    """Units per pruned producer layer (model order): layer, before, after, removed."""
    return pd.DataFrame([{"layer": k, **v} for k, v in info["removed"].items()],
                        columns=["layer", "before", "after", "removed"])


def unpruned_frame(info: dict) -> pd.DataFrame:
    """Layers left unpruned and why (from the channel graph)."""
    return pd.DataFrame([{"Layer": k, "Why it is not pruned": v} for k, v in info["unpruned"].items()],
                        columns=["Layer", "Why it is not pruned"])


def measure_deployment(b: Bench, shrunk: Shrunk) -> dict:
    """``pruning.ui.deploy.measure_models`` for the structured file (reloaded from its bytes)
    beside the dense model: counts, MACs, sizes, latency and verified .tflite files; seconds,
    in a ``HEAVY`` slot; kept with the result it belongs to (one per session)."""
    from ..models import load_model_bytes
    from .deploy import measure_models

    cache = st.session_state.setdefault("_shrink_deploy", {})
    key = (shrunk.key, shrunk.settings)
    if key not in cache:
        small = load_model_bytes(shrunk.keras_bytes, shrunk.names["keras"])
        with heavy_slot():
            got = measure_models(small, dense_copy(b), b.wb.data, b.val_limit, b.test_limit)
        cache.clear()
        cache[key] = got
    return cache[key]


def deployment_measured(b: Bench, shrunk: Shrunk) -> bool:
    """Whether ``measure_deployment`` has this result's report already."""
    return (shrunk.key, shrunk.settings) in st.session_state.get("_shrink_deploy", {})


__all__ = ["ALLOCATION_LABELS", "H5_LOAD", "IMPORTANCE_LABELS", "KERAS_LOAD", "SHRINK_RESULT",
           "Shrunk", "dense_copy", "deployment_measured", "is_heavy", "measure_deployment",
           "removed_frame", "run_shrink", "shrink_result", "structure_problem", "unpruned_frame"]

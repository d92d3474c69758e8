"""Cached results: dense and per-point evaluations, verified export bytes, stored sweeps,
and the hand-off of finished results into ``st.cache_data`` (shared, keyed by content)."""

from __future__ import annotations

import gzip
import os
import threading
from typing import Any, Callable

import pandas as pd
import streamlit as st

from ..export import verified_export_bytes
from ..frontier import DEFAULT_FLOOR
from ..oneshot import Pruned
from .format import show_error
from .session import Bench
# single forward passes (Explore): TensorFlow already uses every core for one pass, so
# queueing them keeps a busy classroom server fair instead of thrashing
EVAL = threading.Semaphore(int(os.environ.get("PRUNING_EVAL_SLOTS", "2")))
MIME = {"h5": "application/x-hdf5", "weights.h5": "application/x-hdf5", "keras": "application/zip"}
FORMAT_LABELS = {"h5": "Legacy Keras 2 .h5 (model.load_weights)", "weights.h5": "Keras 3 .weights.h5",
                 "keras": "Full model .keras"}



@st.cache_data(show_spinner=False, max_entries=64)
def dense_scores(key: tuple, _bench: Bench) -> dict:
    """Dense val/test accuracy and loss of a bench's model (cached by ``key``)."""
    with _bench.lock, EVAL:
        d = _bench.wb.dense()
    return {"val": d["val"].accuracy, "val_loss": d["val"].loss,
            "test": d["test"].accuracy if d["test"] else None,
            "params": _bench.wb.baseline.params}


@st.cache_data(show_spinner=False, max_entries=4096)
def point_val(key: tuple, method: str, scope: str, sparsity: float, _pruned: Pruned,
              _bench: Bench) -> dict:
    """Val accuracy/loss and sparsity figures of one pruned model (cached per point)."""
    with _bench.lock, EVAL:
        val = _bench.wb.val.evaluate(_pruned.arrays)
    p = _pruned
    return {"accuracy": val.accuracy, "loss": val.loss, "n": val.n, "sparsity": p.sparsity,
            "sparsity_all": p.sparsity_all, "sparsity_kernels": p.sparsity_kernels,
            "sparsity_model": p.sparsity_model,
            "nonzeros": p.nonzeros, "params": int(sum(a.size for a in p.arrays)),
            "per_array": [(a.name, a.kind, a.size, a.zeros) for a in p.per_array]}


@st.cache_data(show_spinner=False, max_entries=4096)
def point_test(key: tuple, method: str, scope: str, sparsity: float, _pruned: Pruned,
               _bench: Bench) -> float | None:
    """Test accuracy of one pruned model (None without a test split)."""
    if _bench.wb.test is None:
        return None
    with _bench.lock, EVAL:
        return _bench.wb.test.evaluate(_pruned.arrays).accuracy


def h5_bytes(b: Bench, pruned: Pruned, fmt: str = "h5") -> bytes:
    """The pruned model as file bytes in ``fmt`` ('h5' legacy, 'weights.h5', 'keras'),
    verified before they are offered: they reload bit-identical to ``pruned.arrays``
    (``pruning.export.ExportError``, a ValueError, otherwise)."""
    with b.lock:
        return verified_export_bytes(b.wb.load(pruned.arrays), fmt, pruned.arrays)


def h5_bytes_or_stop(b: Bench, pruned: Pruned, fmt: str = "h5") -> bytes:
    """``h5_bytes``, or (if the export fails its check) an error on the page, nothing offered."""
    try:
        return h5_bytes(b, pruned, fmt)
    except ValueError as e:
        show_error(e)
        st.stop()
        raise  # unreachable: st.stop() ends the script run


@st.cache_data(show_spinner=False, max_entries=4096)
def point_sizes(model_id: str, method: str, scope: str, sparsity: float, _data: bytes) -> dict:
    """Legacy .h5 size and its gzip -9 size of the given export bytes (cached per point)."""
    return {"h5_bytes": len(_data), "gzip_bytes": len(gzip.compress(_data, 9, mtime=0))}


def export_for_download(b: Bench, method: str, sparsity: float, scope: str,
                        fmt: str) -> Callable[[], bytes]:
    """A deferred download callable (runs on another thread; takes the session lock)."""
    def make() -> bytes:
        return h5_bytes(b, b.prune(method, sparsity, scope), fmt)
    return make


class _Miss(Exception):
    pass


_HANDOFF: dict[tuple, Any] = {}
_HANDOFF_LOCK = threading.Lock()


@st.cache_data(show_spinner=False, max_entries=2048)
def _result(key: tuple) -> Any:
    # Lookup-or-store through st.cache_data: a miss raises (never cached); a store
    # hands the finished value over through _HANDOFF.
    with _HANDOFF_LOCK:
        if key not in _HANDOFF:
            raise _Miss
        return _HANDOFF.pop(key)


def cached_result(key: tuple) -> Any | None:
    """A finished result (sweep / sensitivity DataFrame) stored under ``key``, or None."""
    try:
        return _result(key)
    except _Miss:
        return None


def store_result(key: tuple, value: Any) -> Any:
    """Store a finished result under ``key`` (st.cache_data, shared, copied on read)."""
    with _HANDOFF_LOCK:
        _HANDOFF[key] = value
    try:
        return _result(key)
    finally:
        with _HANDOFF_LOCK:
            _HANDOFF.pop(key, None)


@st.cache_resource(show_spinner=False)
def result_store(path: str):
    """The on-disk ``pruning.store.ResultStore`` (thread-safe; shared by all sessions)."""
    from ..store import ResultStore

    return ResultStore(path)


def adaptive_key(b: Bench, method: str, scope: str, top: float) -> tuple:
    """Cache key of an adaptive sweep."""
    return ("adaptive",) + b.key + (method, scope, round(top, 6))


def stored_sweep(b: Bench, method: str, grid: list[float], scope: str) -> pd.DataFrame | None:
    """A sweep whose every level is already in the on-disk store (None otherwise)."""
    try:
        from ..store import default_dir, sweep_key as store_key
        from ..rows import COLUMNS

        store = result_store(str(default_dir()))
        with b.lock:
            pts = store.points(store_key(b.wb, method, scope, DEFAULT_FLOOR))
    except (ImportError, OSError, ValueError):
        return None
    if pts.empty:
        return None
    by_target = {round(float(r["target"]), 6): r for r in pts.to_dict("records")}
    rows = [by_target.get(round(g, 6)) for g in grid]
    if any(r is None for r in rows):
        return None
    return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=COLUMNS)


def sweep_key(b: Bench, method: str, scope: str, grid: list[float]) -> tuple:
    """Cache key of a one-shot sweep: model hash, data, limits, method, scope, grid."""
    return ("sweep",) + b.key + (method, scope, tuple(round(g, 6) for g in grid))


def export_pruned(b: Bench, pruned: Pruned, fmt: str) -> Callable[[], bytes]:
    """A deferred download callable for given pruned weights (e.g. a retrained model)."""
    def make() -> bytes:
        return h5_bytes(b, pruned, fmt)
    return make

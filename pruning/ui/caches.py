"""Cached results: dense and per-point evaluations, verified export bytes, stored sweeps,
and the hand-off of finished results into ``st.cache_data`` (shared, keyed by content)."""

from __future__ import annotations

import gzip
import math
import os
import threading
import time
from typing import Any, Callable

import pandas as pd
import streamlit as st

from ..export import verified_export_bytes
from ..frontier import DEFAULT_FLOOR
from ..oneshot import Pruned, describe
from .format import show_error
from .shared import MISSING, RESULTS
from .warm import WARM_THREAD
from .session import Bench
# single forward passes (Explore): TensorFlow already uses every core for one pass, so
# queueing them keeps a busy classroom server fair instead of thrashing
EVAL = threading.Semaphore(int(os.environ.get("PRUNING_EVAL_SLOTS", "2")))
# the first number on a new level: small subset passes, with their own slot so they never
# queue behind the full val / test passes of other sessions
ESTIMATE = threading.Semaphore(int(os.environ.get("PRUNING_ESTIMATE_SLOTS", "1")))
ESTIMATE_N = int(os.environ.get("PRUNING_ESTIMATE_N", "500"))  # subset for the first number
MIME = {"h5": "application/x-hdf5", "weights.h5": "application/x-hdf5", "keras": "application/zip"}
FORMAT_LABELS = {"h5": "Legacy Keras 2 .h5 (model.load_weights)", "weights.h5": "Keras 3 .weights.h5",
                 "keras": "Full model .keras"}



def dense_scores(key: tuple, _bench: Bench) -> dict:
    """Dense val/test accuracy and loss of a bench's model (shared by every session by ``key``)."""
    def compute() -> dict:
        with _bench.lock, EVAL:
            d = _bench.wb.dense()
        return {"val": d["val"].accuracy, "val_loss": d["val"].loss,
                "test": d["test"].accuracy if d["test"] else None,
                "params": _bench.wb.baseline.params}
    return RESULTS.get(("dense",) + tuple(key), compute)


_LAST_ASK = [0.0]  # time.monotonic() of the last request from a session (not the warm thread)


def _asked() -> None:
    if threading.current_thread().name != WARM_THREAD:
        _LAST_ASK[0] = time.monotonic()


def idle_for(seconds: float) -> bool:
    """Whether nothing is being computed and no session asked for a result in the last
    ``seconds`` (the warm thread's cue to fill one more level)."""
    return RESULTS.in_flight == 0 and time.monotonic() - _LAST_ASK[0] >= seconds


def _point_key(kind: str, key: tuple, method: str, scope: str, sparsity: float) -> tuple:
    return (kind,) + tuple(key) + (method, scope, round(float(sparsity), 6))


def peek_val(key: tuple, method: str, scope: str, sparsity: float) -> dict | None:
    """``point_val`` if any session already computed it, else None (never computes)."""
    v = RESULTS.peek(_point_key("val", key, method, scope, sparsity))
    return None if v is MISSING else v


def peek_test(key: tuple, method: str, scope: str, sparsity: float) -> float | None:
    """``point_test`` if any session already computed it, else None (never computes)."""
    v = RESULTS.peek(_point_key("test", key, method, scope, sparsity))
    return None if v is MISSING else v


def peek_sizes(model_id: str, method: str, scope: str, sparsity: float) -> dict | None:
    """``point_sizes`` if any session already computed it, else None (never computes)."""
    v = RESULTS.peek(("sizes", model_id, method, scope, round(float(sparsity), 6)))
    return None if v is MISSING else v


INTERPOLATED = ("global", "layerwise")  # continuous in the level: neighbours bracket it
NEIGHBOUR_SPAN = 0.01  # look this far (fraction) either side for computed levels


def neighbour_estimate(key: tuple, method: str, scope: str, sparsity: float) -> dict | None:
    """Val accuracy at ``sparsity`` interpolated between the nearest levels any session (or
    the start-up warm thread) computed exactly, one on each side within ``NEIGHBOUR_SPAN``
    (0.1 % steps); None when either side is missing. Never computes: the first number of a
    new level costs nothing when its neighbours are known. Returns accuracy, low/high
    (the neighbours' values) and the two levels."""
    if method not in INTERPOLATED:
        return None
    s = round(float(sparsity), 6)
    steps = int(round(NEIGHBOUR_SPAN * 1000))

    def nearest(direction: int):
        base = (math.floor if direction < 0 else math.ceil)(s * 1000 - direction * 1e-6)
        for i in range(steps + 1):
            level = round((base + direction * i) / 1000, 6)
            if level == s or not 0.0 <= level < 1.0:
                continue
            v = peek_val(key, method, scope, level)
            if v is not None:
                return level, v["accuracy"]
        return None

    lo, hi = nearest(-1), nearest(+1)
    if lo is None or hi is None:
        return None
    w = (s - lo[0]) / (hi[0] - lo[0])
    return {"accuracy": lo[1] + w * (hi[1] - lo[1]), "low": min(lo[1], hi[1]),
            "high": max(lo[1], hi[1]), "levels": (lo[0], hi[0]), "values": (lo[1], hi[1])}


def full_figures_default() -> bool:
    """Whether Explore computes test accuracy and gzip size for every level by default
    (env ``PRUNING_EXPLORE_FULL``, default on; a class server sets 0 to keep the slider live:
    then they are computed when a student switches them on, or shown when cached)."""
    return os.environ.get("PRUNING_EXPLORE_FULL", "1").strip() != "0"


def point_val(key: tuple, method: str, scope: str, sparsity: float, _pruned: Pruned,
              _bench: Bench) -> dict:
    """Val accuracy/loss and sparsity figures of one pruned model (computed once per point,
    server-wide: identical requests from other sessions are served the same dict)."""
    _asked()
    def compute() -> dict:
        with _bench.lock, EVAL:
            val = _bench.wb.val.evaluate(_pruned.arrays)
        p = _pruned
        return {"accuracy": val.accuracy, "loss": val.loss, "n": val.n, "sparsity": p.sparsity,
                "sparsity_all": p.sparsity_all, "sparsity_kernels": p.sparsity_kernels,
                "sparsity_model": p.sparsity_model,
                "nonzeros": p.nonzeros, "params": int(sum(a.size for a in p.arrays)),
                "per_array": [(a.name, a.kind, a.size, a.zeros) for a in p.per_array]}
    return RESULTS.get(_point_key("val", key, method, scope, sparsity), compute)


def point_estimate(key: tuple, method: str, scope: str, sparsity: float, _pruned: Pruned,
                   _bench: Bench, n: int | None = None):
    """A ``pruning.estimate.Estimate`` of the val accuracy on a stratified subset of ``n``
    images (``ESTIMATE_N``), or None when that subset would be most of the split (then the
    exact figure costs about as much). Shared server-wide like ``point_val``."""
    _asked()
    n = n or ESTIMATE_N
    if n * 2 > len(_bench.wb.val.split):
        return None

    def compute():
        from ..estimate import subset_evaluator

        with _bench.lock, ESTIMATE:
            return subset_evaluator(_bench.wb, n).evaluate(_pruned.arrays)
    return RESULTS.get(_point_key(f"est{n}", key, method, scope, sparsity), compute)


def point_test(key: tuple, method: str, scope: str, sparsity: float, _pruned: Pruned,
               _bench: Bench) -> float | None:
    """Test accuracy of one pruned model (None without a test split); shared server-wide."""
    _asked()
    if _bench.wb.test is None:
        return None

    def compute() -> float:
        with _bench.lock, EVAL:
            return _bench.wb.test.evaluate(_pruned.arrays).accuracy
    return RESULTS.get(_point_key("test", key, method, scope, sparsity), compute)


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


def point_sizes(model_id: str, method: str, scope: str, sparsity: float, _data: bytes) -> dict:
    """Legacy .h5 size and its gzip -9 size of the given export bytes (once per point, server-wide)."""
    _asked()
    return RESULTS.get(("sizes", model_id, method, scope, round(float(sparsity), 6)),
                       lambda: {"h5_bytes": len(_data),
                                "gzip_bytes": len(gzip.compress(_data, 9, mtime=0))})


def peek_h5(key: tuple, method: str, scope: str, sparsity: float) -> bytes | None:
    """``point_h5`` if any session already built it, else None (never computes)."""
    v = RESULTS.peek(_point_key("h5", key, method, scope, sparsity))
    return None if v is MISSING else v


def dense_h5_size(b: Bench) -> int:
    """Bytes of the dense model's verified legacy .h5 (once per bench, server-wide): an
    uncompressed .h5 has the same size at every level, zeros included."""
    base = b.wb.baseline
    return RESULTS.get(("h5size",) + tuple(b.key),
                       lambda: len(h5_bytes(b, describe(list(base.arrays), base, "global", "all", 0.0))))


def point_h5(key: tuple, method: str, scope: str, sparsity: float, _pruned: Pruned,
             _bench: Bench) -> bytes:
    """The verified legacy .h5 of a one-shot point (``h5_bytes``), built once server-wide."""
    _asked()
    return RESULTS.get(_point_key("h5", key, method, scope, sparsity),
                       lambda: h5_bytes(_bench, _pruned, "h5"))


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

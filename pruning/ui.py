"""Streamlit glue: shared read-only caches, per-session workbenches, cached results.

The only module under ``pruning/`` that imports streamlit. Classroom rules:

- ``st.cache_resource`` (shared by every session) holds read-only things only: the
  bundled dataset and the dense ``Baseline`` of the bundled model.
- each session builds its own Keras model + ``Workbench`` (``st.session_state``); a
  per-session lock serialises use of that model (download callables run on another thread).
- uploads live in that session's ``st.session_state`` only.
- results (points, sizes, sweeps) go through ``st.cache_data`` keyed by content hashes.
- heavy work (sweeps, sensitivity, retraining) takes a slot of ``HEAVY``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import keras
import numpy as np
import pandas as pd
import streamlit as st

from .data import DataError, Dataset, load_fashion_mnist
from .export import verified_export_bytes
from .frontier import DEFAULT_FLOOR
from .masks import METHODS, SCOPES
from .methods import Baseline, Pruned, describe
from .models import ModelError, build_preset, bundled_weights, load_model
from .plots import METHOD_LABELS, SCOPE_LABELS, method_label, recipe_label, run_label
from .workbench import Workbench

__all__ = ["METHOD_LABELS", "SCOPE_LABELS", "method_label", "run_label", "HEAVY", "env_limit", "limits",
           "sidebar", "Selection", "selection", "bench", "Bench", "UserModel", "UserData",
           "dense_scores", "point_val", "point_test", "point_sizes", "export_for_download",
           "heavy_slot", "cached_result", "store_result", "add_user_model", "add_user_data",
           "DEMO_MODEL", "DEMO_DATA", "retrain_methods", "explore_methods", "RetrainEntry",
           "retrain_entries", "retrained_frame", "nearest_retrained", "run_retrain",
           "interrupted_retrain", "EXPLORE_BUDGET"]

VAL_LIMIT_ENV = "PRUNING_VAL_LIMIT"
TEST_LIMIT_ENV = "PRUNING_TEST_LIMIT"
DEMO_MODEL = "demo"
DEMO_DATA = "fashion-mnist"
DEMO_MODEL_LABEL = "Demo CNN (bundled)"
DEMO_DATA_LABEL = "Fashion-MNIST (bundled)"
HEAVY = threading.Semaphore(int(os.environ.get("PRUNING_HEAVY_SLOTS", "2")))
# single forward passes (Explore): TensorFlow already uses every core for one pass, so
# queueing them keeps a busy classroom server fair instead of thrashing
EVAL = threading.Semaphore(int(os.environ.get("PRUNING_EVAL_SLOTS", "2")))
MIME = {"h5": "application/x-hdf5", "weights.h5": "application/x-hdf5", "keras": "application/zip"}
FORMAT_LABELS = {"h5": "Legacy Keras 2 .h5 (model.load_weights)", "weights.h5": "Keras 3 .weights.h5",
                 "keras": "Full model .keras"}


def env_limit(name: str) -> int | None:
    """A positive int from the environment, or None (unset, empty or invalid)."""
    try:
        v = int(os.environ.get(name, "").strip())
    except ValueError:
        return None
    return v if v > 0 else None


def limits() -> tuple[int | None, int | None]:
    """(val_limit, test_limit) from PRUNING_VAL_LIMIT / PRUNING_TEST_LIMIT."""
    return env_limit(VAL_LIMIT_ENV), env_limit(TEST_LIMIT_ENV)


def digest(*parts: bytes | str) -> str:
    """Short content hash used as a cache key."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- the app shell

_SHELL = threading.local()


@contextlib.contextmanager
def shell() -> Iterator[None]:
    """Marks this script run as going through app.py (page config, sidebar, navigation)."""
    _SHELL.active = True
    try:
        yield
    finally:
        _SHELL.active = False


def require_shell() -> None:
    """Run the page through app.py when Streamlit started the page file on its own.

    A ``pages/`` folder beside app.py makes Streamlit run its first script run (and
    every AppTest run) in the old pages-directory mode, which executes the page file
    without app.py (no page config, no sidebar). Then this switches that mode off, runs
    app.py in place (its st.navigation runs this page again, inside the shell) and stops
    the outer run; no rerun, so button clicks of this run are kept.
    """
    if getattr(_SHELL, "active", False):
        return
    import runpy

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    PagesManager.uses_pages_directory = False
    ctx = get_script_run_ctx()
    main = ctx.pages_manager.main_script_path if ctx is not None else None
    if main is None:
        return
    runpy.run_path(str(main), run_name="__main__")
    st.stop()


# ---------------------------------------------------------------- shared, read-only

def _freeze_split(split):
    if split is not None:
        split.x.setflags(write=False)
        split.y.setflags(write=False)


@st.cache_resource(show_spinner="Loading Fashion-MNIST…")
def bundled_dataset() -> Dataset:
    """The bundled Fashion-MNIST (shared by all sessions; arrays read-only)."""
    ds = load_fashion_mnist()
    for s in (ds.train, ds.val, ds.test):
        _freeze_split(s)
    return ds


@st.cache_resource(show_spinner="Loading the demo model…")
def _demo_baseline(path: str, mtime: float) -> tuple[str, Baseline]:
    model = load_model(path, "fashion-mnist")
    with open(path, "rb") as f:
        mid = "demo-" + digest(f.read())
    return mid, Baseline.from_model(model)


def demo_baseline() -> tuple[str, Baseline]:
    """(model id, dense Baseline) of the bundled demo weights; ModelError if missing."""
    path = bundled_weights("fashion-mnist")
    if not path.exists():
        raise ModelError(f"the bundled demo weights ({path.parent.name}/{path.name}) are not there "
                         "yet; upload your own weights on the Bring your own page")
    return _demo_baseline(str(path), path.stat().st_mtime)


# ---------------------------------------------------------------- per-session uploads

@dataclass
class UserModel:
    """A model uploaded in this session (never shared): its own Keras model and baseline."""

    id: str
    label: str
    preset: str
    file_name: str
    model: keras.Model
    baseline: Baseline

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.model.input_shape[1:])

    @property
    def classes(self) -> int:
        return int(self.model.output_shape[-1])


@dataclass
class UserData:
    """A dataset uploaded in this session."""

    id: str
    label: str
    dataset: Dataset


def user_models() -> dict[str, UserModel]:
    """This session's uploaded models by id."""
    return st.session_state.setdefault("_user_models", {})


def user_data() -> dict[str, UserData]:
    """This session's uploaded datasets by id."""
    return st.session_state.setdefault("_user_data", {})


def add_user_model(content: bytes, file_name: str, preset: str) -> UserModel:
    """Load an uploaded weights file / .keras model into this session (ModelError if bad)."""
    from .models import load_model_bytes

    model = load_model_bytes(content, file_name, preset)
    is_archive = file_name.endswith(".keras")
    mid = "upload-" + digest(content, "" if is_archive else preset)
    label = f"Your model: {file_name}" + ("" if is_archive else f" ({preset})")
    um = UserModel(mid, label, preset, file_name, model, Baseline.from_model(model))
    user_models().clear()  # one upload at a time keeps a session's memory bounded
    user_models()[mid] = um
    st.session_state["_pending_model"] = mid
    return um


def add_user_data(ds: Dataset, content_hash: str, label: str) -> UserData:
    """Keep an uploaded dataset in this session and select it."""
    for s in (ds.train, ds.val, ds.test):
        _freeze_split(s)
    ud = UserData("upload-" + content_hash, f"Your data: {label}", ds)
    user_data().clear()
    user_data()[ud.id] = ud
    st.session_state["_pending_data"] = ud.id
    return ud


def forget_uploads() -> None:
    """Drop this session's uploads (and the workbench built on them)."""
    user_models().clear()
    user_data().clear()
    st.session_state.pop("_bench", None)
    for k in ("model", "data"):
        st.session_state.pop(k, None)


# ---------------------------------------------------------------- sidebar / selection

@dataclass(frozen=True)
class Selection:
    """What the sidebar selected: model and data ids, scope ('all'/'kernels'), floor."""

    model_id: str
    data_id: str
    scope: str
    floor: float


def _model_options() -> dict[str, str]:
    opts = {DEMO_MODEL: DEMO_MODEL_LABEL}
    opts.update({k: v.label for k, v in user_models().items()})
    return opts


def _data_options() -> dict[str, str]:
    opts = {DEMO_DATA: DEMO_DATA_LABEL}
    opts.update({k: v.label for k, v in user_data().items()})
    return opts


def _keep(key: str, options: dict[str, Any], default: Any) -> None:
    """Keep a sidebar choice valid (an upload can disappear) and apply pending picks."""
    pending = st.session_state.pop(f"_pending_{key}", None)
    if pending in options:
        st.session_state[key] = pending
    elif st.session_state.get(key) not in options:
        st.session_state[key] = default


def sidebar() -> Selection:
    """The shared sidebar: model, data, scope, accuracy floor. Returns the selection."""
    ss = st.session_state
    mopts, dopts = _model_options(), _data_options()
    _keep("model", mopts, DEMO_MODEL)
    _keep("data", dopts, DEMO_DATA)
    ss.setdefault("scope", SCOPE_LABELS["all"])
    ss.setdefault("floor", 100 * DEFAULT_FLOOR)
    with st.sidebar:
        st.selectbox("Model", list(mopts), format_func=mopts.__getitem__, key="model",
                     help="The bundled demo, or weights you uploaded on Bring your own "
                          "(the cmu-10605 preset needs your own weights file).")
        st.selectbox("Data", list(dopts), format_func=dopts.__getitem__, key="data",
                     help="Validation data chooses; test data is only reported.")
        st.radio("Scope", list(SCOPE_LABELS.values()), key="scope",
                 help="Which arrays are pruned and counted in the sparsity: all parameters "
                      "(kernels and biases, the seed's count) or kernels only.")
        st.number_input("Accuracy floor (%)", 0.0, 100.0, step=1.0, key="floor",
                        help="The challenge score counts only points above this val accuracy.")
        vl, tl = limits()
        if vl or tl:
            st.caption(f"Evaluation limited to {vl or 'all'} val / {tl or 'all'} test images.")
    scope = {v: k for k, v in SCOPE_LABELS.items()}[ss["scope"]]
    return Selection(ss["model"], ss["data"], scope, float(ss["floor"]) / 100)


def selection() -> Selection:
    """The current selection (the sidebar must have run this script run)."""
    ss = st.session_state
    scope = {v: k for k, v in SCOPE_LABELS.items()}.get(ss.get("scope"), "all")
    return Selection(ss.get("model", DEMO_MODEL), ss.get("data", DEMO_DATA), scope,
                     float(ss.get("floor", 100 * DEFAULT_FLOOR)) / 100)


def keep_widget_state(*keys: str) -> None:
    """Keep page widgets' values when the user visits another page and comes back."""
    for k in keys:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]


# ---------------------------------------------------------------- per-session workbench

@dataclass
class Bench:
    """This session's workbench and the ids that key every cached result about it."""

    model_id: str
    data_id: str
    wb: Workbench
    val_limit: int | None
    test_limit: int | None
    want: tuple = ()
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def key(self) -> tuple:
        return (self.model_id, self.data_id, self.val_limit, self.test_limit)

    def prune(self, method: str, sparsity: float, scope: str) -> Pruned:
        return self.wb.prune(method, sparsity, scope)


def _resolve_model(model_id: str) -> tuple[str, keras.Model, Baseline]:
    if model_id == DEMO_MODEL:
        mid, base = demo_baseline()
        model = build_preset("fashion-mnist")
        for v, a in zip(model.weights, base.arrays):
            v.assign(a)
        return mid, model, base
    um = user_models().get(model_id)
    if um is None:
        raise ModelError("the uploaded model is no longer in this session; upload it again")
    return um.id, um.model, um.baseline


def _resolve_data(data_id: str) -> tuple[str, Dataset]:
    if data_id == DEMO_DATA:
        return DEMO_DATA, bundled_dataset()
    ud = user_data().get(data_id)
    if ud is None:
        raise DataError("the uploaded data is no longer in this session; upload it again")
    return ud.id, ud.dataset


def bench_or_stop(sel: Selection) -> Bench:
    """``bench(sel)``, or the problem shown as an error and the page stopped."""
    try:
        return bench(sel)
    except (ModelError, DataError, ValueError) as e:
        show_error(e)
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def bench(sel: Selection | None = None) -> Bench:
    """This session's Bench for the selected model and data (built once, then reused).

    Raises ModelError / DataError with a user-facing message (missing file, mismatch).
    """
    sel = sel or selection()
    vl, tl = limits()
    cur: Bench | None = st.session_state.get("_bench")
    # the demo's id is its file hash, so replacing the bundled file rebuilds every bench
    mid = demo_baseline()[0] if sel.model_id == DEMO_MODEL else sel.model_id
    want = (mid, sel.data_id, vl, tl)
    if cur is not None and cur.want == want:
        return cur
    st.session_state.pop("_bench", None)  # drop the old model before building a new one
    mid, model, base = _resolve_model(sel.model_id)
    did, ds = _resolve_data(sel.data_id)
    wb = Workbench(model, ds, val_limit=vl, test_limit=tl, baseline=base)
    b = Bench(mid, did, wb, vl, tl, want)
    st.session_state["_bench"] = b
    return b


# ---------------------------------------------------------------- cached results

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


# ---------------------------------------------------------------- heavy work and result cache

@contextlib.contextmanager
def heavy_slot(wait_message: str = "The server is busy with other sweeps; waiting for a free "
               "slot…") -> Iterator[None]:
    """Hold one of the ``HEAVY`` slots; says so on the page while waiting."""
    if not HEAVY.acquire(blocking=False):
        note = st.info(wait_message, icon="⏳")
        HEAVY.acquire()
        note.empty()
    try:
        yield
    finally:
        HEAVY.release()


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
    from .store import ResultStore

    return ResultStore(path)


def run_sweep(b: Bench, method: str, grid: list[float], scope: str,
              progress: Callable[[int, int, dict], None] | None = None) -> pd.DataFrame:
    """A one-shot sweep on this session's bench; levels already in the on-disk store are
    served from it and each new level is committed as it finishes (when the store is there).
    """
    try:
        from .store import default_dir, resumable_sweep

        store = result_store(str(default_dir()))
    except (ImportError, OSError, ValueError) as e:  # no store: plain sweep, still cached in memory
        if not isinstance(e, ImportError):
            st.warning(f"The result store is not available ({e}); results are kept in memory only.")
        with b.lock:
            return b.wb.sweep(method, grid, scope, DEFAULT_FLOOR, progress)
    with b.lock:
        return resumable_sweep(b.wb, store, method, grid, scope, DEFAULT_FLOOR, progress)


def run_adaptive(b: Bench, method: str, scope: str, top: float,
                 progress: Callable[[int, int, dict], None] | None = None) -> pd.DataFrame:
    """Every whole percent from 0 to ``top`` by the adaptive fill (``pruning.adaptive``):
    full evaluations where accuracy moves, the levels between filled from the images that
    may change there (rows with ``exact`` False). In memory only: filled rows are not
    exact, so they never enter the on-disk store of exact levels."""
    from .adaptive import adaptive_sweep

    with b.lock:
        return adaptive_sweep(b.wb, method, scope, hi=top, fill=True, progress=progress,
                              floor=DEFAULT_FLOOR)


def adaptive_top(top_pct: float) -> float:
    """The adaptive sweep's last level: ``top_pct`` down to a whole percent, at most 99 %."""
    return fraction(min(99.0, float(int(top_pct + 1e-9))))


def adaptive_key(b: Bench, method: str, scope: str, top: float) -> tuple:
    """Cache key of an adaptive sweep."""
    return ("adaptive",) + b.key + (method, scope, round(top, 6))


def stored_sweep(b: Bench, method: str, grid: list[float], scope: str) -> pd.DataFrame | None:
    """A sweep whose every level is already in the on-disk store (None otherwise)."""
    try:
        from .store import default_dir, sweep_key as store_key
        from .sweep import COLUMNS

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


def sweep_grid(step_pct: float, top_pct: float) -> list[float]:
    """Fractions 0, step, 2*step, ... up to ``top_pct`` (percent), ``top_pct`` itself included."""
    n = int(top_pct / step_pct + 1e-9)
    levels = {round(k * step_pct, 6) for k in range(n + 1)} | {round(top_pct, 6)}
    return [fraction(v) for v in sorted(levels)]


def fraction(percent: float) -> float:
    """UI percent -> API fraction, rounded so equal sliders give equal cache keys."""
    return round(float(percent) / 100.0, 6)


def fmt_pct(x: float | None, digits: int = 2) -> str:
    """0.8734 -> '87.34 %' ('—' for None/NaN)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    return f"{100 * x:.{digits}f} %"


def fmt_bytes(n: int) -> str:
    """Human-readable byte count."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"


def show_error(e: BaseException) -> None:
    """A user-facing st.error for an expected problem (ModelError, DataError, ValueError)."""
    st.error(str(e) or type(e).__name__, icon="🚫")


def methods_available() -> list[str]:
    """One-shot methods every page can run ('global', 'layerwise')."""
    return list(METHODS)


def scopes() -> tuple[str, ...]:
    return SCOPES


def as_frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Rows collected from progress callbacks as a DataFrame with fixed columns."""
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------- retraining

RUNNING = "_rt_running"  # set before a retraining run starts, cleared when it ends (not on cancel)
TRAINING_OPTIONS = ("lr_schedule", "adjust_dropout", "distill")  # Training fields the Retrain page sets
EXPLORE_BUDGET = {"epochs": 1, "train": 5000}  # Explore's one-click retraining


def retrain_methods() -> list[str]:
    """Retraining methods ('freeze', 'masked', 'gradual', 'imp'); empty without pruning.retrain."""
    try:
        from .retrain import RETRAIN_METHODS
    except ImportError:
        return []
    return list(RETRAIN_METHODS)


def explore_methods() -> list[str]:
    """Explore's method list: the one-shot methods first, then the retraining ones."""
    return methods_available() + retrain_methods()


@dataclass(frozen=True)
class RetrainEntry:
    """A finished retraining run on this session's bench: its numbers and pruned weights."""

    method: str
    scope: str
    target: float
    epochs: int  # per phase (the budget asked for)
    n_train: int
    pruned: Pruned
    accuracy: float  # val
    loss: float  # val
    n_val: int
    test_accuracy: float | None
    epochs_run: int
    seconds: float
    history: tuple[dict, ...]
    uid: str
    options: dict = field(default_factory=dict)  # training options changed from their defaults

    @property
    def sparsity(self) -> float:
        return self.pruned.sparsity

    @property
    def recipe(self) -> str:
        """The changed training options in words ('' for the default recipe)."""
        return recipe_label(self.options)

    def row(self) -> dict:
        """A frontier row (the columns of a sweep, plus test accuracy and the recipe)."""
        return {"method": self.method, "scope": self.scope, "target": self.target,
                "sparsity": self.sparsity, "accuracy": self.accuracy, "loss": self.loss,
                "test_accuracy": self.test_accuracy, "recipe": self.recipe}


def retrain_entries(key: tuple) -> list[RetrainEntry]:
    """This session's finished retraining runs on the bench with ``key`` (oldest first)."""
    return st.session_state.setdefault("_rt_entries", {}).setdefault(key, [])


def _keep_entry(key: tuple, e: RetrainEntry) -> None:
    entries = retrain_entries(key)
    entries[:] = [o for o in entries if o.uid != e.uid] + [e]


def entry_val(e: RetrainEntry) -> dict:
    """The dict ``point_val`` returns, for a retraining result."""
    p = e.pruned
    return {"accuracy": e.accuracy, "loss": e.loss, "n": e.n_val, "sparsity": p.sparsity,
            "sparsity_all": p.sparsity_all, "sparsity_kernels": p.sparsity_kernels,
            "nonzeros": p.nonzeros, "params": int(sum(a.size for a in p.arrays)),
            "per_array": [(a.name, a.kind, a.size, a.zeros) for a in p.per_array]}


def _store():
    from .store import default_dir

    return result_store(str(default_dir()))


def _hashes(b: Bench) -> tuple[str, str]:
    """(model, val data) hashes of a bench as the store keys them (computed once per bench)."""
    if getattr(b, "_store_hashes", None) is None:
        from .store import hash_arrays

        split = b.wb.val.split
        b._store_hashes = (hash_arrays(b.wb.baseline.arrays), hash_arrays([split.x, split.y]))
    return b._store_hashes


def training_defaults() -> dict:
    """``TRAINING_OPTIONS`` with their ``pruning.retrain.Training`` defaults."""
    from .retrain import Training

    default = Training()
    return {k: getattr(default, k) for k in TRAINING_OPTIONS}


def _changed_options(options: dict | None) -> dict:
    """The training options (``TRAINING_OPTIONS`` keys) that differ from their defaults."""
    defaults = training_defaults()
    return {k: v for k, v in (options or {}).items() if defaults.get(k, v) != v}


def _store_key(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
               options: dict | None = None):
    from .store import RunKey, canonical_json, code_version, hash_arrays

    train = b.wb.data.train
    n = min(int(n_train), len(train))
    params = {"kind": "retrain", "scope": scope, "target": round(float(target), 6),
              "epochs": int(epochs), "n_train": n, "train": hash_arrays([train.x[:n], train.y[:n]]),
              "test_limit": b.test_limit} | _changed_options(options)
    return RunKey(*_hashes(b), method, canonical_json(params), code_version())


def stored_retrains(b: Bench, scope: str) -> list[tuple[Any, dict]]:
    """(RunKey, meta) of every retraining result in the on-disk store for this bench's model,
    val data and test limit in ``scope`` (any session, any earlier server run)."""
    import sqlite3

    try:
        from .store import RunKey, code_version

        store = _store()
        model, data = _hashes(b)
        # the store has no listing call: read its results table directly
        found = store._read("SELECT u.method, u.params, r.meta FROM results r JOIN runs u ON u.id = r.run "
                            "WHERE u.model = ? AND u.data = ? AND u.version = ? ORDER BY r.created",
                            (model, data, code_version()))
    except (ImportError, OSError, ValueError, sqlite3.Error):
        return []
    out = []
    for method, params, meta in found:
        p = json.loads(params)
        if p.get("kind") == "retrain" and p.get("scope") == scope and p.get("test_limit") == b.test_limit:
            out.append((RunKey(model, data, method, params, code_version()), json.loads(meta)))
    return out


def _key_options(key: Any) -> dict:
    """The changed training options a retraining run's store key holds."""
    params = json.loads(key.params)
    return {k: params[k] for k in TRAINING_OPTIONS if k in params}


def _meta_row(key: Any, meta: dict) -> dict:
    return {"method": key.method, "scope": meta["scope"], "target": float(meta["target"]),
            "sparsity": float(meta["sparsity"]), "accuracy": float(meta["accuracy"]),
            "loss": float(meta["loss"]), "test_accuracy": meta.get("test_accuracy"),
            "recipe": recipe_label(_key_options(key)), "uid": key.id}


def retrained_frame(b: Bench, scope: str) -> pd.DataFrame:
    """Finished retraining runs of this bench in ``scope`` as frontier rows: this session's
    and those in the on-disk store."""
    rows = {e.uid: e.row() for e in retrain_entries(b.key) if e.scope == scope}
    for key, meta in stored_retrains(b, scope):
        rows.setdefault(key.id, _meta_row(key, meta))
    return pd.DataFrame(list(rows.values()), columns=["method", "scope", "target", "sparsity",
                                                      "accuracy", "loss", "test_accuracy", "recipe"])


def nearest_retrained(b: Bench, method: str, scope: str, target: float,
                      tol: float = 0.005) -> RetrainEntry | None:
    """The finished run of ``method`` whose achieved sparsity is nearest ``target`` (within
    ``tol``), from this session or the on-disk store (then loaded into this session)."""
    mine = {e.uid: e for e in retrain_entries(b.key) if e.method == method and e.scope == scope}
    cands = [(abs(e.sparsity - target), -e.epochs, e.uid, None) for e in mine.values()]
    for key, meta in stored_retrains(b, scope):
        if key.method == method and key.id not in mine:
            cands.append((abs(float(meta["sparsity"]) - target), -int(meta.get("epochs", 0)),
                          key.id, (key, meta)))
    cands = [c for c in cands if c[0] <= tol + 1e-9]
    if not cands:
        return None
    _, _, uid, stored = min(cands, key=lambda c: c[:2])
    if stored is None:
        return mine[uid]
    key, meta = stored
    try:
        with b.lock:
            found = _store().load_result(key)
        if found is None:
            return None
        pruned = describe(list(found[0]), b.wb.baseline, method, scope, float(meta["target"]))
    except (ImportError, OSError, ValueError, IndexError):
        return None
    e = RetrainEntry(method, scope, float(meta["target"]), int(meta.get("epochs", 0)),
                     int(meta.get("n_train", 0)), pruned, float(meta["accuracy"]), float(meta["loss"]),
                     int(meta.get("n_val", 0)), meta.get("test_accuracy"),
                     int(meta.get("epochs_run", 0)), float(meta.get("seconds", 0.0)),
                     tuple(meta.get("history", ())), key.id, _key_options(key))
    _keep_entry(b.key, e)
    return e


CHECKPOINT_ROOT = "pruning-dashboard-retrain"  # under the temp dir: one folder per run
CHECKPOINT_TTL_S = 24 * 3600  # a cancelled run stays resumable this long after its last epoch


def clean_stale_checkpoints(max_age_s: float = CHECKPOINT_TTL_S) -> int:
    """Delete retraining checkpoints of any session untouched for ``max_age_s``; returns how many.

    A cancelled run keeps its checkpoint so that starting it again resumes; on a shared server
    those of runs nobody resumes would otherwise pile up in the temp dir."""
    import time

    root = Path(tempfile.gettempdir()) / CHECKPOINT_ROOT
    now, gone = time.time(), 0
    try:
        runs = [d for d in root.iterdir() if d.is_dir()]
    except OSError:
        return 0
    for d in runs:
        try:
            touched = max([d.stat().st_mtime] + [f.stat().st_mtime for f in d.iterdir()])
        except OSError:
            continue
        if now - touched > max_age_s:
            shutil.rmtree(d, ignore_errors=True)
            gone += not d.exists()
    return gone


def checkpoint_dir(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
                   options: dict | None = None) -> Path:
    """Where a run checkpoints each finished epoch: per session, bench, method, target, budget
    and training options."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    sid = ctx.session_id if ctx is not None else "no-session"
    run = digest(sid, repr(b.key), method, scope, f"{target:.6f}", str(epochs), str(n_train),
                 *[f"{k}={v}" for k, v in sorted(_changed_options(options).items())])
    return Path(tempfile.gettempdir()) / CHECKPOINT_ROOT / run


def checkpoint_history(path: str | Path) -> list[dict]:
    """The epoch rows a checkpoint directory holds (empty when there is none or it is unreadable)."""
    from .retrain import CHECKPOINT

    f = Path(path) / CHECKPOINT
    try:
        with np.load(f, allow_pickle=False) as z:
            return list(json.loads(str(z["meta"]))["history"])
    except (OSError, ValueError, KeyError):
        return []


def checkpoint_epochs(path: str | Path) -> int:
    """Epochs a checkpoint directory holds (0 when there is none or it is unreadable)."""
    return len(checkpoint_history(path))


def interrupted_retrain() -> dict | None:
    """The run this session started and never finished (cancelled or cut off), or None.

    Keys: key, method, target, scope, epochs, n_train, checkpoint, epochs_done.
    """
    run = st.session_state.get(RUNNING)
    if run is None:
        return None
    return dict(run, epochs_done=checkpoint_epochs(run["checkpoint"]))


def run_retrain(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
                progress: Callable[[int, int, dict], None] | None = None,
                options: dict | None = None):
    """Retrain on this session's bench; resumes from this session's checkpoint of the same run.

    Sets ``st.session_state[RUNNING]`` first and clears it only when the run ends (done or
    failed), so a run stopped by a widget click (Cancel) leaves the flag and no result. On
    success the run joins ``retrain_entries`` and the on-disk store and its checkpoint goes;
    checkpoints (any session's) untouched for ``CHECKPOINT_TTL_S`` go before a run starts.
    ``options``: ``Training`` fields from ``TRAINING_OPTIONS`` (learning-rate schedule,
    dropout adjustment, distillation from the dense model).
    Returns (RetrainResult, RetrainEntry); raises RetrainError / ValueError.
    """
    from . import retrain as R

    vl, tl = limits()
    n_train = min(int(n_train), len(b.wb.data.train))
    data = R.limit(b.wb.data, train=n_train, val=vl, test=tl)
    options = _changed_options(options)
    clean_stale_checkpoints()
    ckpt = checkpoint_dir(b, method, target, scope, epochs, n_train, options)
    st.session_state[RUNNING] = {"key": b.key, "method": method, "target": target, "scope": scope,
                                 "epochs": int(epochs), "n_train": n_train, "checkpoint": str(ckpt)}
    try:
        with heavy_slot("The server is busy with other heavy runs; waiting for a free slot…"), b.lock:
            start = b.prune("global", target, scope) if method == "masked" else b.wb.baseline.arrays
            # retrain trains a copy from ``start``; the model it is given is the distillation
            # teacher, so it must hold the dense weights, not whatever the bench evaluated last
            model = b.wb.load(b.wb.baseline.arrays)
            res = R.retrain(model, data, method, target, R.Training(epochs=int(epochs), **options),
                            scope=scope, progress=progress, checkpoint_dir=ckpt, start=start)
    except (R.RetrainError, ValueError):
        st.session_state.pop(RUNNING, None)
        shutil.rmtree(ckpt, ignore_errors=True)  # a checkpoint that does not fit would fail again
        raise
    key = _store_key(b, method, target, scope, epochs, n_train, options)
    e = RetrainEntry(method, scope, float(target), int(epochs), n_train, res.pruned,
                     res.val.accuracy, res.val.loss, res.val.n,
                     res.test.accuracy if res.test is not None else None, res.epochs_run,
                     res.seconds, tuple(res.history), key.id, options)
    _keep_entry(b.key, e)
    try:
        meta = res.as_dict() | {"n_val": res.val.n, "epochs": int(epochs), "n_train": n_train,
                                "history": list(res.history)}
        with b.lock:
            _store().save_result(key, list(res.arrays), meta)
    except (ImportError, OSError, ValueError, TypeError) as err:
        st.warning(f"The retrained model is kept in this session only ({err}).")
    shutil.rmtree(ckpt, ignore_errors=True)
    st.session_state.pop(RUNNING, None)
    return res, e


def export_pruned(b: Bench, pruned: Pruned, fmt: str) -> Callable[[], bytes]:
    """A deferred download callable for given pruned weights (e.g. a retrained model)."""
    def make() -> bytes:
        return h5_bytes(b, pruned, fmt)
    return make

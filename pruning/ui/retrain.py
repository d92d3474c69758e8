"""Retraining from the dashboard: runs, their checkpoints, and finished runs from this
session and from the on-disk result store."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

from ..oneshot import Pruned, describe
from ..labels import recipe_label
from .caches import result_store
from .jobs import heavy_slot, methods_available
from .session import Bench, digest, limits



RUNNING = "_rt_running"  # set before a retraining run starts, cleared when it ends (not on cancel)
TRAINING_OPTIONS = ("lr_schedule", "adjust_dropout", "distill")  # Training fields the Retrain page sets
EXPLORE_BUDGET = {"epochs": 1, "train": 5000}  # Explore's one-click retraining


def retrain_methods() -> list[str]:
    """Retraining methods ('freeze', 'masked', 'gradual', 'imp')."""
    from ..retrain import RETRAIN_METHODS

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
                "test_accuracy": self.test_accuracy, "recipe": self.recipe,
                "sparsity_model": self.pruned.sparsity_model}


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
            "sparsity_model": p.sparsity_model,
            "nonzeros": p.nonzeros, "params": int(sum(a.size for a in p.arrays)),
            "per_array": [(a.name, a.kind, a.size, a.zeros) for a in p.per_array]}


def _store():
    from ..store import default_dir

    return result_store(str(default_dir()))


def _hashes(b: Bench) -> tuple[str, str]:
    """(model, val data) hashes of a bench as the store keys them (computed once per bench)."""
    if b.store_hashes is None:
        from ..store import hash_arrays

        split = b.wb.val.split
        b.store_hashes = (hash_arrays(b.wb.baseline.arrays), hash_arrays([split.x, split.y]))
    return b.store_hashes


def training_defaults() -> dict:
    """``TRAINING_OPTIONS`` with their ``pruning.retrain.Training`` defaults."""
    from ..retrain import Training

    default = Training()
    return {k: getattr(default, k) for k in TRAINING_OPTIONS}


def _changed_options(options: dict | None) -> dict:
    """The training options (``TRAINING_OPTIONS`` keys) that differ from their defaults."""
    defaults = training_defaults()
    return {k: v for k, v in (options or {}).items() if defaults.get(k, v) != v}


def _store_key(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
               options: dict | None = None):
    from ..store import RunKey, canonical_json, code_version, hash_arrays

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
        from ..store import RunKey, code_version

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
    from ..retrain import CHECKPOINT

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
    from .. import retrain as R

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

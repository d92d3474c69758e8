"""Retraining from the dashboard: runs, their checkpoints, and finished runs from this
session and from the on-disk result store."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import streamlit as st

from ..oneshot import Pruned, describe
from ..labels import budget_label, budgets_in_recipes, recipe_label
from .caches import result_store
from .jobs import HEAVY, heavy_slot, methods_available
from .session import Bench, digest



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
    from_store: bool = False  # served from the on-disk store (trained before, here or by the CLI)
    seed: int = 0  # ``Training.seed`` of the run

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
                "budget": budget_label(self.epochs, self.n_train),
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


def training_defaults() -> dict:
    """``TRAINING_OPTIONS`` with their ``pruning.retrain.Training`` defaults."""
    from ..retrain import Training

    default = Training()
    return {k: getattr(default, k) for k in TRAINING_OPTIONS}


def _changed_options(options: dict | None) -> dict:
    """The training options (``TRAINING_OPTIONS`` keys) that differ from their defaults."""
    defaults = training_defaults()
    return {k: v for k, v in (options or {}).items() if defaults.get(k, v) != v}


def run_request(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
                options: dict | None = None, seed: int | None = None):
    """The ``pruning.runs.RunRequest`` of a dashboard run: the CLI's ``retrain`` with
    ``--epochs epochs --train-limit n_train --seed seed`` (and the bench's val/test limits)
    asks the same (``seed`` None: ``Training``'s default, what a single Retrain-page run uses)."""
    from ..retrain import Training
    from ..runs import RunRequest

    n = min(int(n_train), len(b.wb.data.train))
    return RunRequest(method, float(target), scope, Training(epochs=int(epochs), **_changed_options(options)),
                      train_limit=n, val_limit=b.val_limit, test_limit=b.test_limit, seed=seed)


def stored_retrains(b: Bench, scope: str) -> list:
    """``pruning.runs.StoredRun`` of every retraining result in the on-disk store from this
    bench's dense weights, val and test data in ``scope`` (any session, any earlier server
    run, or the CLI)."""
    import sqlite3

    try:
        from ..runs import stored_runs

        if b.store_hashes is None:  # the bench's data hashes, computed once per bench
            from ..runs import listing_hashes

            b.store_hashes = listing_hashes(b.wb.baseline.arrays, b.wb.data, b.val_limit, b.test_limit)
        found = stored_runs(_store(), hashes=b.store_hashes)
    except (ImportError, OSError, ValueError, sqlite3.Error):
        return []
    return [r for r in found if r.scope == scope]


def _recipe_options(stored) -> dict:
    """The changed training options of a stored run (``TRAINING_OPTIONS`` keys)."""
    t = stored.training
    return _changed_options({k: getattr(t, k) for k in TRAINING_OPTIONS})


def _meta_row(stored) -> dict:
    meta = stored.meta
    return {"method": stored.method, "scope": meta["scope"], "target": float(meta["target"]),
            "sparsity": float(meta["sparsity"]), "accuracy": float(meta["accuracy"]),
            "loss": float(meta["loss"]), "test_accuracy": meta.get("test_accuracy"),
            "recipe": recipe_label(_recipe_options(stored)), "uid": stored.key.id,
            "seed": int(stored.training.seed), "epochs": int(meta.get("epochs", stored.training.epochs)),
            "n_train": int(meta.get("n_train", 0)),
            "budget": budget_label(meta.get("epochs", stored.training.epochs), meta.get("n_train", 0))}



def _entry(b: Bench, method: str, scope: str, meta: dict, arrays, uid: str, options: dict,
           from_store: bool, seed: int) -> RetrainEntry:
    pruned = describe(list(arrays), b.wb.baseline, method, scope, float(meta["target"]))
    return RetrainEntry(method, scope, float(meta["target"]), int(meta.get("epochs", 0)),
                        int(meta.get("n_train", 0)), pruned, float(meta["accuracy"]), float(meta["loss"]),
                        int(meta.get("n_val", 0)), meta.get("test_accuracy"),
                        int(meta.get("epochs_run", 0)), float(meta.get("seconds", 0.0)),
                        tuple(meta.get("history", ())), uid, options, from_store, int(seed))


def retrained_frame(b: Bench, scope: str) -> pd.DataFrame:
    """Finished retraining runs of this bench in ``scope`` as frontier rows: this session's
    and those in the on-disk store."""
    rows = {e.uid: e.row() | {"seed": e.seed, "epochs": e.epochs, "n_train": e.n_train}
            for e in retrain_entries(b.key) if e.scope == scope}
    for stored in stored_retrains(b, scope):
        rows.setdefault(stored.key.id, _meta_row(stored))
    return pd.DataFrame(budgets_in_recipes(list(rows.values())),
                        columns=["method", "scope", "target", "sparsity", "accuracy", "loss",
                                 "test_accuracy", "recipe", "seed", "epochs", "n_train"])


def nearest_retrained(b: Bench, method: str, scope: str, target: float,
                      tol: float = 0.005) -> RetrainEntry | None:
    """The finished run of ``method`` whose achieved sparsity is nearest ``target`` (within
    ``tol``), from this session or the on-disk store (then loaded into this session)."""
    mine = {e.uid: e for e in retrain_entries(b.key) if e.method == method and e.scope == scope}
    cands = [(abs(e.sparsity - target), -e.epochs, e.uid, None) for e in mine.values()]
    for stored in stored_retrains(b, scope):
        if stored.method == method and stored.key.id not in mine:
            meta = stored.meta
            cands.append((abs(float(meta["sparsity"]) - target), -int(meta.get("epochs", 0)),
                          stored.key.id, stored))
    cands = [c for c in cands if c[0] <= tol + 1e-9]
    if not cands:
        return None
    _, _, uid, stored = min(cands, key=lambda c: c[:2])
    if stored is None:
        return mine[uid]
    try:
        from ..runs import load_stored

        with b.lock:
            arrays = load_stored(_store(), stored)
        if arrays is None:
            return None
        e = _entry(b, method, scope, stored.meta, arrays, stored.key.id, _recipe_options(stored), True,
                   stored.training.seed)
    except (ImportError, OSError, ValueError, IndexError):
        return None
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


def run_id(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
           options: dict | None = None) -> str:
    """The id of a run's settings: bench (model, data, limits), method, target, scope, budget
    and changed training options. Any session asking the same settings gets the same id."""
    return digest(repr(b.key), method, scope, f"{target:.6f}", str(epochs), str(n_train),
                  *[f"{k}={v}" for k, v in sorted(_changed_options(options).items())])


def checkpoint_dir(b: Bench, method: str, target: float, scope: str, epochs: int, n_train: int,
                   options: dict | None = None) -> Path:
    """Where a run checkpoints each finished epoch: one folder per run settings (``run_id``),
    shared by every session, so a run cut off in one browser resumes in another."""
    return Path(tempfile.gettempdir()) / CHECKPOINT_ROOT / run_id(b, method, target, scope, epochs,
                                                                   n_train, options)


def start_background_retrain(b: Bench, method: str, target: float, scope: str, epochs: int,
                             n_train: int, options: dict | None = None):
    """Start (or join) the server-owned run with these settings (``ui.background``): it keeps
    going when the page is left, resumes from the settings' checkpoint, and is served from
    the on-disk store when it was trained before. Returns the ``BackgroundRun``."""
    import keras

    from .. import runs
    from .background import background_run, start_run

    options = _changed_options(options)
    req = run_request(b, method, target, scope, epochs, n_train, options)
    rid = run_id(b, method, target, scope, epochs, req.train_limit, options)
    cur = background_run(rid)
    if cur is not None and cur.running:
        return cur
    clean_stale_checkpoints()
    ckpt = checkpoint_dir(b, method, target, scope, epochs, req.train_limit, options)
    try:
        store = _store()
    except (OSError, ValueError):
        store = None
    with b.lock:  # the run's own model: the session keeps using its model meanwhile
        model = keras.models.clone_model(b.wb.model)
        model.set_weights(list(b.wb.baseline.arrays))
    data = b.wb.data
    info = {"key": b.key, "method": method, "target": float(target), "scope": scope,
            "epochs": int(epochs), "n_train": req.train_limit, "checkpoint": str(ckpt),
            "options": options, "resumed": checkpoint_epochs(ckpt), "seed": int(req.seed)}

    def work(progress):
        with HEAVY:  # a server thread: no page to say "waiting" on; the page shows "Waiting…"
            return runs.run(req, model, data, store=store, progress=progress, checkpoint_dir=ckpt)
    return start_run(rid, info, work)


def finished_entry(b: Bench, run) -> "RetrainEntry | None":
    """This session's ``RetrainEntry`` for a finished background run (kept in its entries;
    the run's checkpoint goes); None while it runs or when it ended without a result."""
    done = run.result
    if done is None or run.info["key"] != b.key:
        return None
    info = run.info
    e = _entry(b, info["method"], info["scope"], done.meta, done.arrays, done.key.id,
               info["options"], done.from_store, info.get("seed", 0))
    if all(x.uid != e.uid for x in retrain_entries(b.key)):
        _keep_entry(b.key, e)
    shutil.rmtree(info["checkpoint"], ignore_errors=True)
    return e


def checkpoint_history(path: str | Path) -> list[dict]:
    """The epoch rows a checkpoint directory holds (empty when there is none or it is unreadable)."""
    from ..retrain import checkpoint_history as history

    return history(path)


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
    """Retrain on this session's bench through ``pruning.runs`` (served from the on-disk store
    when the same run was trained before, here or by the CLI); resumes from this session's
    checkpoint of the same run.

    Sets ``st.session_state[RUNNING]`` first and clears it only when the run ends (done or
    failed), so a run stopped by a widget click (Cancel) leaves the flag and no result. On
    success the run joins ``retrain_entries`` and the on-disk store and its checkpoint goes;
    checkpoints (any session's) untouched for ``CHECKPOINT_TTL_S`` go before a run starts.
    ``options``: ``Training`` fields from ``TRAINING_OPTIONS`` (learning-rate schedule,
    dropout adjustment, distillation from the dense model).
    Returns (``pruning.runs.RunResult``, RetrainEntry); raises RetrainError / ValueError.
    """
    from .. import retrain as R
    from .. import runs

    options = _changed_options(options)
    req = run_request(b, method, target, scope, epochs, n_train, options)
    clean_stale_checkpoints()
    ckpt = checkpoint_dir(b, method, target, scope, epochs, req.train_limit, options)
    st.session_state[RUNNING] = {"key": b.key, "method": method, "target": target, "scope": scope,
                                 "epochs": int(epochs), "n_train": req.train_limit, "checkpoint": str(ckpt)}
    try:
        store = _store()
    except (OSError, ValueError) as err:
        store = None
        st.warning(f"The result store is unavailable ({err}); the run is kept in this session only.")
    try:
        with heavy_slot("The server is busy with other heavy runs; waiting for a free slot…"), b.lock:
            # the dense weights: the start (masked prunes them to the target itself) and the
            # distillation teacher, not whatever the bench evaluated last
            model = b.wb.load(b.wb.baseline.arrays)
            done = runs.run(req, model, b.wb.data, store=store, progress=progress, checkpoint_dir=ckpt)
    except (R.RetrainError, ValueError):
        st.session_state.pop(RUNNING, None)
        shutil.rmtree(ckpt, ignore_errors=True)  # a checkpoint that does not fit would fail again
        raise
    for w in done.warnings:
        st.warning(f"The retrained model is kept in this session only ({w}).")
    e = _entry(b, method, scope, done.meta, done.arrays, done.key.id, options, done.from_store, req.seed)
    _keep_entry(b.key, e)
    shutil.rmtree(ckpt, ignore_errors=True)
    st.session_state.pop(RUNNING, None)
    return done, e


def oneshot_vs_retrained(b: Bench, e: RetrainEntry) -> str:
    """'one-shot X % -> retrained Y %': val accuracy of M1 (global magnitude, no retraining)
    at the run's target and scope beside the retrained run's, so the gain is in one line."""
    from .caches import point_val

    pruned = b.prune("global", e.target, e.scope)
    one = point_val(b.key, "global", e.scope, e.target, _pruned=pruned, _bench=b)
    return (f"Val accuracy one-shot {100 * one['accuracy']:.2f} % → retrained "
            f"{100 * e.accuracy:.2f} % at {100 * e.target:.1f} % target "
            f"({100 * (e.accuracy - one['accuracy']):+.2f} pp; one-shot = global magnitude, M1).")


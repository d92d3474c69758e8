"""Embedded result store: sweep points as they finish, retrain results as .npz files.

A store is a directory (default ``~/.cache/pruning-dashboard``, or ``$PRUNING_STORE_DIR``):

    results.sqlite      SQLite in WAL mode: runs, points (one row per finished level), results
    arrays/<run>.npz    weights of finished retrain results, written atomically

A run is keyed by what decides its numbers: the model (sha256 of the dense weight bytes),
the data (sha256 of the validation arrays), the method, its parameters as canonical JSON
(scope, floor, ...) and the code version. Each finished level is committed on its own, so
a sweep killed half-way keeps its finished points and a rerun computes only the rest.

Example::

    store = ResultStore(tmp_dir)
    df = resumable_sweep(workbench, store, "global", [0.5, 0.9])   # computes 2 levels
    df = resumable_sweep(workbench, store, "global", [0.5, 0.9])   # served: df.attrs["from_store"] == 2
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np
import pandas as pd

from .atomic import atomic_write
from .frontier import DEFAULT_FLOOR
from .masks import check_sparsity
from .rows import COLUMNS, Progress
from .sweep import sweep

if TYPE_CHECKING:
    from .workbench import Workbench

DB_NAME = "results.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, model TEXT NOT NULL, data TEXT NOT NULL, method TEXT NOT NULL,
    params TEXT NOT NULL, version TEXT NOT NULL, complete INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    run TEXT NOT NULL REFERENCES runs(id), target REAL NOT NULL, row TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (run, target));
CREATE TABLE IF NOT EXISTS results (
    run TEXT PRIMARY KEY REFERENCES runs(id), file TEXT NOT NULL, meta TEXT NOT NULL,
    created REAL NOT NULL);
"""


def default_dir() -> Path:
    """``$PRUNING_STORE_DIR`` if set, else ``~/.cache/pruning-dashboard``."""
    env = os.environ.get("PRUNING_STORE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pruning-dashboard"


def code_version() -> str:
    """``pruning.__version__``: results from other code versions are never reused."""
    import pruning

    return str(pruning.__version__)


def hash_arrays(arrays: Sequence[np.ndarray]) -> str:
    """sha256 over each array's dtype, shape and bytes (order matters)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def canonical_json(obj: object) -> str:
    """Sorted keys, no spaces: equal parameters give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class RunKey:
    """What decides a run's numbers; ``id`` is its sha256 (the primary key)."""

    model: str
    data: str
    method: str
    params: str  # canonical JSON
    version: str

    @property
    def id(self) -> str:
        return hashlib.sha256(canonical_json(asdict(self)).encode()).hexdigest()


def make_key(workbench: "Workbench", method: str, **params: object) -> RunKey:
    """Key for ``method`` with ``params`` on a workbench's dense model and validation split
    (the split as fed to the model, and the input scaling and embedding switch named too)."""
    split = workbench.val.split
    fit, info = getattr(workbench, "fit", None), getattr(workbench, "info", None)
    if fit is not None:
        params = {**params, "input_scale": fit.scale}
    if info is not None and info.embeddings_pruned:
        params = {**params, "prune_embeddings": True}
    return RunKey(model=hash_arrays(workbench.baseline.arrays), data=hash_arrays([split.x, split.y]),
                  method=method, params=canonical_json(params), version=code_version())


def sweep_key(workbench: "Workbench", method: str, scope: str = "all", floor: float = DEFAULT_FLOOR,
              with_test: bool = False) -> RunKey:
    """Key of a one-shot sweep; the grid is not part of it, so levels are shared across grids."""
    params: dict[str, object] = {"kind": "one-shot sweep", "scope": scope, "floor": float(floor)}
    if with_test and workbench.test is not None:
        params["test"] = hash_arrays([workbench.test.split.x, workbench.test.split.y])
    return make_key(workbench, method, **params)


def _atomic_npz(path: Path, arrays: Sequence[np.ndarray]) -> None:
    """np.savez through ``atomic_write``: ``path`` is whole or absent."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, *arrays)

    atomic_write(path, write, suffix=".npz")


class ResultStore:
    """Sweep points and retrain results in a directory; safe to share across threads.

    One SQLite connection behind a lock serves every thread of a process (Streamlit runs
    each rerun in a new thread, so per-thread connections would pile up); other processes
    coordinate through SQLite's own file locks (WAL: readers never wait for the writer).

    Args:
        path: the store directory (created if missing); default ``default_dir()``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_dir()
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "arrays").mkdir(exist_ok=True)
        self.db_path = self.path / DB_NAME
        self._lock = threading.RLock()
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a committed point survives power loss too
        conn.executescript(SCHEMA)
        self._db: sqlite3.Connection | None = conn

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"{self.db_path}: the store is closed")
        return self._db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, one thread at a time (BEGIN IMMEDIATE takes the file lock)."""
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._conn().execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_run(self, conn: sqlite3.Connection, key: RunKey) -> None:
        now = time.time()
        conn.execute("INSERT OR IGNORE INTO runs (id, model, data, method, params, version, created, "
                     "updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (key.id, key.model, key.data, key.method, key.params, key.version, now, now))

    def add_point(self, key: RunKey, row: dict) -> None:
        """Commit one finished level (``row['target']`` identifies it; a rerun replaces it)."""
        target = check_sparsity(row["target"])
        text = json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
        with self._tx() as conn:  # one transaction: the run row and the point
            self._ensure_run(conn, key)
            conn.execute("INSERT OR REPLACE INTO points (run, target, row, created) VALUES (?, ?, ?, ?)",
                         (key.id, target, text, time.time()))
            conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), key.id))

    def points(self, key: RunKey) -> pd.DataFrame:
        """Every stored level of a run, sorted by target (empty when none)."""
        rows = [json.loads(r[0]) for r in self._read(
            "SELECT row FROM points WHERE run = ? ORDER BY target", (key.id,))]
        cols = list(dict.fromkeys(COLUMNS + [c for r in rows for c in r]))
        return pd.DataFrame(rows, columns=cols)

    def mark_complete(self, key: RunKey) -> None:
        """Record that a sweep over this key ran to its end."""
        with self._tx() as conn:
            self._ensure_run(conn, key)
            conn.execute("UPDATE runs SET complete = 1, updated = ? WHERE id = ?", (time.time(), key.id))

    def is_complete(self, key: RunKey) -> bool:
        """Whether ``mark_complete`` was called for this key."""
        r = self._read("SELECT complete FROM runs WHERE id = ?", (key.id,))
        return bool(r and r[0][0])

    def save_result(self, key: RunKey, arrays: Sequence[np.ndarray], meta: dict) -> Path:
        """Store a finished retrain result: weights as .npz (atomic), ``meta`` as JSON."""
        path = self.path / "arrays" / f"{key.id}.npz"
        _atomic_npz(path, arrays)
        with self._tx() as conn:
            self._ensure_run(conn, key)
            conn.execute("INSERT OR REPLACE INTO results (run, file, meta, created) VALUES (?, ?, ?, ?)",
                         (key.id, path.name, canonical_json(meta), time.time()))
        return path

    def results(self, model: str | None = None, data: str | None = None,
                version: str | None = None) -> list[tuple[RunKey, dict]]:
        """(key, meta) of every stored retrain result, oldest first; ``model``, ``data`` and
        ``version`` (hashes / code version as in ``RunKey``) narrow the list when given."""
        where, args = [], []
        for column, value in (("model", model), ("data", data), ("version", version)):
            if value is not None:
                where.append(f"u.{column} = ?")
                args.append(value)
        sql = ("SELECT u.model, u.data, u.method, u.params, u.version, r.meta FROM results r "
               "JOIN runs u ON u.id = r.run" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY r.created")
        return [(RunKey(m, d, method, params, v), json.loads(meta))
                for m, d, method, params, v, meta in self._read(sql, tuple(args))]

    def load_result(self, key: RunKey) -> tuple[list[np.ndarray], dict] | None:
        """The stored arrays and meta of a retrain result, or None (also if its file is gone)."""
        found = self._read("SELECT file, meta FROM results WHERE run = ?", (key.id,))
        if not found:
            return None
        r = found[0]
        try:
            with np.load(self.path / "arrays" / r[0], allow_pickle=False) as z:
                arrays = [z[f"arr_{i}"] for i in range(len(z.files))]
        except (OSError, ValueError, KeyError):
            return None
        return arrays, json.loads(r[1])


def resumable_sweep(workbench: "Workbench", store: ResultStore, method: str, grid: Sequence[float],
                    scope: str = "all", floor: float = DEFAULT_FLOOR, progress: Progress | None = None,
                    with_test: bool = False) -> pd.DataFrame:
    """``Workbench.sweep`` that serves stored levels and commits each new one as it finishes.

    Returns the same DataFrame as an uninterrupted ``Workbench.sweep``; ``df.attrs`` holds
    ``from_store`` (levels served) and ``computed`` (levels evaluated now).
    """
    levels = [check_sparsity(s) for s in grid]
    key = sweep_key(workbench, method, scope, floor, with_test)
    stored = {float(r["target"]): r for r in store.points(key).to_dict("records")}
    test = workbench.test if with_test else None
    rows, served = [], 0
    for i, s in enumerate(levels):
        row = stored.get(s)
        if row is not None and (test is None or "test_accuracy" in row):
            served += 1
        else:
            one = sweep(workbench.val, workbench.pruner, method, [s], scope, floor, None, test)
            row = one.iloc[0].to_dict()
            store.add_point(key, row)
            stored[s] = row
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(levels), row)
    store.mark_complete(key)
    cols = COLUMNS + (["test_accuracy"] if test is not None else [])
    df = pd.DataFrame([{c: r.get(c, math.nan) for c in cols} for r in rows], columns=cols)
    df.attrs.update(from_store=served, computed=len(levels) - served)
    return df

"""The one service for retraining runs, shared by the CLI and the dashboard.

request -> key -> served from the result store, or trained (and stored) -> result.

A ``RunRequest`` says what to train (method, target, scope, ``Training``, method options,
data limits, seed); the start weights, the data and the distillation teacher are given
beside it and hashed into the key, so one key scheme identifies a run whoever asks for it:
a run the CLI trained is served to the dashboard and the reverse. ``train`` is a plain
function of (request, model, data, start weights), so an executor can run it elsewhere.

Example::

    req = RunRequest("masked", 0.9, training=Training(epochs=2), train_limit=5000)
    with ResultStore() as store:
        out = run(req, model, data, store=store)      # trains, then saves
        again = run(req, model, data, store=store)    # again.from_store is True
"""

from __future__ import annotations

import inspect
import json
import math
import sqlite3
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

import keras
import numpy as np
import pandas as pd

from . import retrain as R
from .data import Dataset
from .frontier import DEFAULT_FLOOR, challenge_score
from .masks import SCOPES, check_choice, check_sparsity
from .retrain import RETRAIN_METHODS, RetrainResult, Training
from .store import ResultStore, RunKey, canonical_json, code_version, hash_arrays
from .rows import sweep_frame, sweep_row

KIND = "retrain"  # ``params["kind"]`` of every retraining run in the store
_COMMON = {"model", "data", "sparsity", "scope", "training", "progress", "checkpoint_dir", "teacher"}
Progress = Callable[[int, int, dict], None]


def _freeze(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class RunRequest:
    """What one retraining run trains; equal requests on equal weights and data are one run.

    Args:
        method: one of ``RETRAIN_METHODS``.
        target: target sparsity (fraction); None only for 'masked' (keep the start's zeros).
        scope: 'all' (kernels and biases) or 'kernels'.
        training: how each phase trains (its ``seed`` is replaced by ``seed`` when given).
        options: the method's options (``rounds=``, ``rewind_epoch=``, ``groups=``, ...), as
            a mapping or (name, value) pairs; options equal to the method's defaults are
            dropped, so spelling a default out names the same run.
        train_limit, val_limit, test_limit: use only the first N samples of each split.
        seed: the run's seed (default ``training.seed``).
    """

    method: str
    target: float | None
    scope: str = "all"
    training: Training = field(default_factory=Training)
    options: tuple[tuple[str, object], ...] = ()
    train_limit: int | None = None
    val_limit: int | None = None
    test_limit: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        check_choice(self.method, RETRAIN_METHODS, "retrain method")
        check_choice(self.scope, SCOPES, "scope")
        if self.target is None:
            if self.method != "masked":
                raise R.RetrainError(f"{self.method} needs a target sparsity")
        else:
            object.__setattr__(self, "target", check_sparsity(self.target))
        pairs = dict(self.options.items() if isinstance(self.options, Mapping) else self.options)
        if "teacher" in pairs:
            raise ValueError("the teacher is given to run()/train() beside the request, not as an option")
        defaults = {k: p.default for k, p in inspect.signature(R.api.PLANS[self.method]).parameters.items()
                    if k not in _COMMON}
        kept = {k: _freeze(v) for k, v in pairs.items() if k not in defaults or defaults[k] != v}
        unknown = sorted(set(kept) - set(defaults))
        if unknown:
            raise ValueError(f"{self.method}: unknown options {unknown}")
        object.__setattr__(self, "options", tuple(sorted(kept.items())))
        if self.seed is None:
            object.__setattr__(self, "seed", self.training.seed)
        elif self.training.seed != self.seed:
            object.__setattr__(self, "training", replace(self.training, seed=self.seed))

    def at(self, target: float | None) -> "RunRequest":
        """The same request at another target."""
        return replace(self, target=target)

    def limited(self, data: Dataset) -> Dataset:
        """``data`` cut to this request's limits."""
        return R.limit(data, self.train_limit, self.val_limit, self.test_limit)


def _hash_split(split) -> str | None:
    return None if split is None else hash_arrays([split.x, split.y])


def run_key(request: RunRequest, start: Sequence[np.ndarray], data: Dataset,
            teacher: Sequence[np.ndarray] | None = None) -> RunKey:
    """The store key of ``request`` from ``start`` weights on ``data`` (limited here):
    the start weights, every split it trains, selects and tests on, the request, the
    teacher (when it is not the start model) and the code version."""
    d = request.limited(data)
    params = {"kind": KIND, "scope": request.scope,
              "sparsity": None if request.target is None else round(float(request.target), 9),
              "training": asdict(request.training),
              "options": {k: list(v) if isinstance(v, tuple) else v for k, v in request.options},
              "train": _hash_split(d.train), "test": _hash_split(d.test),
              "teacher": None if teacher is None else hash_arrays(list(teacher))}
    return RunKey(model=hash_arrays(list(start)), data=_hash_split(d.val), method=request.method,
                  params=canonical_json(params), version=code_version())


def train(request: RunRequest, model: keras.Model, data: Dataset,
          start: Sequence[np.ndarray] | None = None, teacher: keras.Model | None = None,
          progress: Progress | None = None,
          checkpoint_dir: str | Path | None = None) -> RetrainResult:
    """Train one request (no store): ``model`` is the architecture and, unless ``start`` is
    given, the start weights; ``teacher`` (default: ``model`` as given) for distillation."""
    options = dict(request.options)
    if teacher is not None:
        options["teacher"] = teacher
    return R.retrain(model, request.limited(data), request.method, request.target, request.training,
                     request.scope, progress, checkpoint_dir, start, **options)


@dataclass(frozen=True)
class RunResult:
    """A finished run, trained now or served from the store.

    ``meta``: ``RetrainResult.as_dict()`` (score at the default floor) plus ``history``,
    ``n_train``, ``n_val``, ``epochs`` (per phase, as asked); what the store keeps.
    """

    request: RunRequest
    key: RunKey
    arrays: tuple[np.ndarray, ...]
    meta: dict
    from_store: bool
    trained: RetrainResult | None = None  # None when served
    warnings: tuple[str, ...] = ()

    def info(self, floor: float = DEFAULT_FLOOR) -> dict:
        """``meta`` with the score at ``floor`` and ``from_store`` (the CLI's JSON)."""
        return {**self.meta, "score": float(challenge_score(self.meta["sparsity"], self.meta["accuracy"],
                                                            floor)), "from_store": self.from_store}

    def row(self, floor: float = DEFAULT_FLOOR, with_test: bool = False) -> dict:
        """A sweep row (``pruning.rows.COLUMNS``; ``test_accuracy`` with ``with_test``)."""
        m = self.meta
        extra = ({"test_accuracy": m["test_accuracy"]}
                 if with_test and m.get("test_accuracy") is not None else {})
        target = self.request.target if self.request.target is not None else m["target"]
        return sweep_row(self.request.method, self.request.scope, float(target), m["sparsity"],
                         m["accuracy"], m["loss"], floor, **extra)


def run_meta(request: RunRequest, res: RetrainResult, data: Dataset) -> dict:
    """What the store keeps of a trained run (``RunResult.meta``; JSON-ready): ``threads`` is
    the intra-op thread count it trained with (its bits depend on it, as on its seed)."""
    from .executors import thread_count

    d = request.limited(data)
    return _json_safe({**res.as_dict(), "history": [dict(r) for r in res.history], "n_train": len(d.train),
                       "n_val": res.val.n, "epochs": request.training.epochs, "threads": thread_count()})


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def serve(store: ResultStore, key: RunKey, n_arrays: int,
          warnings: list[str]) -> tuple[list[np.ndarray], dict] | None:
    """(arrays, meta) of ``key`` when ``store`` holds it with ``n_arrays`` arrays; store
    trouble is a warning (then None: the run trains)."""
    try:
        found = store.load_result(key)
    except (OSError, sqlite3.Error) as e:
        warnings.append(f"result store unreadable ({e}); training")
        return None
    return found if found is not None and len(found[0]) == n_arrays else None


def save(store: ResultStore, key: RunKey, arrays: Sequence[np.ndarray], meta: dict,
         warnings: list[str]) -> None:
    """Save a trained run under ``key``; store trouble is a warning, never an exception."""
    try:
        store.save_result(key, list(arrays), meta)
    except (OSError, sqlite3.Error, ValueError, TypeError) as e:
        warnings.append(f"result not saved to the store ({e})")


def checkpoint_subdir(root: str | Path | None, request: RunRequest, per_seed: bool = False) -> Path | None:
    """Where one run of a sweep checkpoints under ``root``: ``level-<target>`` (and
    ``seed-<seed>`` below it when a sweep runs several seeds)."""
    if root is None:
        return None
    sub = Path(root) / f"level-{request.target:.6f}"
    return sub / f"seed-{request.seed}" if per_seed else sub


def run(request: RunRequest, model: keras.Model, data: Dataset, *,
        start: Sequence[np.ndarray] | None = None, teacher: keras.Model | None = None,
        store: ResultStore | None = None, progress: Progress | None = None,
        checkpoint_dir: str | Path | None = None) -> RunResult:
    """Serve ``request`` from ``store`` or train it (then save it there).

    ``model`` holds the start weights unless ``start`` is given; ``teacher`` as in ``train``.
    Store trouble never stops a run: it trains (or keeps the result unsaved) and says so
    in ``warnings``.
    """
    start_arrays = list(start) if start is not None else [np.asarray(v) for v in model.get_weights()]
    key = run_key(request, start_arrays, data,
                  None if teacher is None else [np.asarray(v) for v in teacher.get_weights()])
    warnings: list[str] = []
    found = None if store is None else serve(store, key, len(start_arrays), warnings)
    if found is not None:
        return RunResult(request, key, tuple(found[0]), found[1], True, None, tuple(warnings))
    res = train(request, model, data, start, teacher, progress, checkpoint_dir)
    meta = run_meta(request, res, data)
    if store is not None:
        save(store, key, res.arrays, meta, warnings)
    return RunResult(request, key, tuple(res.arrays), meta, False, res, tuple(warnings))


def sweep(request: RunRequest, grid: Sequence[float], model: keras.Model, data: Dataset, *,
          start: Sequence[np.ndarray] | None = None, teacher: keras.Model | None = None,
          store: ResultStore | None = None, progress: Progress | None = None,
          checkpoint_dir: str | Path | None = None, floor: float = DEFAULT_FLOOR,
          with_test: bool = False, seeds: Sequence[int] | None = None, executor=None) -> pd.DataFrame:
    """``run`` at every level of ``grid`` (and every seed of ``seeds``), each its own run from
    the same start, on ``executor`` (a ``pruning.executors.ExecutorConfig``; default: in this
    process, one after another); one row each, levels outermost.

    Columns of ``pruning.sweep.sweep`` (plus ``seed`` with ``seeds``); ``progress(i, n, row)``
    as each run lands; with a ``checkpoint_dir`` each run checkpoints in ``checkpoint_subdir``.
    ``df.attrs`` holds ``from_store`` and ``computed`` (runs served / trained), ``warnings``.
    """
    from .batch import run_grid
    from .executors import ExecutorConfig

    requests = [request.at(s) if not seeds else replace(request.at(s), seed=int(k))
                for s in grid for k in (seeds or [None])]
    landed = [0]

    def on_land(i: int, out: RunResult) -> None:
        landed[0] += 1
        if progress is not None:
            progress(landed[0], len(requests), _row(out, floor, with_test, bool(seeds)))

    results = run_grid(requests, model, data, start=start, teacher=teacher, store=store,
                       config=executor or ExecutorConfig(), on_land=on_land,
                       checkpoint_dir=checkpoint_dir, per_seed=bool(seeds)).results
    df = sweep_frame([_row(r, floor, with_test, bool(seeds)) for r in results],
                     (["test_accuracy"] if with_test else []) + (["seed"] if seeds else []))
    served = sum(r.from_store for r in results)
    df.attrs.update(from_store=served, computed=len(results) - served,
                    warnings=[w for r in results for w in r.warnings])
    return df


def _row(out: RunResult, floor: float, with_test: bool, seeded: bool) -> dict:
    row = out.row(floor, with_test)
    return {**row, "seed": int(out.request.seed)} if seeded else row


@dataclass(frozen=True)
class StoredRun:
    """A retraining result in the store: its key, what was asked, and its ``meta``."""

    key: RunKey
    params: dict
    meta: dict

    @property
    def method(self) -> str:
        return self.key.method

    @property
    def scope(self) -> str:
        return self.params["scope"]

    @property
    def training(self) -> Training:
        return Training(**self.params["training"])


def listing_hashes(start: Sequence[np.ndarray], data: Dataset, val_limit: int | None = None,
                   test_limit: int | None = None) -> tuple[str, str, str | None]:
    """(start weights, val split, test split) hashes that ``stored_runs`` lists by; a caller
    that lists often computes them once."""
    d = R.limit(data, None, val_limit, test_limit)
    return hash_arrays(list(start)), _hash_split(d.val), _hash_split(d.test)


def stored_runs(store: ResultStore, start: Sequence[np.ndarray] | None = None,
                data: Dataset | None = None, request: RunRequest | None = None, *,
                hashes: tuple[str, str, str | None] | None = None) -> list[StoredRun]:
    """Every retraining result in ``store`` from ``start`` weights with ``data``'s val and
    test splits (cut to ``request``'s val/test limits when given), this code version,
    oldest first; any method, scope, target, budget or training recipe. ``hashes``
    (``listing_hashes``) stand for ``start`` and ``data``."""
    if hashes is None:
        limits = (None, None) if request is None else (request.val_limit, request.test_limit)
        hashes = listing_hashes(start, data, *limits)
    model, val, test = hashes
    out = []
    for key, meta in store.results(model, val, code_version()):
        params = json.loads(key.params)
        if params.get("kind") == KIND and params.get("test") == test:
            out.append(StoredRun(key, params, meta))
    return out


def load_stored(store: ResultStore, stored: StoredRun) -> tuple[np.ndarray, ...] | None:
    """The weights of a stored run (None when its file is gone)."""
    found = store.load_result(stored.key)
    return None if found is None else tuple(found[0])

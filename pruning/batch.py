"""A grid of retraining runs (methods x levels x seeds) through the result store and an executor.

Each run is served from the store when its key is there; the rest go to the executor as
jobs (``pruning.jobs.train_job``) and each is saved by this process, the driver, the moment
it lands, so an interrupted grid keeps every finished run and a rerun trains only the rest.
Keys are the caller's (``pruning.store.retrain_key``: start weights, data, method, target,
scope, every training setting with the seed, method options, code version): a run saved
by ``retrain --sparsity`` serves the same grid cell and the other way round.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .executors import ExecutorConfig, run_jobs
from .frontier import challenge_score
from .jobs import RetrainJob, RetrainShared, train_job
from .store import ResultStore, RunKey

Landed = Callable[[int, dict, bool], None]  # (job index, info, served from the store)
Warn = Callable[[str], None]


@dataclass
class GridResult:
    """Per job: weights and info (``RetrainResult.as_dict`` + history, seed, threads);
    ``served`` counts the runs the store held."""

    arrays: list[list[np.ndarray]]
    infos: list[dict]
    served: int


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _served(store: ResultStore, key: RunKey, n_arrays: int, job: RetrainJob,
            warn: Warn) -> tuple[list[np.ndarray], dict] | None:
    try:
        found = store.load_result(key)
    except (OSError, sqlite3.Error) as e:
        warn(f"result store unreadable ({e}); training")
        return None
    if found is None or len(found[0]) != n_arrays:
        return None
    arrays, meta = found
    info = dict(meta)
    info.setdefault("seed", int(job.training.seed))
    info["score"] = float(challenge_score(info["sparsity"], info["accuracy"], job.floor))
    return arrays, info


def retrain_grid(shared: RetrainShared, jobs: Sequence[RetrainJob], keys: Sequence[RunKey] | None,
                 store: ResultStore | None, config: ExecutorConfig = ExecutorConfig(),
                 on_land: Landed | None = None, warn: Warn = lambda _: None,
                 fn: Callable[[RetrainShared, RetrainJob], dict] = train_job,
                 extra_meta: Sequence[dict] | None = None) -> GridResult:
    """Serve or train every job; ``on_land(i, info, served)`` as each result arrives.

    Args:
        shared: start model, data and teacher of every job.
        jobs: the runs (method, target, ``Training`` with its seed, ...).
        keys: one store key per job (None with ``store`` None).
        store: where results are looked up and saved (None: train everything, save nothing).
        config: the executor for the runs the store lacks.
        fn: the job function (``train_job``; tests wrap it to inject faults).
        extra_meta: per job, more facts stored with its result (the dashboard's budget).
    """
    if store is not None and (keys is None or len(keys) != len(jobs)):
        raise ValueError("one store key per job is needed")
    arrays: list = [None] * len(jobs)
    infos: list = [None] * len(jobs)
    todo: list[int] = []
    for i, job in enumerate(jobs):
        hit = None if store is None else _served(store, keys[i], len(shared.model.weights), job, warn)
        if hit is None:
            todo.append(i)
            continue
        arrays[i], infos[i] = hit
        if on_land is not None:
            on_land(i, infos[i], True)

    def landed(k: int, result: dict) -> None:
        i = todo[k]
        arrays[i] = result["arrays"]
        infos[i] = {**result["info"], **(extra_meta[i] if extra_meta else {})}
        if store is not None:
            try:
                store.save_result(keys[i], arrays[i], _jsonable(infos[i]))
            except (OSError, sqlite3.Error) as e:
                warn(f"result not saved to the store ({e})")
        if on_land is not None:
            on_land(i, infos[i], False)

    run_jobs(config, fn, shared, [jobs[i] for i in todo], landed)
    return GridResult(arrays, infos, len(jobs) - len(todo))

"""Several retraining runs (``pruning.runs.RunRequest``) through the result store and an executor.

Each run is served from the store when its key (``pruning.runs.run_key``: start weights,
data, the request with its seed, teacher, code version) is there; the rest go to the
executor and each is saved by this process, the driver, the moment it lands, so an
interrupted grid keeps every finished run and a rerun trains only the rest. A run saved by
``retrain`` or by the dashboard serves the same grid cell and the other way round.
``pruning.runs.sweep`` is this over a grid of levels (and seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import runs
from .data import Dataset
from .executors import ExecutorConfig, run_jobs
from .jobs import ModelSpec, RetrainShared, train_job

Landed = Callable[[int, "runs.RunResult"], None]  # (request index, its result)


@dataclass(frozen=True)
class GridResult:
    """One ``RunResult`` per request, in request order."""

    results: list

    @property
    def served(self) -> int:
        """How many runs the store held."""
        return sum(r.from_store for r in self.results)


def run_grid(requests: Sequence["runs.RunRequest"], model, data: Dataset, *,
             start: Sequence[np.ndarray] | None = None, teacher=None,
             store=None, config: ExecutorConfig = ExecutorConfig(), on_land: Landed | None = None,
             checkpoint_dir: str | None = None, per_seed: bool = False,
             fn: Callable[[RetrainShared, "runs.RunRequest"], dict] | None = None) -> GridResult:
    """Serve or train every request from ``start`` (default: ``model``'s weights);
    ``on_land(i, result)`` as each result arrives.

    Args:
        model, data, teacher: as in ``pruning.runs.run`` (the same for every request).
        store: where results are looked up and saved (None: train everything, save nothing).
        config: where the runs the store lacks train: 'local' trains ``model`` in this
            process; 'process' and 'ray' rebuild it in workers from its JSON config
            (``pruning.jobs.train_job``).
        checkpoint_dir, per_seed: each run checkpoints in ``runs.checkpoint_subdir``.
        fn: the worker function (default ``train_job``; tests wrap it to inject faults).
    """
    start_arrays = [np.asarray(a) for a in (model.get_weights() if start is None else start)]
    teacher_arrays = None if teacher is None else [np.asarray(a) for a in teacher.get_weights()]
    keys = [runs.run_key(r, start_arrays, data, teacher_arrays) for r in requests]
    results: list = [None] * len(requests)
    warned: list[list[str]] = [[] for _ in requests]
    todo: list[int] = []
    for i, key in enumerate(keys):
        found = None if store is None else runs.serve(store, key, len(start_arrays), warned[i])
        if found is None:
            todo.append(i)
            continue
        results[i] = runs.RunResult(requests[i], key, tuple(found[0]), found[1], True, None, tuple(warned[i]))
        if on_land is not None:
            on_land(i, results[i])

    def landed(k: int, out: dict) -> None:
        i = todo[k]
        if store is not None:
            runs.save(store, keys[i], out["arrays"], out["meta"], warned[i])
        results[i] = runs.RunResult(requests[i], keys[i], tuple(out["arrays"]), out["meta"], False,
                                    out.get("trained"), tuple(warned[i]))
        if on_land is not None:
            on_land(i, results[i])

    if fn is None and config.kind == "local":  # the caller's model itself: no rebuild
        def local(_: None, request: "runs.RunRequest") -> dict:
            res = runs.train(request, model, data, start_arrays, teacher,
                             checkpoint_dir=runs.checkpoint_subdir(checkpoint_dir, request, per_seed))
            return {"arrays": [np.asarray(a) for a in res.arrays], "meta": runs.run_meta(request, res, data),
                    "trained": res}
        run_jobs(config, local, None, [requests[i] for i in todo], landed)
    else:
        shared = RetrainShared(ModelSpec.of(model, start_arrays), data,
                               None if teacher_arrays is None else tuple(teacher_arrays),
                               checkpoint_dir, per_seed)
        run_jobs(config, fn or train_job, shared, [requests[i] for i in todo], landed)
    return GridResult(results)

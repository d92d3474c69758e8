"""A grid of retraining runs (methods x levels x seeds) queued from the Retrain page onto the
configured executor (``PRUNING_EXECUTOR``, ``PRUNING_WORKERS``, ``PRUNING_RAY_ADDRESS``).

Each run is keyed like a single Retrain-page run (seed 0 keeps the single run's key), served
from the on-disk store when there, else trained on the executor and saved by this server
process as it lands, so the Frontier page shows it on its next rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .jobs import heavy_slot
from .retrain import _changed_options, _store, _store_key
from .session import Bench, limits


@dataclass(frozen=True)
class GridCell:
    """One run of the grid: what it is and, once landed, how it did."""

    method: str
    target: float
    seed: int


def executor_config():
    """The executor the server is configured for (local when nothing is set; local, with a
    warning on the page, when the variables are wrong)."""
    import streamlit as st

    from ..executors import ExecutorConfig

    try:
        return ExecutorConfig.from_env()
    except ValueError as e:
        st.warning(f"Executor settings ignored ({e}); running in this server process.")
        return ExecutorConfig()


def grid_cells(methods: list[str], levels: list[float], seeds: list[int]) -> list[GridCell]:
    """Every (method, level, seed), methods outermost."""
    return [GridCell(m, float(t), int(k)) for m in methods for t in levels for k in seeds]


def run_grid(b: Bench, cells: list[GridCell], scope: str, epochs: int, n_train: int,
             options: dict | None, on_land: Callable[[int, dict, bool], None]):
    """Serve or train every cell; ``on_land(i, info, served)`` as each result arrives."""
    from .. import retrain as R
    from ..batch import retrain_grid
    from ..jobs import ModelSpec, RetrainJob, RetrainShared

    vl, tl = limits()
    n_train = min(int(n_train), len(b.wb.data.train))
    data = R.limit(b.wb.data, train=n_train, val=vl, test=tl)
    options = _changed_options(options)
    jobs = [RetrainJob(c.method, c.target, R.Training(epochs=int(epochs), seed=c.seed, **options), scope)
            for c in cells]
    keys = [_store_key(b, c.method, c.target, scope, epochs, n_train, options, c.seed) for c in cells]
    extra = [{"n_val": len(data.val), "epochs": int(epochs), "n_train": n_train}] * len(cells)
    with b.lock:
        shared = RetrainShared(ModelSpec.of(b.wb.model, b.wb.baseline.arrays), data)
    with heavy_slot("The server is busy with other heavy runs; waiting for a free slot…"):
        return retrain_grid(shared, jobs, keys, _store(), executor_config(), on_land, extra_meta=extra)

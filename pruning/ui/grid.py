"""A grid of retraining runs (methods x levels x seeds) queued from the Retrain page onto the
configured executor (``PRUNING_EXECUTOR``, ``PRUNING_WORKERS``, ``PRUNING_RAY_ADDRESS``).

Each run is the request of a single Retrain-page run with its seed (``pruning.runs``' one key
scheme: seed 0 is the single run), served from the on-disk store when there, else trained
on the executor and saved by this server process as it lands, so the Frontier page shows
it on its next rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .jobs import heavy_slot
from .retrain import _store, run_request
from .session import Bench


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
             options: dict | None, on_land: Callable[[int, "RunResult"], None]):
    """Serve or train every cell (``pruning.batch.run_grid``; each cell is the
    ``run_request`` of a single Retrain-page run with its seed, so seed 0 is that run);
    ``on_land(i, result)`` as each ``pruning.runs.RunResult`` arrives."""
    from ..batch import run_grid as grid

    requests = [run_request(b, c.method, c.target, scope, epochs, n_train, options, seed=c.seed)
                for c in cells]
    try:
        store = _store()
    except (OSError, ValueError) as err:
        store = None
        import streamlit as st

        st.warning(f"The result store is unavailable ({err}); the runs are not kept.")
    config = executor_config()
    with heavy_slot("The server is busy with other heavy runs; waiting for a free slot…"), b.lock:
        model = b.wb.load(b.wb.baseline.arrays)  # the dense start weights (and teacher)
        return grid(requests, model, b.wb.data, store=store, config=config, on_land=on_land)

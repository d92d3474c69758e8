"""Sweeps of a one-shot method over a sparsity grid, as a tidy DataFrame."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from .evaluate import Evaluator
from .frontier import DEFAULT_FLOOR
from .masks import check_sparsity
from .oneshot import OneShotPruner
from .rows import COLUMNS, Progress, sweep_frame, sweep_row  # noqa: F401  (COLUMNS: for pruning.retrain)


def sweep(evaluator: Evaluator, pruner: OneShotPruner, method: str, grid: Sequence[float],
          scope: str = "all", floor: float = DEFAULT_FLOOR,
          progress: Progress | None = None, test: Evaluator | None = None) -> pd.DataFrame:
    """Prune at every level of ``grid`` and evaluate; one row per level.

    Masks come from the pruner's one sort; each level's arrays are assigned into the
    evaluator's model and dropped, so memory stays flat whatever the grid size.
    """
    levels = [check_sparsity(s) for s in grid]
    rows = []
    for i, s in enumerate(levels):
        pruned = pruner.prune(method, s, scope)
        val = evaluator.evaluate(pruned.arrays)
        extra = {} if test is None else {"test_accuracy": test.evaluate(pruned.arrays).accuracy}
        row = sweep_row(method, scope, s, pruned.sparsity, val.accuracy, val.loss, floor, **extra)
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(levels), row)
    return sweep_frame(rows, ["test_accuracy"] if test is not None else [])

"""Sweeps of a one-shot method over a sparsity grid, as a tidy DataFrame."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .evaluate import Evaluator
from .frontier import DEFAULT_FLOOR, challenge_score
from .masks import check_sparsity
from .methods import OneShotPruner

COLUMNS = ["method", "scope", "target", "sparsity", "accuracy", "loss", "score"]
Progress = Callable[[int, int, dict], None]


def parse_grid(spec: str) -> list[float]:
    """Percent grid 'START:STOP:STEP' (STOP included) or 'A,B,C' -> fractions 0..1."""
    text = spec.strip()
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if step <= 0:
                raise ValueError
            count = int(np.floor((stop - start) / step + 1e-9)) + 1  # STOP included only if on the grid
            values = [start + i * step for i in range(max(count, 0))]
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"bad sparsity grid {spec!r}: use percent 'START:STOP:STEP' "
                         "like 0:95:5, or a list like 50,80,90") from None
    if not values:
        raise ValueError(f"bad sparsity grid {spec!r}: no levels")
    grid = []
    for v in values:
        if not 0 <= v <= 100:
            raise ValueError(f"sparsity grid values are percent in 0..100, got {v:g}")
        grid.append(float(round(v, 6)) / 100)
    return grid


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
        row = {"method": method, "scope": scope, "target": s, "sparsity": pruned.sparsity,
               "accuracy": val.accuracy, "loss": val.loss,
               "score": challenge_score(pruned.sparsity, val.accuracy, floor)}
        if test is not None:
            row["test_accuracy"] = test.evaluate(pruned.arrays).accuracy
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(levels), row)
    return pd.DataFrame(rows, columns=COLUMNS + (["test_accuracy"] if test is not None else []))

"""The sweep-row schema: one row per pruning level, the same wherever a sweep is made.

NumPy/pandas only. ``COLUMNS`` are the columns every sweep frame has (fractions 0..1);
``test_accuracy`` (with a test split) and ``exact`` (adaptive fills) are optional extras.
"""

from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd

from .frontier import DEFAULT_FLOOR, challenge_score

COLUMNS = ["method", "scope", "target", "sparsity", "accuracy", "loss", "score"]
# progress(done, total, row) after each level of a sweep
Progress = Callable[[int, int, dict], None]


def sweep_row(method: str, scope: str, target: float, sparsity: float, accuracy: float,
              loss: float, floor: float = DEFAULT_FLOOR, **extra) -> dict:
    """One level's row: its numbers and challenge score for ``floor``; ``extra`` columns
    (``test_accuracy``, ``exact``) follow."""
    return {"method": method, "scope": scope, "target": target, "sparsity": sparsity,
            "accuracy": accuracy, "loss": loss,
            "score": challenge_score(sparsity, accuracy, floor), **extra}


def sweep_frame(rows: Iterable[dict], extra: Iterable[str] = ()) -> pd.DataFrame:
    """Rows as a DataFrame with ``COLUMNS`` then the ``extra`` columns, in that order."""
    return pd.DataFrame(list(rows), columns=COLUMNS + list(extra))

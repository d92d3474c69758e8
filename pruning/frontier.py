"""Pareto frontier and the challenge score (pure; no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DEFAULT_FLOOR = 0.60


def challenge_score(sparsity: float, accuracy: float, floor: float = DEFAULT_FLOOR) -> float:
    """(sparsity + accuracy) / 2 as fractions; NaN where accuracy does not exceed ``floor``."""
    if not (0.0 <= sparsity <= 1.0 and 0.0 <= accuracy <= 1.0):
        raise ValueError(f"sparsity and accuracy must be fractions in [0, 1], got {sparsity}, {accuracy}")
    return (sparsity + accuracy) / 2 if accuracy > floor else math.nan


def add_scores(rows: pd.DataFrame, floor: float = DEFAULT_FLOOR) -> pd.DataFrame:
    """A copy of ``rows`` with a 'score' column from 'sparsity' and 'accuracy'."""
    out = rows.copy()
    s, a = out["sparsity"].to_numpy(float), out["accuracy"].to_numpy(float)
    out["score"] = np.where(a > floor, (s + a) / 2, np.nan)
    return out


def pareto_mask(sparsity: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """True where no other point has sparsity >= and accuracy >= with one strictly greater."""
    s, a = np.asarray(sparsity, float), np.asarray(accuracy, float)
    ge = (s[None, :] >= s[:, None]) & (a[None, :] >= a[:, None])
    gt = (s[None, :] > s[:, None]) | (a[None, :] > a[:, None])
    return ~np.any(ge & gt, axis=1)


def pareto_frontier(rows: pd.DataFrame) -> pd.DataFrame:
    """The non-dominated rows (any mix of methods), sorted by sparsity."""
    if rows.empty:
        return rows.copy()
    keep = pareto_mask(rows["sparsity"].to_numpy(), rows["accuracy"].to_numpy())
    return rows[keep].sort_values(["sparsity", "accuracy"]).reset_index(drop=True)


def best_row(rows: pd.DataFrame, floor: float = DEFAULT_FLOOR) -> pd.Series | None:
    """The row with the highest challenge score for ``floor`` (None if none clears it).

    Scores are computed here, so a 'score' column made for another floor does not count."""
    valid = add_scores(rows, floor).dropna(subset=["score"])
    if valid.empty:
        return None
    return valid.loc[valid["score"].idxmax()]

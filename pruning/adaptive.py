"""Adaptive sweeps: a coarse grid, then bisection only where the accuracy curve moves.

A one-shot accuracy curve is flat over most sparsities and falls off a cliff near the
end, so a 1 %-grid spends most of its forward passes where nothing happens. Here levels
are integer percents: the coarse grid is evaluated first, then any pair of neighbouring
evaluated levels whose accuracies differ by more than ``tolerance`` gets its midpoint
evaluated, largest gap first, until no such pair is left (or ``max_evals`` is hit).
Where the curve is monotone between neighbours, linear interpolation
(``interpolate_curve``) is then within ``tolerance`` of the full-grid curve.

Rule 'curvature' stops earlier: a midpoint that lies within tolerance/2 of the chord
of its parent interval ends the refinement of both halves (the curve is straight
there, so interpolation error stays below about tolerance where the curve is convex or
concave on the interval). Rule 'strict' refines more: both halves of an interval whose
midpoint sits more than tolerance off the chord are bisected even when their ends
agree, which catches dips between two equal neighbours on a jagged curve.

``screen=n`` first sweeps a stratified n-image subset at every integer level and adds
the knots that a tolerance/2 piecewise-linear fit of that cheap curve needs to the
coarse grid.
"""

from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np
import pandas as pd

from .frontier import DEFAULT_FLOOR, challenge_score
from .masks import METHODS, SCOPES, check_choice, check_sparsity
from .sweep import COLUMNS, Progress

RULES = ("difference", "curvature", "strict")


def _percent(value: float, what: str) -> int:
    p = 100 * check_sparsity(value)
    if abs(p - round(p)) > 1e-9:
        raise ValueError(f"{what} must be a whole percent (like 0.99), got {value}")
    return int(round(p))


def simplify(x: Sequence[float], y: Sequence[float], eps: float) -> list[int]:
    """Indices of the points a piecewise-linear fit within ``eps`` needs (Douglas-Peucker)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = {0, len(x) - 1}
    stack = [(0, len(x) - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        chord = np.interp(x[i + 1:j], [x[i], x[j]], [y[i], y[j]])
        k = int(np.argmax(np.abs(y[i + 1:j] - chord)))
        if abs(y[i + 1 + k] - chord[k]) > eps:
            keep.add(i + 1 + k)
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return sorted(keep)


def adaptive_sweep(workbench, method: str, scope: str = "all", tolerance: float = 0.01,
                   lo: float = 0.0, hi: float = 0.99, coarse_step: float = 0.1,
                   max_evals: int | None = None, progress: Progress | None = None,
                   floor: float = DEFAULT_FLOOR, *, rule: str = "difference",
                   screen: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Sweep integer-percent levels in [lo, hi], evaluating only where the curve moves.

    Args:
        workbench: the ``Workbench`` (its val split decides; test is not used).
        method: 'global' or 'layerwise'.
        scope: 'all' or 'kernels' (default 'all').
        tolerance: accuracy gap (fraction) between neighbours that triggers a midpoint
            (default 0.01, one accuracy point).
        lo, hi: sparsity range as fractions on whole percents (default 0.0 and 0.99).
        coarse_step: spacing of the first grid (default 0.1); ``hi`` is always included.
        max_evals: stop refining after this many full-val evaluations (default no limit;
            the coarse grid is always evaluated).
        progress: ``progress(done, total, row)``; total counts the evaluations known so far.
        floor: accuracy floor of the challenge score (default 0.60).
        rule: 'difference' (default), 'curvature' or 'strict' (see the module docstring).
        screen: subset size for a cheap every-level pre-sweep that places knots (default off).
        seed: the subset draw used by ``screen``.

    Returns:
        The evaluated levels, sorted by target, with ``pruning.sweep.COLUMNS``;
        ``df.attrs['evaluations']`` counts full-val evaluations and
        ``df.attrs['screen_evaluations']`` the subset ones.

    Raises:
        ValueError: bad method, scope, rule, range or tolerance.

    Example:
        >>> df = adaptive_sweep(wb, "global")                     # doctest: +SKIP
        >>> curve = interpolate_curve(df, np.arange(100) / 100)  # doctest: +SKIP
    """
    check_choice(method, METHODS, "method")
    check_choice(scope, SCOPES, "scope")
    check_choice(rule, RULES, "rule")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance is an accuracy gap in (0, 1), got {tolerance}")
    a, b = _percent(lo, "lo"), _percent(hi, "hi")
    if a >= b:
        raise ValueError(f"need lo < hi, got lo={lo}, hi={hi}")
    step = max(1, int(round(100 * coarse_step)))
    levels = set(range(a, b + 1, step)) | {b}

    screened = 0
    if screen:
        from .estimate import subset_evaluator

        sub = subset_evaluator(workbench, screen, seed)
        xs = list(range(a, b + 1))
        ys = [sub.evaluate(workbench.prune(method, p / 100, scope).arrays).accuracy for p in xs]
        screened = len(xs)
        levels |= {xs[i] for i in simplify(xs, ys, tolerance / 2)}

    rows: dict[int, dict] = {}
    heap: list[tuple[float, int, int]] = []  # (-gap, left, right): largest gap first

    def evaluate(p: int) -> float:
        pruned = workbench.prune(method, p / 100, scope)
        val = workbench.val.evaluate(pruned.arrays)
        rows[p] = {"method": method, "scope": scope, "target": p / 100, "sparsity": pruned.sparsity,
                   "accuracy": val.accuracy, "loss": val.loss,
                   "score": challenge_score(pruned.sparsity, val.accuracy, floor)}
        return val.accuracy

    def report(p: int, pending: int) -> None:
        if progress is not None:
            progress(len(rows), len(rows) + pending, rows[p])

    def push(left: int, right: int, may_refine: bool = True, force: bool = False) -> None:
        gap = abs(rows[left]["accuracy"] - rows[right]["accuracy"])
        if right - left > 1 and ((may_refine and gap > tolerance) or force):
            heapq.heappush(heap, (-max(gap, tolerance), left, right))

    ordered = sorted(levels)
    for i, p in enumerate(ordered):
        evaluate(p)
        if i == len(ordered) - 1:
            for left, right in zip(ordered, ordered[1:]):
                push(left, right)
        report(p, len(ordered) - i - 1 + len(heap))
    while heap and (max_evals is None or len(rows) < max_evals):
        _, left, right = heapq.heappop(heap)
        mid = (left + right) // 2
        acc = evaluate(mid)
        chord = rows[left]["accuracy"] + (rows[right]["accuracy"] - rows[left]["accuracy"]) * (
            (mid - left) / (right - left))
        bend = abs(acc - chord)  # how far the midpoint sits off its parent's chord
        push(left, mid, rule != "curvature" or bend > tolerance / 2, rule == "strict" and bend > tolerance)
        push(mid, right, rule != "curvature" or bend > tolerance / 2, rule == "strict" and bend > tolerance)
        report(mid, len(heap))
    if heap and progress is not None:  # stopped by max_evals: close the progress display
        progress(len(rows), len(rows), rows[max(rows)])
    df = pd.DataFrame([rows[p] for p in sorted(rows)], columns=COLUMNS)
    df.attrs["evaluations"] = len(rows)
    df.attrs["screen_evaluations"] = screened
    return df


def interpolate_curve(df: pd.DataFrame, levels: Sequence[float], column: str = "accuracy",
                      x: str = "target") -> np.ndarray:
    """``column`` at each of ``levels`` by linear interpolation over ``x`` (default target).

    Levels outside the evaluated range take the nearest end value.
    """
    if df.empty:
        raise ValueError("no evaluated levels to interpolate")
    d = df.sort_values(x)
    xs, ys = d[x].to_numpy(float), d[column].to_numpy(float)
    if np.any(np.diff(xs) == 0):
        raise ValueError(f"duplicate {x} values; interpolate one method/scope curve at a time")
    return np.interp(np.asarray(levels, float), xs, ys)

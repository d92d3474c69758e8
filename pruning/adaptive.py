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

from .evaluate import PRECISIONS, class_probabilities, sample_losses, score_outputs
from .frontier import DEFAULT_FLOOR
from .masks import METHODS, SCOPES, check_choice
from .rows import Progress, sweep_frame, sweep_row
from .units import whole_percent

RULES = ("difference", "curvature", "strict")


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
                   screen: int | None = None, seed: int = 0, fill: bool = False,
                   margin: float = 0.1, unstable: float = 0.5,
                   precision: str = "float32") -> pd.DataFrame:
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
        fill: return every integer level, filling the levels between full evaluations
            from the images that may differ there (see ``fill_between``); ``rule``,
            ``screen`` and the gap test are then replaced by the ``unstable`` test.
        margin: with ``fill``, top-1 minus top-2 probability below which an image counts
            as unsettled (default 0.1; 1.0 = none is settled).
        unstable: with ``fill``, bisect an interval with a full evaluation while more than
            this fraction of the images are unsettled across it (default 0.5).
        precision: 'float32' (default) or 'bfloat16', which computes every pass in
            bfloat16 (``pruning.evaluate``): about half the time on CPUs with native
            bfloat16, with answers close to but not identical to float32.

    Returns:
        The evaluated levels, sorted by target, with ``pruning.rows.COLUMNS`` (plus a
        boolean ``exact`` column with ``fill``: False for filled levels and for every
        level in bfloat16); ``df.attrs['precision']`` says which precision ran;
        ``df.attrs['evaluations']`` counts full-val evaluations,
        ``df.attrs['screen_evaluations']`` the subset ones and, with ``fill``,
        ``df.attrs['fill_passes']`` the filled images in units of full passes.

    Raises:
        ValueError: bad method, scope, rule, range or tolerance.

    Example:
        >>> df = adaptive_sweep(wb, "global")                     # doctest: +SKIP
        >>> curve = interpolate_curve(df, np.arange(100) / 100)  # doctest: +SKIP
    """
    check_choice(method, METHODS, "method")
    check_choice(scope, SCOPES, "scope")
    check_choice(rule, RULES, "rule")
    check_choice(precision, PRECISIONS, "precision")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance is an accuracy gap in (0, 1), got {tolerance}")
    a, b = whole_percent(lo, "lo"), whole_percent(hi, "hi")
    if a >= b:
        raise ValueError(f"need lo < hi, got lo={lo}, hi={hi}")
    step = max(1, int(round(100 * coarse_step)))
    levels = set(range(a, b + 1, step)) | {b}
    if fill:
        return fill_between(workbench, method, scope, tolerance, sorted(levels), range(a, b + 1),
                            margin, unstable, max_evals, progress, floor, precision)

    screened = 0
    if screen:
        from .estimate import subset_evaluator

        sub = subset_evaluator(workbench, screen, seed)
        xs = list(range(a, b + 1))
        ys = [sub.evaluate(workbench.prune(method, p / 100, scope).arrays).accuracy for p in xs]
        screened = len(xs)
        levels |= {xs[i] for i in simplify(xs, ys, tolerance / 2)}

    ev = workbench.val_evaluator(precision)
    rows: dict[int, dict] = {}
    heap: list[tuple[float, int, int]] = []  # (-gap, left, right): largest gap first

    def evaluate(p: int) -> float:
        pruned = workbench.prune(method, p / 100, scope)
        val = ev.evaluate(pruned.arrays)
        rows[p] = sweep_row(method, scope, p / 100, pruned.sparsity, val.accuracy, val.loss, floor)
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
    df = sweep_frame(rows[p] for p in sorted(rows))
    df.attrs["evaluations"] = len(rows)
    df.attrs["screen_evaluations"] = screened
    df.attrs["precision"] = precision
    return df


class _Levels:
    """Full-val evaluations that keep per-image state for filling the levels between them."""

    def __init__(self, workbench, method: str, scope: str, floor: float,
                 precision: str = "float32") -> None:
        self.wb, self.method, self.scope, self.floor = workbench, method, scope, floor
        self.ev = workbench.val_evaluator(precision)
        self.y = self.ev.split.y
        self.rows: dict[int, dict] = {}
        self.state: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.fill_images = 0

    def _row(self, p: int, sparsity: float, accuracy: float, loss: float, exact: bool) -> dict:
        row = sweep_row(self.method, self.scope, p / 100, sparsity, accuracy, loss, self.floor,
                        exact=exact)
        self.rows[p] = row
        return row

    def _per_image(self, out: np.ndarray, y: np.ndarray):
        """Prediction, correctness, top-1/top-2 probability margin and loss per image."""
        prob = class_probabilities(out, self.ev.output_kind)
        top2 = np.sort(prob, axis=1)[:, -2:]
        pred = prob.argmax(axis=1)
        return pred, pred == y, top2[:, 1] - top2[:, 0], sample_losses(out, y, self.ev.output_kind)

    def exact(self, p: int) -> dict:
        """Full-val evaluation at p %, per-image prediction, correctness, margin and loss kept."""
        pruned = self.wb.prune(self.method, p / 100, self.scope)
        self.ev.set_weights(pruned.arrays)
        out = self.ev.outputs()
        score = score_outputs(out, self.y, self.ev.output_kind)
        self.state[p] = self._per_image(out, self.y)
        return self._row(p, pruned.sparsity, score.accuracy, score.loss,
                         self.ev.precision == "float32")

    def unsettled(self, left: int, right: int, margin: float) -> np.ndarray:
        """Images whose prediction differs between two evaluated levels or is close at either."""
        pa, ca, ma, _ = self.state[left]
        pb, cb, mb, _ = self.state[right]
        if margin >= 1:  # nothing counts as settled
            return np.ones(len(pa), bool)
        return (pa != pb) | (ca != cb) | (ma < margin) | (mb < margin)

    def between(self, p: int, left: int, right: int, margin: float, tolerance: float) -> dict:
        """Level p from its evaluated neighbours: settled images keep their answer there."""
        u = self.unsettled(left, right, margin)
        _, ca, _, la = self.state[left]
        lb = self.state[right][3]
        w = (p - left) / (right - left)
        loss = (1 - w) * la + w * lb  # settled images: their loss moves between the ends
        pruned = self.wb.prune(self.method, p / 100, self.scope)
        correct = ca.copy()
        if u.mean() > tolerance:  # otherwise |accuracy - either end| <= tolerance: interpolate
            idx = np.flatnonzero(u)
            self.ev.set_weights(pruned.arrays)
            out = self.ev.outputs(idx)
            _, correct[idx], _, loss[idx] = self._per_image(out, self.y[idx])
            self.fill_images += len(idx)
            acc = float(correct.mean())
        else:
            ra, rb = self.rows[left]["accuracy"], self.rows[right]["accuracy"]
            acc = ra + w * (rb - ra)
        return self._row(p, pruned.sparsity, acc, float(loss.mean()), False)


def fill_between(workbench, method: str, scope: str, tolerance: float, coarse: Sequence[int],
                 levels: Sequence[int], margin: float = 0.1, unstable: float = 0.5,
                 max_evals: int | None = None, progress: Progress | None = None,
                 floor: float = DEFAULT_FLOOR, precision: str = "float32") -> pd.DataFrame:
    """Every level in ``levels`` (whole percents): full evaluations at a few, the rest filled.

    Between two fully evaluated levels an image is *settled* when both give it the same
    prediction with a top-1/top-2 probability margin of at least ``margin``; settled
    images are assumed to keep that answer in between (not guaranteed: an image could
    flip and flip back, which is why these rows say ``exact=False``), and only the
    unsettled ones are run at the levels in between. Where the unsettled fraction is at
    most ``tolerance`` the level is interpolated instead (its accuracy can then differ
    from either end by at most that fraction). An interval is first bisected with a full
    evaluation while more than ``unstable`` of the images are unsettled across it (a
    partial pass would cost almost a full one there). Loss of settled images is
    interpolated between the ends.
    """
    if not 0 <= margin <= 1 or not 0 < unstable <= 1:
        raise ValueError(f"need 0 <= margin <= 1 and 0 < unstable <= 1, got {margin}, {unstable}")
    lv = _Levels(workbench, method, scope, floor, precision)
    wanted = sorted(set(levels) | set(coarse))
    done = 0

    def report(row: dict) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(wanted), row)

    for p in coarse:
        report(lv.exact(p))
    heap = [(-1.0, a, b) for a, b in zip(coarse, coarse[1:])]
    while heap:
        _, left, right = heap.pop()
        if right - left < 2 or (max_evals is not None and len(lv.state) >= max_evals):
            continue
        frac = lv.unsettled(left, right, margin).mean()
        if frac > unstable:
            mid = (left + right) // 2
            report(lv.exact(mid))
            heap += [(-frac, left, mid), (-frac, mid, right)]
    known = sorted(lv.state)
    for p in wanted:
        if p not in lv.rows:
            i = int(np.searchsorted(known, p))
            report(lv.between(p, known[i - 1], known[i], margin, tolerance))
    df = sweep_frame((lv.rows[p] for p in wanted), ["exact"])
    df.attrs["evaluations"] = len(lv.state)
    df.attrs["screen_evaluations"] = 0
    df.attrs["fill_passes"] = lv.fill_images / len(lv.y)
    df.attrs["precision"] = precision
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

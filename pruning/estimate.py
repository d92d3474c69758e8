"""Quick accuracy estimates on a stratified validation subset, with a Wilson interval.

For a live slider: show the estimate (a forward pass over n << N images) at once, then
replace it by the exact figure from the full validation split. The subset keeps the
class proportions of the split; the interval is Wilson's score interval with the
finite-population correction for sampling n of N without replacement, so it narrows to
the exact value as n approaches N.
"""

from __future__ import annotations

import math
import statistics
import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .data import Split
from .evaluate import Evaluator
from .masks import check_sparsity

DEFAULT_SUBSET = 500


@dataclass(frozen=True)
class Estimate:
    """Accuracy on a subset of n of the population's N samples, with a confidence interval."""

    accuracy: float
    low: float
    high: float
    n: int
    population: int
    confidence: float
    loss: float

    @property
    def exact(self) -> bool:
        """True when the subset is the whole split (the interval is a single point)."""
        return self.n >= self.population

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


def stratified_indices(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of n samples drawn without replacement, class shares kept.

    Each class gets ``n * share`` samples rounded by largest remainder.
    """
    y = np.asarray(y)
    if not 1 <= n:
        raise ValueError(f"subset size must be at least 1, got {n}")
    if n >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * n / len(y)
    take = np.floor(quota).astype(int)
    extra = n - int(take.sum())
    take[np.argsort(-(quota - take), kind="stable")[:extra]] += 1
    picked = [rng.choice(np.flatnonzero(y == c), size=k, replace=False)
              for c, k in zip(classes, take) if k]
    return np.sort(np.concatenate(picked))


def wilson_interval(correct: int, n: int, confidence: float = 0.95,
                    population: int | None = None) -> tuple[float, float]:
    """Wilson score interval for a proportion ``correct / n``.

    With ``population`` (N) the variance gets the finite-population factor
    (N - n) / (N - 1), i.e. n is replaced by n (N - 1) / (N - n); n == N gives a point.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n <= 0 or not 0 <= correct <= n:
        raise ValueError(f"need 0 <= correct <= n and n > 0, got {correct}/{n}")
    p = correct / n
    if population is not None:
        if population < n:
            raise ValueError(f"population {population} is smaller than the sample {n}")
        if population == n:
            return p, p
        n_eff = n * (population - 1) / (population - n) if population > 1 else math.inf
    else:
        n_eff = n
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    low = 0.0 if correct == 0 else max(0.0, centre - half)  # exact ends, no round-off
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


class SubsetEvaluator:
    """Evaluates weights on a fixed stratified subset of a workbench's validation split.

    Args:
        workbench: the ``Workbench`` whose model and val split are used.
        n: subset size (default 500); the whole split when n >= its size.
        seed: the draw of the subset.
        confidence: interval level (default 0.95).
    """

    def __init__(self, workbench, n: int = DEFAULT_SUBSET, seed: int = 0,
                 confidence: float = 0.95) -> None:
        split: Split = workbench.val.split
        self.workbench = workbench
        self.indices = stratified_indices(split.y, n, seed)
        self.population = len(split)
        self.confidence = confidence
        self.evaluator = Evaluator(workbench.model, Split(split.x[self.indices], split.y[self.indices]),
                                   workbench.val.batch_size)

    def evaluate(self, weights: Sequence[np.ndarray]) -> Estimate:
        """Subset accuracy of ``weights`` with its interval."""
        score = self.evaluator.evaluate(weights)
        correct = int(round(score.accuracy * score.n))
        low, high = wilson_interval(correct, score.n, self.confidence, self.population)
        return Estimate(score.accuracy, low, high, score.n, self.population, self.confidence,
                        score.loss)


_SUBSETS: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def subset_evaluator(workbench, n: int = DEFAULT_SUBSET, seed: int = 0,
                     confidence: float = 0.95) -> SubsetEvaluator:
    """A ``SubsetEvaluator`` cached per workbench (its forward function is traced once)."""
    per = _SUBSETS.setdefault(workbench, {})
    key = (int(n), int(seed), float(confidence))
    if key not in per:
        per[key] = SubsetEvaluator(workbench, n, seed, confidence)
    return per[key]


def estimate_accuracy(workbench, method: str, sparsity: float, scope: str = "all",
                      n: int = DEFAULT_SUBSET, seed: int = 0, confidence: float = 0.95) -> Estimate:
    """Val accuracy of a one-shot method at ``sparsity``, estimated on a stratified subset.

    Args:
        workbench: the ``Workbench``.
        method: 'global' or 'layerwise'.
        sparsity: target, a fraction in [0, 1].
        scope: 'all' or 'kernels' (default 'all').
        n: subset size (default 500); n >= the val size gives the exact value.
        seed: which subset (default 0).
        confidence: interval level (default 0.95).

    Example:
        >>> est = estimate_accuracy(wb, "global", 0.9)          # doctest: +SKIP
        >>> f"{est.accuracy:.1%} ({est.low:.1%}-{est.high:.1%})"  # doctest: +SKIP
    """
    pruned = workbench.prune(method, check_sparsity(sparsity), scope)
    return subset_evaluator(workbench, n, seed, confidence).evaluate(pruned.arrays)

"""Uncertainty of frontier points: per-level summaries over seeds, t-intervals, Wilson.

A retrained point run with several seeds is summarized by n, mean, sample sd (ddof 1), min
and max, and, when n >= 3, the 95 % Student-t interval of the mean
(mean +- t_{0.975, n-1} sd / sqrt(n)). A one-shot point is deterministic: its uncertainty is
the val set's sampling error, the Wilson 95 % interval of its accuracy
(``pruning.estimate.wilson_interval``). SciPy is not a dependency: the t quantile comes
from the regularized incomplete beta function (Lentz's continued fraction) and bisection.

Example:
    >>> round(t_quantile(0.975, 2), 4)
    4.3027
    >>> summarize([0.90, 0.92, 0.91]).mean
    0.91
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

MIN_N_FOR_T = 3


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0, 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student-t cumulative distribution function."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be > 0, got {df}")
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (bisection on ``t_cdf``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Summary:
    """n, mean, sample sd, min, max and the 95 % t-interval of the mean (NaN when n < 3)."""

    n: int
    mean: float
    sd: float
    min: float
    max: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return asdict(self)


def summarize(values: Iterable[float], confidence: float = 0.95) -> Summary:
    """Summary of the finite values (NaN ones, e.g. a missing test split, are left out)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return Summary(0, *(math.nan,) * 6)
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else math.nan
    low = high = math.nan
    if n >= MIN_N_FOR_T:
        half = t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    return Summary(n, mean, sd, float(v.min()), float(v.max()), low, high)


def level_summary(points: pd.DataFrame, columns: Sequence[str] = ("accuracy", "test_accuracy"),
                  by: Sequence[str] = ("method", "target")) -> pd.DataFrame:
    """One row per group of ``by`` (e.g. a method's level over seeds): the mean achieved
    sparsity and, per column present, ``<col>_n``, ``_mean``, ``_sd``, ``_min``, ``_max``,
    ``_ci_low``, ``_ci_high``."""
    keys = [k for k in by if k in points]
    cols = [c for c in columns if c in points]
    out = []
    for group, part in points.groupby(keys, sort=True, dropna=False):
        row = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
        if "sparsity" in part:
            row["sparsity"] = float(part["sparsity"].mean())
        for c in cols:
            for name, value in summarize(part[c]).as_dict().items():
                row[f"{c}_{name}"] = value
        out.append(row)
    return pd.DataFrame(out)


def wilson_accuracy(accuracy: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson interval of a deterministic point's accuracy measured on ``n`` images."""
    from .estimate import wilson_interval  # (estimate imports TensorFlow; this module does not)

    return wilson_interval(int(round(accuracy * n)), n, confidence)

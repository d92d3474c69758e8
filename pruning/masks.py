"""Magnitude masks (NumPy only): global and layer-wise thresholds, scopes, sparsity.

The seed's rule: threshold = the s-th percentile of |w| (NumPy's default linear
interpolation), every entry with |w| < threshold is zeroed. Percentiles are read from
|w| sorted once (``MagnitudeIndex``), so a sweep never re-sorts per level. Target 1.0
zeroes everything (the percentile rule alone would keep the largest entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

SCOPES = ("all", "kernels")
METHODS = ("global", "layerwise")


def check_sparsity(sparsity: float) -> float:
    """Validate a target sparsity given as a fraction in [0, 1]."""
    s = float(sparsity)
    if not (0.0 <= s <= 1.0) or math.isnan(s):
        hint = f"; did you mean {s / 100:g}?" if 1.0 < s <= 100.0 else ""
        raise ValueError(f"sparsity must be a fraction in [0, 1], got {sparsity}{hint}")
    return s


def check_choice(value: str, allowed: Sequence[str], what: str) -> str:
    """Validate a string option against its allowed values."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    return value


def in_scope(kinds: Sequence[str], scope: str = "all") -> list[bool]:
    """Which arrays a scope touches: 'all' = kernels and biases, 'kernels' = kernels only."""
    check_choice(scope, SCOPES, "scope")
    return [k == "kernel" or (scope == "all" and k == "bias") for k in kinds]


def percentile_sorted(sorted_abs: np.ndarray, sparsity: float) -> np.floating:
    """``np.percentile(x, 100 * sparsity)`` read from ``sorted_abs = np.sort(x)`` in O(1)."""
    n = sorted_abs.size
    h = (n - 1) * (float(100 * sparsity) / 100)  # Python floats: NumPy's "weak" q path
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    t = h - lo
    a, b = sorted_abs[lo], sorted_abs[hi]
    diff = b - a
    value = b - diff * (1 - t) if t >= 0.5 else a + diff * t
    return sorted_abs.dtype.type(value)


@dataclass(frozen=True)
class MagnitudeIndex:
    """|w| of the in-scope arrays sorted once: globally and per array."""

    abs_arrays: tuple[np.ndarray | None, ...]  # None for arrays outside the scope
    sorted_global: np.ndarray
    sorted_each: tuple[np.ndarray | None, ...]

    @property
    def selected(self) -> list[bool]:
        return [a is not None for a in self.abs_arrays]


def magnitude_index(arrays: Sequence[np.ndarray], kinds: Sequence[str],
                    scope: str = "all") -> MagnitudeIndex:
    """Sort |w| of the arrays the scope selects (the only sort a sweep needs)."""
    sel = in_scope(kinds, scope)
    if len(arrays) != len(kinds):
        raise ValueError(f"{len(arrays)} arrays but {len(kinds)} kinds")
    abs_arrays = tuple(np.abs(a) if s else None for a, s in zip(arrays, sel))
    chosen = [a for a in abs_arrays if a is not None]
    if not chosen or sum(a.size for a in chosen) == 0:
        raise ValueError(f"no weights in scope {scope!r}: nothing to prune")
    each = tuple(np.sort(a, axis=None) if a is not None else None for a in abs_arrays)
    glob = np.sort(np.concatenate([e for e in each if e is not None]))
    return MagnitudeIndex(abs_arrays, glob, each)


def thresholds(index: MagnitudeIndex, method: str, sparsity: float) -> list[float | None]:
    """Per-array thresholds (None outside the scope); ``inf`` at sparsity 1.0."""
    check_choice(method, METHODS, "method")
    s = check_sparsity(sparsity)
    if s >= 1.0:
        return [math.inf if a is not None else None for a in index.abs_arrays]
    if method == "global":
        t = percentile_sorted(index.sorted_global, s)
        return [t if a is not None else None for a in index.abs_arrays]
    return [percentile_sorted(e, s) if e is not None and e.size else None for e in index.sorted_each]


def keep_masks(index: MagnitudeIndex, method: str, sparsity: float) -> list[np.ndarray | None]:
    """Boolean keep-masks (True = weight survives); None for arrays the scope leaves alone."""
    return [None if t is None else ~(a < t)
            for a, t in zip(index.abs_arrays, thresholds(index, method, sparsity))]


def apply_masks(arrays: Sequence[np.ndarray], masks: Sequence[np.ndarray | None]) -> list[np.ndarray]:
    """New arrays with masked entries zeroed (inputs are never modified)."""
    return [a if m is None else np.where(m, a, np.zeros((), a.dtype)) for a, m in zip(arrays, masks)]


def prune_arrays(arrays: Sequence[np.ndarray], kinds: Sequence[str], method: str = "global",
                 sparsity: float = 0.5, scope: str = "all") -> list[np.ndarray]:
    """One-shot magnitude pruning of ``arrays`` (method 1 'global' or 2 'layerwise')."""
    index = magnitude_index(arrays, kinds, scope)
    return apply_masks(arrays, keep_masks(index, method, sparsity))


@dataclass(frozen=True)
class ArraySparsity:
    """Zero count of one array."""

    name: str
    kind: str
    size: int
    zeros: int

    @property
    def sparsity(self) -> float:
        return self.zeros / self.size if self.size else 0.0


def array_sparsity(arrays: Sequence[np.ndarray], kinds: Sequence[str],
                   names: Sequence[str] | None = None) -> list[ArraySparsity]:
    """Per-array zero counts, in order."""
    names = names or [f"array_{i}" for i in range(len(arrays))]
    return [ArraySparsity(n, k, int(a.size), int(a.size - np.count_nonzero(a)))
            for n, k, a in zip(names, kinds, arrays)]


def total_sparsity(arrays: Sequence[np.ndarray], kinds: Sequence[str], scope: str = "all") -> float:
    """Zeros / entries over the arrays a scope counts (the seed counts kernels and biases)."""
    sel = in_scope(kinds, scope)
    size = sum(a.size for a, s in zip(arrays, sel) if s)
    zeros = sum(a.size - np.count_nonzero(a) for a, s in zip(arrays, sel) if s)
    return zeros / size if size else 0.0

"""How many units each group loses, and which: the lowest-scoring ones.

- 'uniform': every group loses ``round(remove * size)`` units.
- 'global': scores are divided by their group's mean (so groups of different weight
  scales compare), pooled, and the ``round(remove * total)`` lowest go, wherever they are.
- 'sensitivity': per-group ratios from a per-layer sensitivity scan (``pruning.sensitivity``,
  accuracy with one layer magnitude-pruned at several levels): a group's ratio is
  proportional to ``1 / (drop + 0.01)``, where drop is its most sensitive producer's mean
  accuracy loss over the scanned levels, scaled so that the channel-weighted mean ratio
  is ``remove`` (each ratio capped at ``max_ratio``).

Every group keeps at least one unit.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .graph import ChannelGraph, StructureError

ALLOCATIONS = ("uniform", "global", "sensitivity")


def check_ratio(remove: float) -> float:
    """``remove`` as a float in [0, 1), or a clear error."""
    try:
        r = float(remove)
    except (TypeError, ValueError):
        raise StructureError(f"--remove must be a fraction in [0, 1), got {remove!r}") from None
    if not 0.0 <= r < 1.0:
        raise StructureError(f"--remove must be a fraction in [0, 1) (0.5 removes half the "
                             f"channels of every prunable group), got {r}")
    return r


def _lowest(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(scores, kind="stable")[:k]


def by_ratios(graph: ChannelGraph, scores: Sequence[np.ndarray], ratios: Sequence[float]) -> list[np.ndarray]:
    """Per group, the positions of its ``round(ratio * size)`` lowest units (at least one kept)."""
    out = []
    for g, s, r in zip(graph.groups, scores, ratios):
        k = min(len(g) - 1, int(round(r * len(g))))
        out.append(np.sort(_lowest(np.asarray(s), max(0, k))))
    return out


def global_ranking(graph: ChannelGraph, scores: Sequence[np.ndarray], remove: float) -> list[np.ndarray]:
    """The lowest ``remove`` fraction of all units after per-group mean normalization."""
    pool = []
    for gi, s in enumerate(scores):
        s = np.asarray(s, np.float64)
        mean = s.mean() if s.size else 0.0
        norm = s / mean if mean > 0 else np.ones_like(s)
        pool += [(v, gi, k) for k, v in enumerate(norm)]
    pool.sort(key=lambda t: (t[0], t[1], t[2]))
    budget = int(round(remove * len(pool)))
    left = [len(g) for g in graph.groups]
    chosen: list[list[int]] = [[] for _ in graph.groups]
    for _, gi, k in pool:
        if budget == 0:
            break
        if left[gi] > 1:
            chosen[gi].append(k)
            left[gi] -= 1
            budget -= 1
    return [np.array(sorted(c), np.int64) for c in chosen]


def sensitivity_ratios(graph: ChannelGraph, table, remove: float, max_ratio: float = 0.9) -> list[float]:
    """Per-group ratios from a ``layer_sensitivity`` table (columns layer, target, accuracy).

    The dense accuracy is read from the rows at target 0 if present, else the best row of
    the layer.
    """
    drops = []
    for g in graph.groups:
        worst = 0.0
        for layer in g.producers:
            rows = table[table["layer"] == layer]
            if rows.empty:
                raise StructureError(f"the sensitivity scan has no rows for {layer}; scan every layer")
            dense_rows = rows[rows["target"] == 0]
            dense = float(dense_rows["accuracy"].max() if not dense_rows.empty else rows["accuracy"].max())
            worst = max(worst, float(np.mean(np.maximum(0.0, dense - rows["accuracy"].to_numpy()))))
        drops.append(worst)
    w = 1.0 / (np.asarray(drops) + 0.01)
    sizes = np.array([len(g) for g in graph.groups], np.float64)
    if remove == 0:
        return [0.0] * len(graph.groups)
    lo, hi = 0.0, max_ratio / w.min() + 1.0
    for _ in range(100):  # bisection on the scale: channel-weighted mean ratio == remove
        c = (lo + hi) / 2
        mean = float((np.minimum(max_ratio, c * w) * sizes).sum() / sizes.sum())
        lo, hi = (c, hi) if mean < remove else (lo, c)
    return [float(r) for r in np.minimum(max_ratio, hi * w)]


def allocate(graph: ChannelGraph, scores: Sequence[np.ndarray], remove: float,
             allocation: str = "uniform", ratios: Sequence[float] | Mapping[str, float] | None = None
             ) -> list[np.ndarray]:
    """Positions (into each group's ``units``) of the units to remove, per group."""
    remove = check_ratio(remove)
    if allocation not in ALLOCATIONS:
        raise StructureError(f"unknown allocation {allocation!r}; choose one of {', '.join(ALLOCATIONS)}")
    if allocation == "uniform":
        return by_ratios(graph, scores, [remove] * len(graph.groups))
    if allocation == "global":
        return global_ranking(graph, scores, remove)
    if ratios is None:
        raise StructureError("the sensitivity allocation needs per-group ratios (run the sensitivity scan)")
    if isinstance(ratios, Mapping):
        ratios = [max(ratios.get(p, remove) for p in g.producers) for g in graph.groups]
    for r in ratios:
        check_ratio(r)
    return by_ratios(graph, scores, ratios)

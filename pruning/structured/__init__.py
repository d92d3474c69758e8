"""Structured pruning: remove whole filters, channels and neurons for a smaller, faster model.

``graph`` finds the dependency groups, ``importance`` scores their units, ``allocation``
picks how many go where, ``removal`` builds the physically smaller Keras model, and
``finetune`` retrains it with the retraining machinery.

Example:
    >>> res = prune_structured(model, 0.5, importance="l1")      # doctest: +SKIP
    >>> res.model.count_params(), res.dense_params, res.removed  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import keras
import numpy as np

from ..data import Split
from .allocation import ALLOCATIONS, allocate, check_ratio, sensitivity_ratios
from .graph import Blocked, ChannelGraph, Group, StructureError, analyze
from .importance import CRITERIA, unit_scores
from .removal import remove_units, widths_after, zero_units

__all__ = ["ALLOCATIONS", "CRITERIA", "Blocked", "ChannelGraph", "Group", "StructureError",
           "StructuredResult", "analyze", "allocate", "check_ratio", "prune_structured",
           "remove_units", "sensitivity_ratios", "unit_scores", "widths_after", "zero_units"]


@dataclass(frozen=True)
class StructuredResult:
    """The smaller model, what was removed, and what was left alone (and why)."""

    model: keras.Model
    dense_params: int
    params: int
    removed: dict[str, dict[str, int]]  # producer -> {"before", "after", "removed"}
    removed_units: tuple[int, ...]
    unpruned: tuple[Blocked, ...]
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {"params": self.params, "dense_params": self.dense_params,
                "removed": self.removed,
                "unpruned": {b.layer: b.reason for b in self.unpruned},
                "notes": list(self.notes)}


def prune_structured(model: keras.Model, remove: float, importance: str = "l1",
                     allocation: str = "uniform", train: Split | None = None,
                     ratios: Sequence[float] | Mapping[str, float] | None = None,
                     graph: ChannelGraph | None = None,
                     layers: Sequence[str] | None = None) -> StructuredResult:
    """Remove the fraction ``remove`` of the units of every prunable group (see ``allocation``).

    Args:
        model: Sequential or Functional Keras model (not modified).
        remove: fraction in [0, 1).
        importance: 'l1', 'l2', 'bn' or 'taylor' (needs ``train``).
        allocation: 'uniform', 'global' or 'sensitivity' (needs ``ratios``: one per group
            or a producer-name mapping, e.g. from ``sensitivity_ratios``).
        layers: prune only the groups these producer layers belong to (a layer tied to
            others by a residual ``Add`` takes them along; ``notes`` says so).

    Raises:
        StructureError: bad ratio or choice, a graph it cannot handle, a model with no
            prunable group, or too small for any channel to go at this ratio.
    """
    remove = check_ratio(remove)
    if allocation not in ALLOCATIONS:
        raise StructureError(f"unknown allocation {allocation!r}; choose one of {', '.join(ALLOCATIONS)}")
    if importance not in CRITERIA:
        raise StructureError(f"unknown importance {importance!r}; choose one of {', '.join(CRITERIA)}")
    graph = analyze(model) if graph is None else graph
    unpruned = tuple(graph.unpruned())
    if not graph.groups:
        why = "; ".join(f"{b.layer}: {b.reason}" for b in unpruned[:4]) or "no Conv/Dense layers"
        raise StructureError(f"no layer can be pruned structurally ({why})")
    notes: list[str] = []
    chosen = graph if layers is None else _select(graph, layers, unpruned, notes)
    scores, score_notes = unit_scores(chosen, importance, train)
    picks = allocate(chosen, scores, remove, allocation, ratios)
    gone = [g.units[int(k)] for g, ks in zip(chosen.groups, picks) for k in ks]
    if remove > 0 and not gone:
        largest = max(len(g) for g in graph.groups)
        raise StructureError(f"the model is too small: at remove={remove:g} no group loses a channel "
                             f"(the largest prunable group has {largest}); remove a larger fraction")
    small = remove_units(model, graph, gone)
    removed = {layer: {"before": b, "after": a, "removed": b - a}
               for layer, (b, a) in widths_after(graph, gone).items()}
    return StructuredResult(model=small, dense_params=int(model.count_params()),
                            params=int(small.count_params()), removed=removed,
                            removed_units=tuple(gone), unpruned=unpruned,
                            notes=tuple(notes + score_notes))


def _select(graph: ChannelGraph, layers: Sequence[str], unpruned, notes: list[str]) -> ChannelGraph:
    """The graph restricted to the groups of ``layers`` (clear errors for names it cannot use)."""
    names = {layer.name for layer in graph.model.layers}
    why = {b.layer: b.reason for b in unpruned}
    for name in layers:
        if name not in names:
            raise StructureError(f"the model has no layer named {name!r}")
        if graph.group_of(name) is None:
            reason = why.get(name, "it has no output channels of its own (not a Conv/Dense)")
            raise StructureError(f"layer {name} cannot be pruned structurally: {reason}")
    groups = [g for g in graph.groups if set(g.producers) & set(layers)]
    for g in groups:
        extra = [p for p in g.producers if p not in layers]
        if extra:
            notes.append(f"{', '.join(extra)} share channels with {g.name.replace('+', ', ')} "
                         "(tied by an Add/Multiply/...) and lose the same ones")
    return replace(graph, groups=groups)


def output_difference(a: keras.Model, b: keras.Model, x: np.ndarray) -> float:
    """Largest absolute difference of two models' predictions on ``x`` (inference mode)."""
    return float(np.max(np.abs(np.asarray(a(x, training=False)) - np.asarray(b(x, training=False)))))

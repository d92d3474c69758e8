"""How much each channel unit matters: one score per unit of every group (higher = keep).

- 'l1' / 'l2': L1 / L2 norm of every weight the unit owns (its producers' kernel columns
  and biases, the consumers' kernel rows, depthwise kernels and BatchNorm gamma, beta and
  moving mean),
  i.e. exactly the weights that removing it deletes.
- 'bn': sum of |gamma| over the BatchNorm layers the unit passes through (network
  slimming, Liu et al. 2017). A group without BatchNorm falls back to 'l2' and says so.
- 'taylor': first-order Taylor estimate of the loss change when the unit is removed
  (Molchanov et al. 2019): per training batch ``(sum over the unit's weights of w * dL/dw)^2``,
  averaged over a few batches.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from ..data import Split
from .graph import ChannelGraph, StructureError

CRITERIA = ("l1", "l2", "bn", "taylor")


def _index(graph: ChannelGraph) -> dict[int, tuple[int, int]]:
    return {u: (gi, k) for gi, g in enumerate(graph.groups) for k, u in enumerate(g.units)}


def _accumulate(graph: ChannelGraph, per_slot, roles: Sequence[str], weights: Sequence[str] | None = None
                ) -> list[np.ndarray]:
    """Sum ``per_slot(slot, array) -> vector along slot.axis`` into each slot's units."""
    index = _index(graph)
    scores = [np.zeros(len(g), np.float64) for g in graph.groups]
    for s in graph.slots:
        if s.role not in roles or (weights is not None and s.weight not in weights):
            continue
        vec = per_slot(s)
        for pos, root in enumerate(graph.root(s.ids)):
            hit = index.get(int(root))
            if hit is not None:
                scores[hit[0]][hit[1]] += vec[pos]
    return scores


def _array(graph: ChannelGraph, slot) -> np.ndarray:
    layer = graph.model.get_layer(slot.layer)
    return np.asarray(next(v for v in layer.weights if v.path.split("/")[-1] == slot.weight).numpy(),
                       np.float64)


def _reduce(a: np.ndarray, axis: int) -> np.ndarray:
    axis = axis % a.ndim
    return a.sum(axis=tuple(i for i in range(a.ndim) if i != axis)) if a.ndim > 1 else a


def unit_scores(graph: ChannelGraph, criterion: str = "l1", train: Split | None = None,
                batches: int = 4, batch_size: int = 64) -> tuple[list[np.ndarray], list[str]]:
    """Scores per group (``graph.groups`` order, one per unit) and notes on any fallback.

    Raises:
        StructureError: an unknown criterion, or 'taylor' without training data.
    """
    if criterion not in CRITERIA:
        raise StructureError(f"unknown importance {criterion!r}; choose one of {', '.join(CRITERIA)}")
    notes: list[str] = []
    roles = ("out", "in")
    if criterion == "l1":
        return _accumulate(graph, lambda s: _reduce(np.abs(_array(graph, s)), s.axis), roles), notes
    if criterion in ("l2", "bn"):
        l2 = [np.sqrt(x) for x in _accumulate(
            graph, lambda s: _reduce(_array(graph, s) ** 2, s.axis), roles)]
        if criterion == "l2":
            return l2, notes
        bn = _accumulate(graph, lambda s: np.abs(_array(graph, s)), ("out",), ("gamma",))
        has_bn = {int(r) for s in graph.slots if s.weight == "gamma" for r in graph.root(s.ids)}
        out = []
        for g, b, fallback in zip(graph.groups, bn, l2):
            if any(u in has_bn for u in g.units):
                out.append(b)
            else:
                out.append(fallback)
                notes.append(f"{g.name}: no BatchNorm after it, scored by its L2 norm instead")
        return out, notes
    return _taylor(graph, train, batches, batch_size), notes


def _taylor(graph: ChannelGraph, train: Split | None, batches: int, batch_size: int) -> list[np.ndarray]:
    if train is None or len(train) == 0:
        raise StructureError("the taylor importance needs training data (a train split)")
    model = graph.model
    names = {(layer.name, v.path.split("/")[-1]): v for layer in model.layers for v in layer.weights}
    wanted = sorted({(s.layer, s.weight) for s in graph.slots if s.role in ("out", "in")})
    variables = [names[k] for k in wanted]
    probe = np.asarray(model(train.x[:8], training=False))
    logits = not (np.all(probe >= 0) and np.allclose(probe.sum(-1), 1, atol=1e-3))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=logits)
    total = [np.zeros(len(g), np.float64) for g in graph.groups]
    n = min(batches, max(1, len(train) // batch_size))
    for b in range(n):
        x = train.x[b * batch_size:(b + 1) * batch_size]
        y = train.y[b * batch_size:(b + 1) * batch_size]
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=False))
        grads = dict(zip(wanted, tape.gradient(loss, [v.value for v in variables])))
        values = {k: np.asarray(v.numpy(), np.float64) for k, v in zip(wanted, variables)}

        def wg(s, grads=grads, values=values) -> np.ndarray:
            g = grads[(s.layer, s.weight)]
            g = np.zeros_like(values[(s.layer, s.weight)]) if g is None else np.asarray(g, np.float64)
            return _reduce(values[(s.layer, s.weight)] * g, s.axis)

        for t, x_ in zip(total, _accumulate(graph, wg, ("out", "in"))):
            t += x_ ** 2
    return [t / n for t in total]

"""Per-layer sensitivity: val accuracy when only one layer is pruned, all others dense.

Each layer's arrays (its kernel, and its bias in scope 'all') are pruned by magnitude
with their own per-array percentile threshold (method 2 restricted to that layer).

Fast path (``layer_sensitivity``): pruning layer L leaves every activation before L
unchanged, so for a Sequential model L's input is computed once per validation batch
and every level of L runs only the layers from L on over it. Activations are kept for
all batches at the latest layer input that fits ``cache_bytes`` and moved forward from
layer to layer; an earlier cut only costs the few layers between it and L once per batch.
Levels whose masks keep every weight of the layer reuse the dense score, and levels
whose masks equal an earlier level's (same kept count per array) share one evaluation.
``layer_sensitivity_naive`` runs a full forward pass per level; both give the same rows.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable, Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .evaluate import Score, score_outputs
from .layers import assign_arrays
from .masks import SCOPES, apply_masks, check_choice, check_sparsity, in_scope, keep_masks, magnitude_index
from .rows import Progress

COLUMNS = ["layer", "target", "sparsity", "accuracy", "loss"]
Tick = Callable[[float, str], None]  # (fraction of the whole job done, layer being pruned)
DEFAULT_CACHE_BYTES = 256 * 2**20  # largest prefix activation kept in memory (all val batches)


@dataclass(frozen=True)
class LayerArrays:
    """A layer with weights and the positions of its arrays in ``model.weights`` order."""

    name: str
    position: int  # index in model.layers
    indices: tuple[int, ...]  # into Baseline.arrays


def prunable_layers(workbench, scope: str = "all") -> list[LayerArrays]:
    """Layers that hold at least one array in ``scope`` (model order)."""
    check_choice(scope, SCOPES, "scope")
    b = workbench.baseline
    sel = in_scope(b.kinds, scope)
    by_layer: dict[str, list[int]] = {}
    for i, s in enumerate(sel):
        if s:
            by_layer.setdefault(b.layer_of(i), []).append(i)
    positions = {layer.name: p for p, layer in enumerate(workbench.model.layers)}
    return [LayerArrays(n, positions.get(n, -1), tuple(ix)) for n, ix in by_layer.items()]


class _LayerPruner:
    """Prunes one layer's arrays at any level (|w| sorted once)."""

    def __init__(self, workbench, layer: LayerArrays, scope: str) -> None:
        b = workbench.baseline
        self.layer = layer
        self.scope = scope
        self.arrays = [b.arrays[i] for i in layer.indices]
        self.index = magnitude_index(self.arrays, [b.kinds[i] for i in layer.indices], scope)

    def prune(self, sparsity: float) -> tuple[list[np.ndarray], float, tuple[int, ...]]:
        """Pruned arrays, achieved sparsity (over the layer's pruned arrays) and kept counts."""
        masks = keep_masks(self.index, "layerwise", sparsity)
        pruned = apply_masks(self.arrays, masks)
        size = sum(m.size for m in masks if m is not None)
        kept = tuple(int(np.count_nonzero(m)) for m in masks if m is not None)
        zeros = sum(int(a.size - np.count_nonzero(a)) for a, m in zip(pruned, masks) if m is not None)
        return pruned, zeros / size if size else 0.0, kept


def _row(layer: str, target: float, sparsity: float, score: Score) -> dict:
    return {"layer": layer, "target": target, "sparsity": sparsity,
            "accuracy": score.accuracy, "loss": score.loss}


def _check(workbench, levels: Sequence[float], scope: str,
           layers: Sequence[str] | None) -> tuple[list[float], list[LayerArrays]]:
    grid = [check_sparsity(s) for s in levels]
    if not grid:
        raise ValueError("no sparsity levels given")
    found = prunable_layers(workbench, scope)
    if layers is not None:
        names = [f.name for f in found]
        unknown = [n for n in layers if n not in names]
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; choose from {names}")
        found = [f for f in found if f.name in set(layers)]
    return grid, found


def layer_sensitivity_naive(workbench, levels: Sequence[float], scope: str = "all",
                            progress: Progress | None = None,
                            layers: Sequence[str] | None = None, *,
                            tick: Tick | None = None) -> pd.DataFrame:
    """Reference: a full forward pass over val for every (layer, level)."""
    grid, found = _check(workbench, levels, scope, layers)
    dense = list(workbench.baseline.arrays)
    rows, total = [], len(found) * len(grid)
    for lay in found:
        pruner = _LayerPruner(workbench, lay, scope)
        for s in grid:
            pruned, achieved, _ = pruner.prune(s)
            arrays = list(dense)
            for i, a in zip(lay.indices, pruned):
                arrays[i] = a
            rows.append(_row(lay.name, s, achieved, workbench.val.evaluate(arrays)))
            if progress is not None:
                progress(len(rows), total, rows[-1])
            if tick is not None:
                tick(len(rows) / total, lay.name)
    workbench.val.set_weights(dense)
    return pd.DataFrame(rows, columns=COLUMNS)


def layer_shapes(model: keras.Model) -> list[tuple[int, ...]]:
    """Per-sample input shape of every layer of a Sequential model, plus the output shape."""
    shape = (None, *model.input_shape[1:])
    out = [tuple(shape[1:])]
    for layer in model.layers:
        shape = tuple(layer.compute_output_shape(shape))
        out.append(tuple(shape[1:]))
    return out


def _cut(model: keras.Model, position: int, n: int, cache_bytes: int) -> int:
    """Latest layer index <= position whose input activation (n samples, float32) fits."""
    shapes = layer_shapes(model)
    for j in range(position, 0, -1):
        if 4 * n * int(np.prod(shapes[j])) <= cache_bytes:
            return j
    return 0


def _chain(layers: Sequence[keras.layers.Layer]) -> Callable:
    def run(x):
        for layer in layers:
            x = layer(x, training=False)
        return x
    return tf.function(run, reduce_retracing=True)


_SEGMENTS: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def _segment(model: keras.Model, start: int, stop: int) -> Callable:
    """Compiled ``model.layers[start:stop]``, traced once per model and range."""
    per = _SEGMENTS.setdefault(model, {})
    if (start, stop) not in per:
        per[start, stop] = _chain(model.layers[start:stop])
    return per[start, stop]


def layer_sensitivity(workbench, levels: Sequence[float], scope: str = "all",
                      progress: Progress | None = None, *, layers: Sequence[str] | None = None,
                      cache_bytes: int = DEFAULT_CACHE_BYTES, tick: Tick | None = None) -> pd.DataFrame:
    """Val accuracy and loss when only one layer is pruned to each level (fractions 0..1).

    Args:
        workbench: a ``Workbench``; its model is left holding the dense weights.
        levels: target sparsities per layer, fractions in [0, 1].
        scope: 'all' prunes each layer's kernel and bias, 'kernels' its kernel only.
        progress: called as ``progress(done, total, row)`` after every row.
        tick: called as ``tick(fraction_done, layer)`` after every validation batch. The fast
            path finishes a layer's rows all at once, after its last batch; ``tick`` moves a
            progress bar in between.
        layers: restrict to these layer names (default: every layer with weights in scope).
        cache_bytes: memory allowed for one cached prefix activation (default 256 MiB).

    Returns:
        One row per (layer, level): layer, target, sparsity (achieved within the layer's
        pruned arrays), accuracy, loss. Layers in model order, levels in the given order.

    Raises:
        ValueError: a level outside [0, 1], an unknown scope or layer name.

    Example:
        >>> df = layer_sensitivity(wb, [0.5, 0.9])          # doctest: +SKIP
        >>> df.pivot(index="target", columns="layer", values="accuracy")  # doctest: +SKIP
    """
    grid, found = _check(workbench, levels, scope, layers)
    model = workbench.model
    if not isinstance(model, keras.Sequential) or any(f.position < 0 for f in found):
        return layer_sensitivity_naive(workbench, grid, scope, progress, layers, tick=tick)
    dense_arrays = list(workbench.baseline.arrays)
    workbench.val.set_weights(dense_arrays)
    split, bs, end = workbench.val.split, workbench.val.batch_size, len(model.layers)
    cached = [tf.constant(split.x[i:i + bs]) for i in range(0, len(split), bs)]
    variables = model.weights
    dense_score: Score | None = None  # shared by every level that keeps a whole layer
    rows: list[dict] = []
    total, cut = len(found) * len(grid), 0
    for n, lay in enumerate(found):  # positions never decrease along the model: the cache only moves forward
        j = _cut(model, lay.position, len(split), cache_bytes)
        if j > cut:
            cached = [_segment(model, cut, j)(h) for h in cached]
            cut = j
        pruner = _LayerPruner(workbench, lay, scope)
        whole = tuple(int(a.size) for a, sel in zip(pruner.arrays, pruner.index.selected) if sel)
        at = [pruner.prune(s) for s in grid]  # (pruned arrays, achieved sparsity, kept counts)
        todo = {kept: pruned for pruned, _, kept in at if kept != whole}  # one per distinct mask
        need_dense = dense_score is None and any(kept == whole for _, _, kept in at)
        lead, suffix = _segment(model, cut, lay.position), _segment(model, lay.position, end)
        outs: dict = {kept: [] for kept in todo} | ({whole: []} if need_dense else {})
        owned, dense_owned = [variables[i] for i in lay.indices], [dense_arrays[i] for i in lay.indices]
        for k, h in enumerate(cached):  # one batch at a time: its input to the layer is computed once
            if lay.position > cut:
                h = lead(h)
            if need_dense:
                outs[whole].append(suffix(h).numpy())
            for kept, pruned in todo.items():
                assign_arrays(owned, pruned)
                outs[kept].append(suffix(h).numpy())
            assign_arrays(owned, dense_owned)
            if tick is not None:
                tick((n + (k + 1) / len(cached)) / len(found), lay.name)
        kind = workbench.val.output_kind
        scores = {kept: score_outputs(np.concatenate(p), split.y, kind) for kept, p in outs.items()}
        if need_dense:
            dense_score = scores[whole]
        for s, (_, achieved, kept) in zip(grid, at):
            rows.append(_row(lay.name, s, achieved, dense_score if kept == whole else scores[kept]))
            if progress is not None:
                progress(len(rows), total, rows[-1])
    return pd.DataFrame(rows, columns=COLUMNS)


def accuracy_table(rows: pd.DataFrame) -> pd.DataFrame:
    """``layer_sensitivity`` rows as a table: one row per layer (model order), one column per
    level (target fraction, ascending), val accuracy (fraction) in the cells."""
    wide = rows.pivot(index="layer", columns="target", values="accuracy")
    return wide.loc[list(dict.fromkeys(rows["layer"]))]

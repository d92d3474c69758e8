"""Physically remove channel units: a new, smaller Keras model with sliced weights.

What "removing a unit" equals (the invariant the tests check within 1e-5): in the original
model, *zeroing* the unit, i.e. setting to 0 every 'out' slot entry of the unit: the
producers' kernel columns and biases, the gamma, beta **and** moving mean of every
BatchNorm the channel passes through (so the normalized channel is exactly 0, with or
without ``scale``/``center``), and the bias of a depthwise conv it passes through. The channel is then 0
after every later layer up to its consumers (activations on its path map 0 to 0, which
``graph`` enforces by pinning channels that meet an activation with f(0) != 0), so the
consumers' input rows for it contribute nothing, and dropping those rows, the columns and
the BatchNorm entries gives the same predictions up to float rounding.
"""

from __future__ import annotations

import copy
from typing import Iterable

import keras
import numpy as np

from ..models import clone_model
from .graph import ChannelGraph, StructureError


Keeps = dict[tuple[str, str], list[tuple[int, np.ndarray]]]  # (layer, weight) -> [(axis, keep mask)]


def _slot_keeps(graph: ChannelGraph, removed: Iterable[int]) -> Keeps:
    gone = np.fromiter(set(int(u) for u in removed), np.int64)
    out: dict[tuple[str, str], list[tuple[int, np.ndarray]]] = {}
    for s in graph.slots:
        keep = ~np.isin(graph.root(s.ids), gone)
        out.setdefault((s.layer, s.weight), []).append((s.axis, keep))
    return out


def _check_units(graph: ChannelGraph, removed: Iterable[int]) -> set[int]:
    removed = {int(u) for u in removed}
    known = {u for g in graph.groups for u in g.units}
    unknown = removed - known
    if unknown:
        raise StructureError(f"{len(unknown)} units to remove are not prunable units of this model")
    for g in graph.groups:
        if all(u in removed for u in g.units):
            raise StructureError(f"removing every channel of {g.name} would leave it empty")
    return removed


def _short(v) -> str:
    return v.path.split("/")[-1]


def widths_after(graph: ChannelGraph, removed: Iterable[int]) -> dict[str, tuple[int, int]]:
    """Producer layer -> (channels before, channels after) for this removal."""
    gone = np.fromiter(_check_units(graph, removed), np.int64)
    return {layer: (len(ids), int((~np.isin(graph.root(ids), gone)).sum()))
            for layer, ids in graph.out_ids.items()}


def _edit_config(config: dict, widths: dict[str, int], keys: dict[str, str]) -> dict:
    config = copy.deepcopy(config)
    for entry in config["layers"]:
        entry.pop("build_config", None)  # input shapes change; Keras rebuilds from the graph
        entry.pop("compile_config", None)
        name = entry["config"].get("name", entry.get("name"))
        if name in widths:
            entry["config"][keys[name]] = widths[name]
    return config


def remove_units(model: keras.Model, graph: ChannelGraph, removed: Iterable[int]) -> keras.Model:
    """A new model without the ``removed`` units (union-find roots from ``graph.groups``).

    Layer names, order and every other setting are kept; only ``units``/``filters`` of
    the producers shrink and the weights are sliced. The caller's model is not touched.
    """
    removed = _check_units(graph, removed)
    keeps = _slot_keeps(graph, removed)
    widths = {layer: after for layer, (_, after) in widths_after(graph, removed).items()}
    config = _edit_config(model.get_config(), widths, graph.widths)
    try:
        small = type(model).from_config(config)
    except Exception as e:
        raise StructureError(f"the smaller model cannot be rebuilt ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:200]})") from None
    for layer in small.layers:
        if not layer.weights:
            continue
        source = model.get_layer(layer.name)
        arrays = []
        for v, w in zip(layer.weights, source.weights):
            a = np.asarray(w.numpy())
            for axis, keep in keeps.get((layer.name, _short(w)), []):
                a = np.compress(keep, a, axis=axis)
            if tuple(a.shape) != tuple(v.shape):
                raise StructureError(f"{layer.name}/{_short(w)}: sliced to {a.shape} but the "
                                     f"rebuilt layer expects {tuple(v.shape)}")
            arrays.append(a)
        layer.set_weights(arrays)
    return small


def zero_units(model: keras.Model, graph: ChannelGraph, removed: Iterable[int]) -> keras.Model:
    """A copy of ``model`` with the ``removed`` units zeroed (the module docstring's meaning)."""
    removed = _check_units(graph, removed)
    gone = np.fromiter(removed, np.int64)
    twin = clone_model(model)
    for s in graph.slots:
        if s.role != "out":
            continue
        hit = np.isin(graph.root(s.ids), gone)
        if not hit.any():
            continue
        v = next(w for w in twin.get_layer(s.layer).weights if _short(w) == s.weight)
        a = np.array(v.numpy())
        index = [slice(None)] * a.ndim
        index[s.axis] = hit
        a[tuple(index)] = 0
        v.assign(a)
    return twin

"""Multiply-adds of a Keras model: dense (every weight used) and effective (non-zeros only).

A kernel entry is used once per output position of its layer, so a layer's MACs are
``positions x kernel.size`` and its effective MACs ``positions x nonzeros(kernel)``: the
multiply-adds a sparse kernel would still need (unstructured zeros skipped; for a
physically smaller model the two are equal). Positions are the output's spatial size for
Dense, Conv and DepthwiseConv layers and the input's for transposed convolutions.
Biases, BatchNorm, activations and pooling are not counted (the usual convention: they
are adds, folds or comparisons, not multiply-adds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

L = keras.layers
# layer class -> (kernel variable names, "output" or "input" positions)
_COUNTED = (
    ((L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose), ("kernel",), "input"),
    ((L.SeparableConv1D, L.SeparableConv2D), ("depthwise_kernel", "pointwise_kernel"), "output"),
    ((L.DepthwiseConv1D, L.DepthwiseConv2D), ("kernel",), "output"),
    ((L.Conv1D, L.Conv2D, L.Conv3D, L.Dense), ("kernel",), "output"),
)
_NO_MACS = (L.BatchNormalization, L.LayerNormalization, L.GroupNormalization, L.Embedding,
            L.Normalization, L.PReLU)


@dataclass(frozen=True)
class LayerMacs:
    """One layer's multiply-adds per sample: dense and counting non-zero kernel entries only."""

    layer: str
    macs: int
    effective_macs: int


@dataclass(frozen=True)
class MacCount:
    """A model's multiply-adds per sample, per layer, and the weighted layers not counted."""

    macs: int
    effective_macs: int
    layers: tuple[LayerMacs, ...]
    skipped: tuple[str, ...]  # layers with weights this counter cannot reason about


def _positions(shape) -> int:
    """Spatial positions of an (N, ..., C) shape: the product of the middle dimensions."""
    dims = list(shape)[1:-1]
    if any(d is None for d in dims):
        raise ValueError(f"cannot count multiply-adds for an unknown spatial size {tuple(shape)}; "
                         "build the model with a fixed input shape")
    return int(math.prod(dims))


def _kernel(layer: keras.layers.Layer, name: str) -> np.ndarray:
    for v in layer.weights:
        if v.path.split("/")[-1] == name:
            return np.asarray(v.numpy())
    raise ValueError(f"layer {layer.name}: no {name} weight")


def _layer_macs(layer: keras.layers.Layer) -> LayerMacs | None:
    for classes, names, where in _COUNTED:
        if isinstance(layer, classes):
            shape = (layer.input if where == "input" else layer.output).shape
            pos = _positions(shape)
            if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
                # strides apply in the depthwise step, so both steps run at the output positions
                dw, pw = (_kernel(layer, n) for n in names)
                return LayerMacs(layer.name, pos * (dw.size + pw.size),
                                 pos * int(np.count_nonzero(dw) + np.count_nonzero(pw)))
            k = _kernel(layer, names[0])
            return LayerMacs(layer.name, pos * k.size, pos * int(np.count_nonzero(k)))
    return None


def mac_count(model: keras.Model) -> MacCount:
    """Per-sample multiply-adds of ``model`` (nested models are walked), dense and effective.

    Raises:
        ValueError: a counted layer with an unknown spatial size.
    """
    rows: list[LayerMacs] = []
    skipped: list[str] = []

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer)
                continue
            got = _layer_macs(layer)
            if got is not None:
                rows.append(got)
            elif layer.weights and not isinstance(layer, _NO_MACS):
                skipped.append(f"{layer.name} ({type(layer).__name__})")

    walk(model)
    return MacCount(sum(r.macs for r in rows), sum(r.effective_macs for r in rows),
                    tuple(rows), tuple(skipped))


def count_macs(model: keras.Model) -> int:
    """Dense multiply-adds per sample (every kernel entry counted)."""
    return mac_count(model).macs


def effective_macs(model: keras.Model) -> int:
    """Multiply-adds per sample that touch a non-zero kernel entry (unstructured zeros skipped)."""
    return mac_count(model).effective_macs

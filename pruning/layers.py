"""Every weight array of a Keras model, named and given a kind, nested models included.

Kinds: 'kernel' (a weight that multiplies activations: Dense, EinsumDense, Conv1D/2D/3D and
their transposes, DepthwiseConv2D, SeparableConv2D, LSTM/GRU/SimpleRNN kernel and recurrent
kernel, MultiHeadAttention query/key/value/output), 'bias' (their biases), 'embedding' (an
Embedding table; pruned only when asked, then its kind is 'kernel') and 'other' (normalization
parameters and statistics, and anything else, never pruned).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402

KINDS = ("kernel", "bias", "embedding", "other")
KERNEL_NAMES = frozenset({"kernel", "recurrent_kernel", "depthwise_kernel", "pointwise_kernel"})
NORMALIZATION_LAYERS = tuple(getattr(keras.layers, n) for n in (
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "Normalization",
    "UnitNormalization", "RMSNormalization") if hasattr(keras.layers, n))


@dataclass(frozen=True)
class WeightArray:
    """One weight array: name 'dense/kernel' (nested: 'backbone/conv1/kernel'), its kind, the
    layer that owns it (path as in the name) and that layer's class name."""

    name: str
    kind: str
    array: np.ndarray
    layer: str = ""
    layer_type: str = ""


def leaf_layers(model: keras.Model) -> list[tuple[str, keras.layers.Layer]]:
    """(path, layer) for every layer that is not itself a model, nested models walked in order;
    a nested model's layers get its name as a prefix ('backbone/conv1')."""
    out: list[tuple[str, keras.layers.Layer]] = []

    def walk(container: keras.Model, prefix: str) -> None:
        for layer in container.layers:
            if isinstance(layer, keras.Model):
                walk(layer, f"{prefix}{layer.name}/")
            else:
                out.append((f"{prefix}{layer.name}", layer))
    walk(model, "")
    return out


def relative_name(variable, layer: keras.layers.Layer) -> str:
    """The variable's path below its layer: 'kernel', 'query/kernel', 'lstm_cell/kernel'."""
    parts = str(getattr(variable, "path", variable.name)).split("/")
    if layer.name in parts[:-1]:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index(layer.name) + 1:])
    return parts[-1]


def legacy_order(layer: keras.layers.Layer) -> list:
    """A layer's variables in the Keras 2 / legacy .h5 order: trainable, then non-trainable
    (differs from ``layer.weights`` for a nested model holding BatchNormalization)."""
    out, seen = [], set()
    for v in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def kind_of(short: str, layer: keras.layers.Layer, prune_embeddings: bool = False) -> str:
    """The kind of a layer's variable named ``short`` (its last path segment)."""
    if isinstance(layer, NORMALIZATION_LAYERS):
        return "other"
    if short in KERNEL_NAMES:
        return "kernel"
    if short == "bias":
        return "bias"
    if short == "embeddings" and isinstance(layer, keras.layers.Embedding):
        return "kernel" if prune_embeddings else "embedding"
    return "other"


def weight_arrays(model: keras.Model, prune_embeddings: bool = False) -> list[WeightArray]:
    """All weights of a model in ``model.weights`` order (the order evaluators assign them in)."""
    owner: dict[int, tuple[str, keras.layers.Layer]] = {}
    for path, layer in leaf_layers(model):
        for v in layer.weights:
            owner.setdefault(id(v), (path, layer))
    out, seen = [], set()
    for v in model.weights:
        if id(v) in owner:
            path, layer = owner[id(v)]
            rel = relative_name(v, layer)
            name, kind = f"{path}/{rel}", kind_of(rel.split("/")[-1], layer, prune_embeddings)
            ltype = type(layer).__name__
        else:  # a variable no layer owns (should not happen with built-in layers)
            path, name, kind, ltype = "", str(getattr(v, "path", v.name)), "other", ""
        base, n = name, 1
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        out.append(WeightArray(name, kind, np.asarray(v.numpy()), path, ltype))
    return out


def assign_arrays(variables, arrays) -> None:
    """Write arrays into Keras variables in place, all or nothing (pairs in order).

    On the TensorFlow backend the write goes to each variable's backing ``tf.Variable``: the
    same in-place assignment at about half the cost of ``keras.Variable.assign``, which sweeps
    pay for every array at every level. Other backends use ``assign``.

    Raises:
        ValueError: another number of arrays than variables, or an array whose shape does
            not fit its variable (nothing is written then).
    """
    variables, arrays = list(variables), [np.asarray(a) for a in arrays]
    if len(variables) != len(arrays):
        raise ValueError(f"{len(arrays)} arrays for {len(variables)} variables")
    for v, a in zip(variables, arrays):
        if tuple(a.shape) != tuple(v.shape):
            raise ValueError(f"an array of shape {a.shape} does not fit {v.path}, shape {tuple(v.shape)}")
    for v, a in zip(variables, arrays):
        backing = v.value
        if hasattr(backing, "assign"):  # the backend's own variable (a tf.Variable)
            backing.assign(a if a.dtype == v.dtype else a.astype(v.dtype), read_value=False)
        else:
            v.assign(a)

"""Accuracy and loss of a model on a split through one compiled forward function.

The loss matches the model's output kind, as Keras computes it when training: sparse
categorical cross-entropy on softmax probabilities (clipped to [1e-7, 1 - 1e-7]) or on logits
(``from_logits=True``), binary cross-entropy for one sigmoid unit (accuracy at 0.5).

The function is traced once per evaluator; sweeps assign new weights into the same
variables and call it again, so no per-level retracing or weight copies happen.

Precision 'bfloat16' runs a twin of the model that keeps float32 weights but computes
every layer before the classifier in bfloat16 (Keras' 'mixed_bfloat16' policy); the
classifier and softmax stay float32 so probabilities and margins keep full precision.
On CPUs with native bfloat16 (AVX512-BF16, AMX) a pass takes about half the time; the
answers are close to float32 but not identical, so it is for approximate sweeps only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from .data import Split
from .layers import assign_arrays

PRECISIONS = ("float32", "bfloat16")
OUTPUT_KINDS = ("softmax", "logits", "sigmoid")  # see pruning.modelinfo.detect_output


@dataclass(frozen=True)
class Score:
    """Accuracy (fraction 0..1) and mean cross-entropy loss on n samples."""

    accuracy: float
    loss: float
    n: int


class Evaluator:
    """Evaluates a model on a fixed split; call ``evaluate(weights)`` per level.

    Args:
        model: the Keras model; its variables are overwritten by ``evaluate(weights)``,
            so give each session / thread its own model.
        split: images and labels.
        batch_size: forward batch size (default 1000).
        precision: 'float32' (default) or 'bfloat16'; with 'bfloat16' the evaluator runs
            its own twin of ``model`` (see ``bfloat16_twin``), so ``model`` is not touched.
    """

    def __init__(self, model: keras.Model, split: Split, batch_size: int = 1000,
                 precision: str = "float32", output_kind: str | None = None) -> None:
        if output_kind is None:
            from .modelinfo import detect_output

            output_kind = detect_output(model)[0]
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {', '.join(OUTPUT_KINDS)}, got {output_kind!r}")
        self.output_kind = output_kind
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = precision
        if precision == "bfloat16":
            model = bfloat16_twin(model)
        self.model = model
        self.split = split
        self.batch_size = batch_size
        # NumPy views, converted per call: sessions share the dataset's memory instead of
        # each holding tensor copies (the conversion costs ~1 % of a forward pass).
        self._x = [split.x[i:i + batch_size] for i in range(0, len(split), batch_size)]
        self._forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Assign arrays (``model.weights`` order) into the model's variables in place."""
        assign_arrays(self.model.weights, weights)

    def outputs(self, idx: np.ndarray | None = None) -> np.ndarray:
        """The model's raw outputs (probabilities, logits or sigmoid) for the whole split, or
        for its samples ``idx`` (the same compiled function, traced for variable batch sizes)."""
        if idx is None:
            return np.concatenate([self._forward(x).numpy() for x in self._x])
        x, bs = self.split.x, self.batch_size
        return np.concatenate([self._forward(x[idx[i:i + bs]]).numpy() for i in range(0, len(idx), bs)])

    def probabilities(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (N, K) for the whole split or its samples ``idx`` (K = 2 for
        one sigmoid unit)."""
        return class_probabilities(self.outputs(idx), self.output_kind)

    def evaluate(self, weights: Sequence[np.ndarray] | None = None) -> Score:
        """Accuracy and loss with ``weights`` (or the model's current weights)."""
        if weights is not None:
            self.set_weights(weights)
        return score_outputs(self.outputs(), self.split.y, self.output_kind)


def bfloat16_twin(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (weights included) computing in bfloat16 up to its last weighted layer.

    Raises:
        ValueError: a layer that cannot be rebuilt from its config in another precision.
    """
    weighted = [i for i, layer in enumerate(model.layers) if layer.weights]
    head = weighted[-1] if weighted else len(model.layers)
    index = {id(layer): i for i, layer in enumerate(model.layers)}

    def rebuild(layer: keras.layers.Layer) -> keras.layers.Layer:
        policy = "float32" if index.get(id(layer), head) >= head else "mixed_bfloat16"
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})

    try:
        twin = keras.models.clone_model(model, clone_function=rebuild)
    except (TypeError, ValueError, NotImplementedError) as e:
        raise ValueError(f"this model cannot run in bfloat16 ({e}); use precision 'float32'") from None
    twin.set_weights(model.get_weights())
    return twin


def score_probabilities(p: np.ndarray, y: np.ndarray) -> Score:
    """Accuracy and Keras-style sparse categorical cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7])."""
    picked = np.clip(p[np.arange(len(y)), y], 1e-7, 1 - 1e-7)
    return Score(float(np.mean(p.argmax(axis=1) == y)), float(-np.mean(np.log(picked))), int(len(y)))


def class_probabilities(outputs: np.ndarray, kind: str) -> np.ndarray:
    """(N, K) class probabilities from raw outputs of ``kind`` (sigmoid -> [1 - p, p])."""
    if kind == "softmax":
        return outputs
    if kind == "logits":
        z = outputs.astype(np.float64)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    if kind == "sigmoid":
        p = outputs.reshape(len(outputs), -1)[:, 0]
        return np.stack([1 - p, p], axis=1)
    raise ValueError(f"unknown output kind {kind!r}")


def sample_losses(outputs: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    """Per-sample cross-entropy as Keras' training loss for ``kind`` computes it."""
    if kind == "softmax":
        return -np.log(np.clip(outputs[np.arange(len(y)), y], 1e-7, 1 - 1e-7))
    if kind == "logits":
        z = outputs.astype(np.float64)
        m = z.max(axis=1)
        lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
        return lse - z[np.arange(len(y)), y]
    if kind == "sigmoid":
        p = np.clip(outputs.reshape(len(outputs), -1)[:, 0].astype(np.float64), 1e-7, 1 - 1e-7)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    raise ValueError(f"unknown output kind {kind!r}")


def predictions(outputs: np.ndarray, kind: str) -> np.ndarray:
    """Predicted class per sample (sigmoid: 1 when p > 0.5, as Keras' BinaryAccuracy)."""
    if kind == "sigmoid":
        return (outputs.reshape(len(outputs), -1)[:, 0] > 0.5).astype(np.int64)
    return outputs.argmax(axis=1)


def score_outputs(outputs: np.ndarray, y: np.ndarray, kind: str) -> Score:
    """Accuracy and mean loss of raw model outputs of ``kind``."""
    if kind == "softmax":
        return score_probabilities(outputs, y)
    return Score(float(np.mean(predictions(outputs, kind) == y)),
                 float(np.mean(sample_losses(outputs, y, kind))), int(len(y)))


def training_loss(kind: str, soft_targets: bool = False) -> keras.losses.Loss:
    """The Keras loss to train a model with outputs of ``kind``: integer labels, or soft
    targets (distillation: one row of class probabilities per sample, (N, 1) for sigmoid)."""
    if kind == "sigmoid":
        return keras.losses.BinaryCrossentropy()
    if soft_targets:
        return keras.losses.CategoricalCrossentropy(from_logits=kind == "logits")
    return keras.losses.SparseCategoricalCrossentropy(from_logits=kind == "logits")


def soft_targets(teacher_probs: np.ndarray, y: np.ndarray, weight: float, kind: str) -> np.ndarray:
    """Distillation targets: labels blended with the teacher's class probabilities, shaped
    for ``training_loss(kind, soft_targets=True)``."""
    k = teacher_probs.shape[1]
    blended = (1 - weight) * np.eye(k, dtype=np.float32)[y] + weight * teacher_probs
    return (blended[:, 1:] if kind == "sigmoid" else blended).astype(np.float32)

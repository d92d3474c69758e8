"""Accuracy and loss of a model on a split through one compiled forward function.

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

PRECISIONS = ("float32", "bfloat16")


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
                 precision: str = "float32") -> None:
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
        for v, a in zip(self.model.weights, weights):
            v.assign(a)

    def probabilities(self, idx: np.ndarray | None = None) -> np.ndarray:
        """Softmax outputs (N, K) for the whole split, or (len(idx), K) for its images ``idx``
        (the same compiled function, traced for variable batch sizes)."""
        if idx is None:
            return np.concatenate([self._forward(x).numpy() for x in self._x])
        x, bs = self.split.x, self.batch_size
        return np.concatenate([self._forward(x[idx[i:i + bs]]).numpy() for i in range(0, len(idx), bs)])

    def evaluate(self, weights: Sequence[np.ndarray] | None = None) -> Score:
        """Accuracy and loss with ``weights`` (or the model's current weights)."""
        if weights is not None:
            self.set_weights(weights)
        return score_probabilities(self.probabilities(), self.split.y)


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

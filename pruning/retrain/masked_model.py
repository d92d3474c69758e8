"""``MaskedModel``: a Keras model wrapper whose pruned weights stay exactly zero in training."""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from .options import RetrainError


class MaskedModel(keras.Model):
    """Trains ``inner`` with pruned entries pinned at exactly zero.

    ``train_step`` multiplies every gradient by its mask before the optimizer sees it and
    re-applies the mask after the update, so neither Adam's moments, AdamW's weight decay
    nor an L2 regularizer's gradient can move a pruned weight off 0. Masks live in bool
    ``tf.Variable``s, so gradual pruning changes them between steps without retracing.

    Args:
        inner: the model to train (its variables are shared, not copied).
        prunable: per entry of ``inner.weights``, whether it gets a mask.
    """

    def __init__(self, inner: keras.Model, prunable: Sequence[bool]) -> None:
        super().__init__(name=f"masked_{inner.name}")
        self.inner = inner
        self._pins = Pins(inner.weights, prunable)

    def call(self, x, training=None):
        return self.inner(x, training=training)

    def set_masks(self, masks: Sequence[np.ndarray | None]) -> None:
        """Install keep-masks (``inner.weights`` order) and zero the pruned entries now."""
        self._pins.assign(masks)

    def masks(self) -> list[np.ndarray | None]:
        """The current keep-masks as NumPy bool arrays."""
        return [None if m is None else m.numpy() for m in self._pins.masks]

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
        variables = self.trainable_variables
        grads = tape.gradient(loss, variables)
        grads = [self._pins.mask(v, g) for v, g in zip(variables, grads)]
        self.optimizer.apply_gradients(zip(grads, variables))
        self._pins.pin(variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


class Pins:
    """Bool mask variables for the prunable weights of a model, found by variable identity."""

    def __init__(self, weights: Sequence, prunable: Sequence[bool]) -> None:
        self.weights = list(weights)
        self.masks = [tf.Variable(np.ones(tuple(v.shape), bool), trainable=False) if p else None
                      for v, p in zip(self.weights, prunable)]
        self._by_id = {id(v): m for v, m in zip(self.weights, self.masks) if m is not None}

    def assign(self, masks: Sequence[np.ndarray | None]) -> None:
        """Install keep-masks and zero what they prune (None = keep everything)."""
        for v, m, new in zip(self.weights, self.masks, masks):
            if m is None:
                if new is not None and not np.all(new):
                    raise RetrainError(f"{v.path}: has no mask slot (outside the pruning scope)")
                continue
            keep = np.ones(m.shape, bool) if new is None else np.asarray(new, bool)
            m.assign(keep)
            v.assign(np.where(keep, v.numpy(), np.zeros((), v.dtype)))

    def mask(self, v, g):
        """Gradient ``g`` of variable ``v`` with the pruned entries zeroed."""
        m = self._by_id.get(id(v))
        return g if m is None or g is None else tf.where(m, g, tf.zeros_like(g))

    def pin(self, variables) -> None:
        """Re-zero the pruned entries of ``variables`` (after an optimizer update)."""
        for v in variables:
            m = self._by_id.get(id(v))
            if m is not None:
                v.assign(tf.where(m, v, tf.zeros_like(v)))

"""Independent references the tests compare against: plain NumPy and Keras, no pruning code."""

from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
# accuracy tolerance, in images, between the tool's compiled forward pass and an eager Keras
# call: the two may round differently, which can flip an image whose top two classes tie
ONE_IMAGE = 1


def in_scope(kinds: Sequence[str], scope: str) -> list[bool]:
    """Which arrays a scope prunes: every array ('all') or kernels only ('kernels')."""
    return [scope == "all" or k == "kernel" for k in kinds]


def prune_global(arrays: Sequence[np.ndarray], kinds: Sequence[str], s: float,
                 scope: str = "all") -> list[np.ndarray]:
    """The seed's method 1: zero |w| below the ``s`` percentile of every in-scope |w|."""
    sel = in_scope(kinds, scope)
    t = np.percentile(np.concatenate([np.abs(a).ravel() for a, k in zip(arrays, sel) if k]), 100 * s)
    return [np.where(np.abs(a) < t, 0, a).astype(a.dtype) if k else a for a, k in zip(arrays, sel)]


def prune_layerwise(arrays: Sequence[np.ndarray], kinds: Sequence[str], s: float,
                    scope: str = "all") -> list[np.ndarray]:
    """The seed's method 2: each in-scope array loses |w| below its own ``s`` percentile."""
    sel = in_scope(kinds, scope)
    return [np.where(np.abs(a) < np.percentile(np.abs(a), 100 * s), 0, a).astype(a.dtype) if k else a
            for a, k in zip(arrays, sel)]


def zero_fraction(arrays: Sequence[np.ndarray]) -> float:
    """Share of exact zeros over all entries."""
    return sum(a.size - np.count_nonzero(a) for a in arrays) / sum(a.size for a in arrays)


def demo_pixels(x: np.ndarray) -> np.ndarray:
    """The bundled Fashion-MNIST images as the demo model was trained on them: uint8 pixels
    stored (N, 28, 28), fed as float32 (N, 28, 28, 1) scaled to 0..1."""
    return x[..., None].astype(np.float32) / 255


def keras_accuracy(model: keras.Model, weights: Sequence[np.ndarray], x: np.ndarray,
                   y: np.ndarray) -> float:
    """Top-1 accuracy of a copy of ``model`` holding ``weights`` (one forward pass, no batching)."""
    twin = keras.models.clone_model(model)
    twin.set_weights(list(weights))
    p = np.asarray(twin(x, training=False))
    return float(np.mean(p.argmax(axis=1) == y))


def wilson(correct: int, n: int, population: int | None = None, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval, from its textbook formula (finite-population n_eff when given)."""
    n_eff = n if population is None else n * (population - 1) / (population - n)
    p = correct / n
    centre = (p + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff ** 2))
    return max(0.0, centre - half), min(1.0, centre + half)

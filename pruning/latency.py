"""Measured inference latency: Keras and LiteRT, several models timed in the same run.

Every figure is the median wall time of ``runs`` calls after ``warmup`` untimed ones.
Models compared with each other are timed in alternating order within each round (A B,
then B A, ...), so a load spike on a shared machine hits both and their ratio stays fair.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence

import keras
import numpy as np

MIN_RUNS = 20  # what reports promise; functions accept fewer for quick tests


def sample_batch(input_shape: Sequence[int], batch: int, seed: int = 0) -> np.ndarray:
    """A seeded float32 batch in [0, 1), the input range the bundled models expect."""
    return np.random.default_rng(seed).random((batch, *input_shape), dtype=np.float32)


def keras_call(model: keras.Model, x: np.ndarray) -> Callable[[], object]:
    """A zero-argument call running ``model`` on ``x`` through one compiled forward function."""
    import tensorflow as tf

    forward = tf.function(lambda t: model(t, training=False))
    xt = tf.constant(x)
    return lambda: forward(xt).numpy()


def litert_call(runner, x: np.ndarray) -> Callable[[], object]:
    """A zero-argument call running a ``pruning.tflite.LiteRTModel`` on ``x``."""
    return lambda: runner.invoke(x)


def paired_medians(calls: Sequence[Callable[[], object]], runs: int = MIN_RUNS,
                   warmup: int = 3) -> list[float]:
    """Median milliseconds of each call, all timed in the same rounds in alternating order.

    Raises:
        ValueError: ``runs`` below 1 or ``warmup`` below 0.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be >= 1 and warmup >= 0, got {runs} and {warmup}")
    for _ in range(warmup):
        for c in calls:
            c()
    times: list[list[float]] = [[] for _ in calls]
    order = list(range(len(calls)))
    for r in range(runs):
        for i in (order if r % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            calls[i]()
            times[i].append(time.perf_counter() - t0)
    return [1000 * statistics.median(t) for t in times]

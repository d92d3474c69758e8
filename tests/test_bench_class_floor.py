"""The class compute floor (bench/bench_class_floor.py): the FLOPs of its pass are twice a
multiply-add count written out by hand, and its floors scale with the session count."""

import keras
import numpy as np
import pytest

from bench.bench_class_floor import markdown, measure
from pruning.data import Split


def _model():
    inner = keras.Sequential([keras.Input((6, 6, 8)), keras.layers.DepthwiseConv2D(3, padding="same"),
                              keras.layers.Conv2D(4, 1)], name="inner")
    return keras.Sequential([
        keras.Input((12, 12, 3)), keras.layers.Conv2D(8, 3, padding="same"),
        keras.layers.MaxPooling2D(), inner, keras.layers.SeparableConv2D(5, 3, padding="valid"),
        keras.layers.Flatten(), keras.layers.Dense(7), keras.layers.Dense(3, activation="softmax")])


def _split(n: int) -> Split:
    rng = np.random.default_rng(0)
    return Split(rng.random((n, 12, 12, 3), dtype=np.float32), rng.integers(0, 3, n))


def test_pass_flops_are_each_kernel_applied_at_each_output_position():
    model = _model()
    # each kernel weight is used once per output position (per output channel for depthwise
    # multipliers): conv 12x12, depthwise and pointwise 6x6, separable 4x4, dense once
    want = (3 * 3 * 3 * 8) * 12 * 12 + (3 * 3 * 8) * 6 * 6 + (8 * 4) * 6 * 6 \
        + (3 * 3 * 4) * 4 * 4 + (4 * 5) * 4 * 4 + (4 * 4 * 5 * 7) + 7 * 3
    r = measure([1], model=model, split=_split(10), repeats=1)
    assert r["macs_per_image"] == want and r["gflop_per_pass"] == pytest.approx(2 * want * 10 / 1e9)


def test_floor_scales_with_sessions():
    model = _model()
    r = measure([1, 5], model=model, split=_split(64), repeats=1)
    one, five = r["rows"]
    assert five["floor_measured_s"] == pytest.approx(5 * one["floor_measured_s"])
    assert five["floor_at_peak_s"] == pytest.approx(5 * one["floor_at_peak_s"])
    assert r["matmul_gflops"] > 0 and r["pass_s"] > 0
    assert "| 5 |" in "\n".join(markdown(r))

"""Multiply-adds against hand formulas, latency timing, and the deployment report's figures
against the files and numbers they claim to describe."""

from __future__ import annotations

import gzip

import keras
import numpy as np
import pytest

from pruning.deploy import count_macs, deployment_report
from pruning.latency import paired_medians
from pruning.macs import mac_count


def conv_macs(out_hw, k, cin, cout) -> int:
    return out_hw[0] * out_hw[1] * k * k * cin * cout


def test_seed_stack_macs_match_the_formula(tiny_model):
    # tiny seed stack (12x12x1, width 0.25): 8, 8, 16, 16 filters, dense 128, 3 classes
    want = (conv_macs((12, 12), 3, 1, 8) + conv_macs((10, 10), 3, 8, 8)
            + conv_macs((5, 5), 3, 8, 16) + conv_macs((3, 3), 3, 16, 16) + 16 * 128 + 128 * 3)
    assert count_macs(tiny_model) == want
    assert mac_count(tiny_model).effective_macs == want  # trained weights have no zeros


def test_effective_macs_count_only_nonzero_kernel_entries(tiny_model):
    positions = {"conv2d": 144, "conv2d_1": 100, "conv2d_2": 25, "conv2d_3": 9, "dense": 1, "dense_1": 1}
    rng = np.random.default_rng(0)
    want = 0
    for layer in tiny_model.layers:
        if layer.name in positions:
            k = layer.kernel.numpy() * (rng.random(layer.kernel.shape) < 0.3)
            layer.kernel.assign(k)
            want += positions[layer.name] * int(np.count_nonzero(k))
    got = mac_count(tiny_model)
    assert got.effective_macs == want and got.macs > want


def test_depthwise_separable_and_residual_graphs():
    L = keras.layers
    x = keras.Input((8, 8, 4))
    a = L.Conv2D(6, 3, padding="same")(x)                     # 8*8*9*4*6
    b = L.DepthwiseConv2D(3, strides=2, depth_multiplier=2)(a)  # 3*3 out, 9 per output, 12 ch
    c = L.SeparableConv2D(5, 3, padding="same")(b)             # 3*3*(9*12 + 12*5)
    d = L.BatchNormalization()(c)
    e = L.Add()([d, L.Conv2D(5, 1)(c)])                        # 3*3*5*5
    y = L.Dense(2)(L.GlobalAveragePooling2D()(e))              # 5*2
    m = keras.Model(x, y)
    want = 8 * 8 * 9 * 4 * 6 + 3 * 3 * 9 * 12 + 3 * 3 * (9 * 12 + 12 * 5) + 3 * 3 * 5 * 5 + 10
    got = mac_count(m)
    assert got.macs == want and got.skipped == ()


def test_unknown_weighted_layers_are_named_not_ignored():
    L = keras.layers
    x = keras.Input((6,))
    m = keras.Model(x, L.Dense(3)(L.EinsumDense("ab,bc->ac", output_shape=4)(x)))
    got = mac_count(m)
    assert got.macs == 12 and any("EinsumDense" in s for s in got.skipped)


def test_paired_medians_time_each_call():
    import time

    ms = paired_medians([lambda: time.sleep(0.004), lambda: time.sleep(0.001)], runs=5, warmup=1)
    assert ms[0] > ms[1] > 0.5
    with pytest.raises(ValueError, match="runs must be"):
        paired_medians([lambda: None], runs=0)


def test_deployment_report_describes_the_files_and_times(tiny_model, tiny_data, tiny_weights_path):
    from tiny_fixtures import TINY_CLASSES, TINY_SHAPE
    from pruning.export import export_bytes
    from pruning.oneshot import Baseline, OneShotPruner
    from pruning.models import build_model, load_weights_into

    dense = load_weights_into(build_model(TINY_SHAPE, TINY_CLASSES, width=0.25), tiny_weights_path)
    tiny_model.set_weights(list(OneShotPruner(Baseline.from_model(dense)).prune("global", 0.8).arrays))
    r = deployment_report(tiny_model, dense, tiny_data, runs=3, warmup=1)
    arrays = tiny_model.get_weights()
    assert r["params"] == r["dense_params"] == sum(a.size for a in arrays)
    assert r["nonzeros"] == sum(int(np.count_nonzero(a)) for a in arrays) < r["dense_nonzeros"]
    assert r["macs"] == r["dense_macs"] == count_macs(dense) > r["effective_macs"]
    h5 = export_bytes(tiny_model, "h5")
    assert r["sizes"]["h5"] == len(h5)
    assert r["sizes"]["gzip"] == len(gzip.compress(h5, compresslevel=9, mtime=0))
    for fmt in ("tflite", "tflite-int8", "tflite-int8-full"):
        assert 0 < r["sizes"][fmt] and r["sizes"][f"{fmt}.gz"] > 0
    assert r["sizes"]["tflite-int8"] < r["dense_sizes"]["tflite-int8"]  # sparse format used
    for rt in ("keras", "litert"):
        for b in ("1", "256"):
            m, d = r["latency_ms"][rt][b], r["dense_latency_ms"][rt][b]
            assert m > 0 and d > 0 and r["speedup"][rt][b] == pytest.approx(d / m)
    assert r["runs"] == 3 and r["notes"] == []


def test_deployment_report_without_data_says_what_is_missing(tiny_model):
    r = deployment_report(tiny_model, tiny_model, None, runs=1, warmup=0, batches=(1,))
    assert "tflite-int8-full" not in r["sizes"] and any("calibrate" in n for n in r["notes"])
    assert set(r["latency_ms"]["keras"]) == {"1"}

"""pruning.layers.assign_arrays: the in-place write every sweep level and weight load uses."""

from __future__ import annotations

import numpy as np
import pytest


def _model():
    import keras

    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.BatchNormalization(),
                             keras.layers.Dense(2, activation="softmax")])


def test_assign_arrays_equals_keras_set_weights_bit_for_bit():
    from pruning.layers import assign_arrays

    ours, ref = _model(), _model()
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=v.shape).astype(np.float64) for v in ours.weights]  # cast on write
    variables = list(ours.weights)
    assign_arrays(variables, arrays)
    ref.set_weights(arrays)
    assert [v is w for v, w in zip(ours.weights, variables)] == [True] * len(variables)  # in place
    for a, b in zip(ours.get_weights(), ref.get_weights()):
        assert a.dtype == b.dtype == np.float32 and a.tobytes() == b.tobytes()
    x = rng.normal(size=(5, 6)).astype(np.float32)
    assert ours(x).numpy().tobytes() == ref(x).numpy().tobytes()  # the forward pass reads the new values


@pytest.mark.parametrize("bad", ["count", "shape"])
def test_assign_arrays_refuses_what_does_not_fit_and_writes_nothing(bad):
    from pruning.layers import assign_arrays

    model = _model()
    before = model.get_weights()
    arrays = [np.ones(v.shape, np.float32) for v in model.weights]
    arrays = arrays[:-1] if bad == "count" else arrays[:-1] + [np.ones((3,), np.float32)]
    with pytest.raises(ValueError, match="arrays for|does not fit"):
        assign_arrays(model.weights, arrays)
    for a, b in zip(model.get_weights(), before):
        assert a.tobytes() == b.tobytes()

"""Keras 3 int8 quantization: a copy, close to the float model, and a .keras file that reloads."""

from __future__ import annotations

import numpy as np

from pruning.quantize import keras_int8


def test_keras_int8_quantizes_a_copy_and_its_file_reloads(tiny_model, tiny_data):
    from pruning.export import verified_export_bytes

    before = [w.copy() for w in tiny_model.get_weights()]
    q = keras_int8(tiny_model)
    assert set(q.layers) == {"dense", "dense_1"}  # Keras 3.15 leaves Conv layers float
    for a, b in zip(before, tiny_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x, y = tiny_data.val.x, tiny_data.val.y
    float_acc = np.mean(tiny_model.predict(x, verbose=0).argmax(1) == y)
    int8_acc = np.mean(q.model.predict(x, verbose=0).argmax(1) == y)
    assert abs(float_acc - int8_acc) <= 0.02
    data = verified_export_bytes(q.model, "keras")  # reloads bit for bit or raises
    assert any(w.dtype == "int8" for w in q.model.get_weights()) and len(data) > 0

"""The model zoo through the API: what is detected, the dense score, the pruned arrays of
both methods in both scopes, and sensitivity's fast path against its naive one, each against
a plain Keras / NumPy reference. Scores of sweeps, sensitivity, retraining and every export
format go through the CLI (test_zoo_cli.py) and the dashboard pages
(tests/app/test_bring_your_own.py).

References here never call the pruning package's scoring or masking code: prunable arrays
are chosen by variable name and layer class, thresholds by ``np.percentile``, predictions by
the model's own compiled forward pass and losses by Keras' own loss objects.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo_models import SPECS, ref_norm_mask, ref_prune, ref_score, ref_selection, ref_whole

NAMES = list(SPECS)


def _bench(z):
    """(workbench, plain Keras model, prepared val x, val y) of a zoo model."""
    from pruning.data import load_data
    from pruning.modelinfo import model_classes
    from pruning.models import load_model
    from pruning.workbench import Workbench

    model = load_model(z.model_path)
    wb = Workbench(model, load_data(z.data_path, model_classes(model)))
    raw = np.load(z.data_path)
    return wb, keras.saving.load_model(z.model_path), z.prepare(raw["x_val"]), raw["y_val"]


@pytest.mark.parametrize("name", NAMES)
def test_detected_scored_pruned_and_sensitivity(name, zoo):
    from pruning.sensitivity import layer_sensitivity, layer_sensitivity_naive, prunable_layers

    z = zoo[name]
    wb, ref, x, y = _bench(z)
    info = wb.info
    assert (info.input_kind, info.output_kind, info.num_classes) == (z.input_kind, z.output_kind, z.classes)
    assert wb.fit.scale == z.scale, wb.fit.reason
    np.testing.assert_array_equal(wb.data.val.x, x)  # exactly the inputs the model was trained on
    dense_arrays = ref.get_weights()
    acc, loss = ref_score(ref, dense_arrays, x, y, z.output_kind)
    dense = wb.dense()["val"]
    assert dense.accuracy == pytest.approx(acc, abs=1e-9)
    assert dense.loss == pytest.approx(loss, rel=1e-4, abs=1e-6)
    sel = ref_selection(ref)
    assert sum(a.size for a, k in zip(dense_arrays, sel) if k) == info.prunable_params
    assert set(info.never_pruned) == {n for n, k in zip(wb.baseline.names, sel) if not k}

    # the pruned arrays of both methods and scopes: bit for bit the percentile rule's, and
    # normalization parameters and statistics untouched
    norm = ref_norm_mask(ref)
    assert any(norm) == z.norm_layers
    for method in ("global", "layerwise"):
        for scope in ("all", "kernels"):
            want = ref_prune(dense_arrays, ref_selection(ref, scope), method, 0.9)
            p = wb.prune(method, 0.9, scope)
            for a, b in zip(p.arrays, want):
                np.testing.assert_array_equal(a, b)
            assert p.sparsity_model == pytest.approx(ref_whole(want), abs=1e-12)
            for a, b, n in zip(p.arrays, dense_arrays, norm):
                if n:
                    assert a.tobytes() == b.tobytes()

    # sensitivity: the fast path (Sequential models) and the naive one give the same numbers
    layers = prunable_layers(wb)
    pick = [layers[0].name, layers[-1].name]
    fast = layer_sensitivity(wb, [0.6], layers=pick)
    naive = layer_sensitivity_naive(wb, [0.6], layers=pick)
    np.testing.assert_allclose(fast[["accuracy", "loss"]].to_numpy(), naive[["accuracy", "loss"]].to_numpy(),
                               rtol=1e-5, atol=1e-7)
    assert wb.model.get_weights()[0].tobytes() == dense_arrays[0].tobytes()  # left dense

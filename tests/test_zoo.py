"""The model zoo through the API: what is detected, dense and pruned scores, sweeps and
sensitivity (both paths), weight-file exports, each against a plain Keras / NumPy reference.
The .keras export and retraining go through the CLI in test_zoo_cli.py.

References here never call the pruning package's scoring or masking code: prunable arrays
are chosen by variable name and layer class, thresholds by ``np.percentile``, predictions by
``model.predict`` and losses by Keras' own loss objects.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo_models import (SPECS, ref_norm_mask, ref_prune, ref_score, ref_selection, ref_sparsity,
                        ref_whole)

NAMES = list(SPECS)


@pytest.fixture(scope="module")
def benches(zoo):
    """name -> (workbench, plain Keras model, prepared val x, val y)."""
    from pruning.data import load_data
    from pruning.modelinfo import model_classes
    from pruning.models import load_model
    from pruning.workbench import Workbench

    out = {}
    for name, z in zoo.items():
        model = load_model(z.model_path)
        wb = Workbench(model, load_data(z.data_path, model_classes(model)))
        raw = np.load(z.data_path)
        out[name] = (wb, keras.saving.load_model(z.model_path), z.prepare(raw["x_val"]), raw["y_val"])
    return out


@pytest.mark.parametrize("name", NAMES)
def test_detected_and_dense_scores(name, zoo, benches):
    z, (wb, ref, x, y) = zoo[name], benches[name]
    info = wb.info
    assert (info.input_kind, info.output_kind, info.num_classes) == (z.input_kind, z.output_kind, z.classes)
    assert wb.fit.scale == z.scale, wb.fit.reason
    np.testing.assert_array_equal(wb.data.val.x, x)  # exactly the inputs the model was trained on
    acc, loss = ref_score(ref, ref.get_weights(), x, y, z.output_kind)
    dense = wb.dense()["val"]
    assert dense.accuracy == pytest.approx(acc, abs=1e-9)
    assert dense.loss == pytest.approx(loss, rel=1e-4, abs=1e-6)
    sel = ref_selection(ref)
    assert sum(a.size for a, k in zip(ref.get_weights(), sel) if k) == info.prunable_params
    assert set(info.never_pruned) == {n for n, k in zip(wb.baseline.names, sel) if not k}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["global", "layerwise"])
def test_one_shot_sweep_matches_reference(name, method, zoo, benches):
    z, (wb, ref, x, y) = zoo[name], benches[name]
    dense = ref.get_weights()
    df = wb.sweep(method, [0.5, 0.9], "all")
    for scope in ("all", "kernels"):
        sel = ref_selection(ref, scope)
        for s in (0.5, 0.9):
            arrays = ref_prune(dense, sel, method, s)
            if scope == "all":
                row = df[df["target"] == s].iloc[0]
                acc, loss = ref_score(ref, arrays, x, y, z.output_kind)
                assert row["accuracy"] == pytest.approx(acc, abs=1e-9)
                assert row["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)
                assert row["sparsity"] == pytest.approx(ref_sparsity(arrays, sel), abs=1e-12)
            p = wb.prune(method, s, scope)
            for a, b in zip(p.arrays, arrays):
                np.testing.assert_array_equal(a, b)
            assert p.sparsity_model == pytest.approx(ref_whole(arrays), abs=1e-12)
            for a, b, norm in zip(p.arrays, dense, ref_norm_mask(ref)):
                if norm:  # normalization parameters and statistics: bit-identical
                    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_sensitivity_matches_reference(name, zoo, benches):
    from pruning.sensitivity import layer_sensitivity, layer_sensitivity_naive, prunable_layers

    z, (wb, ref, x, y) = zoo[name], benches[name]
    layers = prunable_layers(wb)
    pick = [layers[0].name, layers[-1].name]
    df = layer_sensitivity(wb, [0.6], layers=pick)
    naive = layer_sensitivity_naive(wb, [0.6], layers=pick)
    np.testing.assert_allclose(df[["accuracy", "loss"]].to_numpy(), naive[["accuracy", "loss"]].to_numpy(),
                               rtol=1e-5, atol=1e-7)
    dense, sel = ref.get_weights(), ref_selection(ref)
    for lay in layers:
        if lay.name not in pick:
            continue
        only = [k and i in lay.indices for i, k in enumerate(sel)]
        arrays = ref_prune(dense, only, "layerwise", 0.6)
        acc, loss = ref_score(ref, arrays, x, y, z.output_kind)
        row = df[df["layer"] == lay.name].iloc[0]
        assert row["accuracy"] == pytest.approx(acc, abs=1e-9)
        assert row["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)
    assert wb.model.get_weights()[0].tobytes() == dense[0].tobytes()  # left dense


@pytest.mark.parametrize("name", NAMES)
def test_weight_exports_reload_in_plain_keras(name, zoo, benches, tmp_path):
    """Legacy .h5 and Keras 3 .weights.h5 of a pruned model, read back by plain Keras
    ``load_weights`` into the architecture: every array bit-identical (the .keras format goes
    through the CLI in test_zoo_cli.py)."""
    from pruning.export import SUFFIX, verified_export_bytes

    z, (wb, ref, x, y) = zoo[name], benches[name]
    pruned = wb.prune("global", 0.7)
    for fmt in ("h5", "weights.h5"):
        path = tmp_path / f"m{SUFFIX[fmt]}"
        path.write_bytes(verified_export_bytes(wb.load(pruned.arrays), fmt, pruned.arrays))
        back = keras.models.clone_model(ref)
        back.load_weights(path)
        got = back.get_weights()
        assert len(got) == len(pruned.arrays)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(got, pruned.arrays))

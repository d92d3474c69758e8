"""The model zoo through the API: what is detected, dense and pruned scores, sweeps,
sensitivity, exports and retraining, each against a plain Keras / NumPy reference.

References here never call the pruning package's scoring or masking code: prunable arrays
are chosen by variable name and layer class, thresholds by ``np.percentile``, predictions by
``model.predict`` and losses by Keras' own loss objects.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo_models import SPECS

NAMES = list(SPECS)
LOSSES = {"softmax": lambda: keras.losses.SparseCategoricalCrossentropy(),
          "logits": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
          "sigmoid": lambda: keras.losses.BinaryCrossentropy()}
KERNELS = {"kernel", "recurrent_kernel", "depthwise_kernel", "pointwise_kernel"}
NORMS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)


def _owners(model):
    """id(variable) -> owning non-model layer, walking nested models."""
    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.update(_owners(layer))
        else:
            out.update({id(v): layer for v in layer.weights})
    return out


def ref_selection(model, scope="all"):
    """Which of ``model.weights`` a scope prunes, decided from names and layer classes."""
    owners = _owners(model)
    sel = []
    for v in model.weights:
        short = v.path.split("/")[-1]
        layer = owners[id(v)]
        ok = not isinstance(layer, NORMS) and (short in KERNELS or (scope == "all" and short == "bias"))
        sel.append(ok)
    return sel


def ref_norm_mask(model):
    owners = _owners(model)
    return [isinstance(owners[id(v)], NORMS) for v in model.weights]


def ref_prune(arrays, sel, method, s):
    if method == "global":
        t = np.percentile(np.concatenate([np.abs(a).ravel() for a, k in zip(arrays, sel) if k]), 100 * s)
        return [np.where(np.abs(a) < t, 0, a).astype(a.dtype) if k else a for a, k in zip(arrays, sel)]
    return [np.where(np.abs(a) < np.percentile(np.abs(a), 100 * s), 0, a).astype(a.dtype) if k else a
            for a, k in zip(arrays, sel)]


_TWINS: dict = {}


def ref_score(model, arrays, x, y, kind):
    """Accuracy and Keras loss of ``arrays`` in (a twin of) ``model``, by ``model.predict``."""
    twin = _TWINS.setdefault(id(model), keras.models.clone_model(model))
    twin.set_weights(arrays)
    out = twin.predict(x, verbose=0, batch_size=256)
    pred = (out[:, 0] > 0.5).astype(int) if kind == "sigmoid" else out.argmax(axis=1)
    target = y.astype(np.float32)[:, None] if kind == "sigmoid" else y
    return float(np.mean(pred == y)), float(LOSSES[kind]()(target, out))


def ref_sparsity(arrays, sel):
    size = sum(a.size for a, k in zip(arrays, sel) if k)
    return sum(a.size - np.count_nonzero(a) for a, k in zip(arrays, sel) if k) / size


def ref_whole(arrays):
    return sum(a.size - np.count_nonzero(a) for a in arrays) / sum(a.size for a in arrays)


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
def test_exports_reload_in_plain_keras(name, zoo, benches, tmp_path):
    from pruning.export import FORMATS, SUFFIX, verified_export_bytes

    z, (wb, ref, x, y) = zoo[name], benches[name]
    pruned = wb.prune("global", 0.7)
    for fmt in FORMATS:
        path = tmp_path / f"m{SUFFIX[fmt]}"
        path.write_bytes(verified_export_bytes(wb.load(pruned.arrays), fmt, pruned.arrays))
        if fmt == "keras":
            back = keras.saving.load_model(path)
        else:
            back = keras.models.clone_model(ref)
            back.load_weights(path)
        got = back.get_weights()
        assert len(got) == len(pruned.arrays)
        for a, b in zip(got, pruned.arrays):
            assert a.tobytes() == b.tobytes()
        if fmt == "keras":  # a full model: its own architecture must score like the pruned one
            out = back.predict(x, verbose=0, batch_size=256)
            pred = (out[:, 0] > 0.5).astype(int) if z.output_kind == "sigmoid" else out.argmax(1)
            assert np.mean(pred == y) == pytest.approx(wb.val.evaluate(pruned.arrays).accuracy, abs=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_masked_retraining_reports_what_its_weights_score(name, zoo, benches):
    from pruning.retrain import Training, masked_retrain

    z, (wb, ref, x, y) = zoo[name], benches[name]
    res = masked_retrain(wb.model, wb.data, 0.6, training=Training(epochs=1, batch_size=64))
    arrays = list(res.pruned.arrays)
    acc, loss = ref_score(ref, arrays, x, y, z.output_kind)
    assert res.val.accuracy == pytest.approx(acc, abs=1e-9)
    assert res.val.loss == pytest.approx(loss, rel=1e-4, abs=1e-6)
    assert np.isfinite(res.history[-1]["loss"])
    sel = ref_selection(ref)
    assert ref_sparsity(arrays, sel) >= 0.6 - 1 / sum(a.size for a, k in zip(arrays, sel) if k)

"""The model zoo through the CLI (in process): info, both one-shot sweeps, sensitivity, a
masked retraining and every export format (.keras, .weights.h5, legacy .h5), reloaded in
plain Keras; each number against a plain Keras / NumPy reference (tests/zoo_models.py)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from zoo_models import (SPECS, ref_norm_mask, ref_prune, ref_score, ref_selection, ref_sparsity,
                        ref_whole)

from pruning.cli import main

NAMES = list(SPECS)


def cli(capsys, *argv) -> dict:
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def _io(z):
    raw = np.load(z.data_path)
    return ["--model", str(z.model_path), "--data", str(z.data_path)], z.prepare(raw["x_val"]), raw["y_val"]


@pytest.fixture(scope="module")
def refs(zoo):
    return {name: keras.saving.load_model(z.model_path) for name, z in zoo.items()}


@pytest.mark.parametrize("name", NAMES)
def test_info_and_sweeps(name, zoo, refs, capsys):
    z, ref = zoo[name], refs[name]
    args, x, y = _io(z)
    info = cli(capsys, "info", *args)
    assert (info["input_kind"], info["output_kind"], info["classes"]) == (z.input_kind, z.output_kind, z.classes)
    assert info["input_scale"] == z.scale and info["input_scale_requested"] == "auto"
    assert info["preset"] is None  # a .keras model brings its own architecture: no preset was used
    acc, loss = ref_score(ref, ref.get_weights(), x, y, z.output_kind)
    assert info["val_accuracy"] == pytest.approx(acc, abs=1e-9)
    assert info["val_loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)
    sel = ref_selection(ref)
    assert info["prunable_params"] == sum(a.size for a, k in zip(ref.get_weights(), sel) if k)
    assert bool(info["never_pruned"]) == (not all(sel))
    for method in ("global", "layerwise"):
        res = cli(capsys, "sweep", "--method", method, "--sparsity", "50,90", "--no-store", *args)
        assert res["input_scale"] == z.scale
        for p in res["points"]:
            arrays = ref_prune(ref.get_weights(), sel, method, p["target"])
            acc, loss = ref_score(ref, arrays, x, y, z.output_kind)
            assert p["accuracy"] == pytest.approx(acc, abs=1e-9)
            assert p["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)
            assert p["sparsity"] == pytest.approx(ref_sparsity(arrays, sel), abs=1e-12)
            assert p["sparsity_model"] == pytest.approx(ref_whole(arrays), abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_sensitivity(name, zoo, refs, capsys):
    z, ref = zoo[name], refs[name]
    args, x, y = _io(z)
    from pruning.layers import weight_arrays

    owners = list(dict.fromkeys(w.layer for w, k in zip(weight_arrays(ref), ref_selection(ref)) if k))
    pick = owners[:2] + owners[-1:]  # the first layers and the classifier
    res = cli(capsys, "sensitivity", "--sparsity", "60", "--layers", ",".join(pick), *args)
    dense, sel = ref.get_weights(), ref_selection(ref)
    names = [v.path for v in ref.weights]
    assert res["layers"] == list(dict.fromkeys(pick)), res["layers"]
    for row in res["rows"]:
        owned = [w.layer == row["layer"] for w in weight_arrays(ref)]
        only = [k and o for k, o in zip(sel, owned)]
        assert any(only), (row["layer"], names)
        acc, loss = ref_score(ref, ref_prune(dense, only, "layerwise", 0.6), x, y, z.output_kind)
        assert row["accuracy"] == pytest.approx(acc, abs=1e-9)
        assert row["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_prune_export_reloads_in_plain_keras(name, zoo, refs, capsys, tmp_path):
    z, ref = zoo[name], refs[name]
    args, x, y = _io(z)
    dense, sel = ref.get_weights(), ref_selection(ref)
    want = ref_prune(dense, sel, "global", 0.7)
    acc, loss = ref_score(ref, want, x, y, z.output_kind)
    for suffix in (".keras", ".weights.h5"):  # legacy .h5: the retraining below writes one
        out = tmp_path / f"pruned{suffix}"
        res = cli(capsys, "prune", "--method", "global", "--sparsity", "70", "--out", str(out), *args)
        assert res["accuracy"] == pytest.approx(acc, abs=1e-9)
        assert res["sparsity_model"] == pytest.approx(ref_whole(want), abs=1e-12)
        if suffix == ".keras":
            back = keras.saving.load_model(out)
        else:
            back = keras.models.clone_model(ref)
            back.load_weights(out)
        got = back.get_weights()
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.tobytes() == b.tobytes()  # normalization statistics included: bit-identical
        if suffix == ".keras":  # its own architecture scores like the reference
            assert ref_score(back, got, x, y, z.output_kind)[0] == pytest.approx(acc, abs=1e-9)
    norm_dense = [a for a, n in zip(dense, ref_norm_mask(ref)) if n]
    norm_pruned = [a for a, n in zip(want, ref_norm_mask(ref)) if n]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(norm_dense, norm_pruned))
    assert bool(norm_dense) == z.norm_layers


@pytest.mark.parametrize("name", NAMES)
def test_masked_retraining(name, zoo, refs, capsys, tmp_path):
    """One masked epoch written as legacy Keras 2 .h5: the reported accuracy and loss are what
    the file scores in plain Keras (read by ``load_weights`` into the model's own
    architecture), the target is met, and the training loss is the output kind's (finite)."""
    z, ref = zoo[name], refs[name]
    args, x, y = _io(z)
    out = tmp_path / "retrained.h5"
    res = cli(capsys, "retrain", "--method", "masked", "--sparsity", "60", "--epochs", "1",
              "--batch-size", "64", "--no-store", "--out", str(out), *args)
    back = keras.models.clone_model(ref)
    back.load_weights(out)
    arrays = back.get_weights()
    assert len(arrays) == len(ref.weights)
    acc, loss = ref_score(ref, arrays, x, y, z.output_kind)
    assert res["accuracy"] == pytest.approx(acc, abs=1e-9)
    assert res["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)
    assert res["input_scale"] == z.scale
    sel = ref_selection(ref)
    n = sum(a.size for a, k in zip(arrays, sel) if k)
    assert res["sparsity"] == pytest.approx(ref_sparsity(arrays, sel), abs=1e-12)
    assert res["sparsity"] >= 0.6 - 1 / n
    assert res["sparsity_model"] == pytest.approx(ref_whole(arrays), abs=1e-12)
    assert all(np.isfinite(h["loss"]) for h in res["history"])

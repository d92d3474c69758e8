"""LiteRT exports of the tiny model: each file's own accuracy through the interpreter, after a
write and a reload, compared with Keras on the same images."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pruning.tflite import (LiteRTModel, TFLiteError, convert, verified_tflite, write_tflite)

INT8_TOLERANCE = 0.02  # dynamic-range int8: within 2 points of Keras on 200 images
FULL_INT8_TOLERANCE = 0.03  # full int8 (activations too): within 3 points


def keras_accuracy(model, split) -> float:
    return float(np.mean(model.predict(split.x, verbose=0).argmax(1) == split.y))


@pytest.fixture(scope="module")
def exported(tiny_weights_path, tiny_data):
    from tiny_fixtures import TINY_CLASSES, TINY_SHAPE
    from pruning.models import build_model, load_weights_into

    model = load_weights_into(build_model(TINY_SHAPE, TINY_CLASSES, width=0.25), tiny_weights_path)
    files = {fmt: verified_tflite(model, fmt, tiny_data) for fmt in
             ("tflite", "tflite-int8", "tflite-int8-full")}
    return model, files


def test_float_file_matches_keras_within_a_tenth_of_a_point(exported, tiny_data):
    model, files = exported
    f = files["tflite"]
    assert abs(f.val.accuracy - keras_accuracy(model, tiny_data.val)) <= 0.001
    assert abs(f.test.accuracy - keras_accuracy(model, tiny_data.test)) <= 0.001
    lite = LiteRTModel(f.data)
    np.testing.assert_allclose(lite.predict(tiny_data.val.x[:50], 16),
                               model.predict(tiny_data.val.x[:50], verbose=0), atol=1e-5)


@pytest.mark.parametrize("fmt,tol", [("tflite-int8", INT8_TOLERANCE),
                                     ("tflite-int8-full", FULL_INT8_TOLERANCE)])
def test_int8_files_stay_within_the_stated_tolerance(exported, tiny_data, fmt, tol):
    model, files = exported
    f = files[fmt]
    assert abs(f.val.accuracy - keras_accuracy(model, tiny_data.val)) <= tol
    assert abs(f.test.accuracy - keras_accuracy(model, tiny_data.test)) <= tol
    assert len(f.data) < len(files["tflite"].data)  # int8 weights


def test_full_int8_file_takes_int8_in_and_out(exported):
    lite = LiteRTModel(exported[1]["tflite-int8-full"].data)
    assert lite._in["dtype"] == np.int8 and lite._out["dtype"] == np.int8


def test_written_file_reloads_to_the_accuracy_reported(exported, tiny_data, tmp_path):
    _, files = exported
    for fmt, f in files.items():
        p = write_tflite(f, tmp_path / f"{fmt}.tflite")
        assert p.read_bytes() == f.data
        again = LiteRTModel(path=p).evaluate(tiny_data.val)
        assert again.accuracy == f.val.accuracy


def test_sparse_model_is_stored_in_the_sparse_format_and_smaller(exported, tiny_data):
    from pruning.oneshot import Baseline, OneShotPruner
    import keras

    model, _ = exported
    sparse = keras.models.clone_model(model)
    sparse.set_weights(list(OneShotPruner(Baseline.from_model(model)).prune("global", 0.9).arrays))
    dense_fmt, sparse_fmt = convert(sparse, "tflite", sparse=False), convert(sparse, "tflite")
    assert len(sparse_fmt) < 0.6 * len(dense_fmt)
    a, b = LiteRTModel(dense_fmt), LiteRTModel(sparse_fmt)  # same answers either way
    x = tiny_data.val.x[:20]
    np.testing.assert_allclose(a.predict(x), b.predict(x), atol=1e-5)
    # sparse hybrid int8: XNNPack may refuse it; the builtin kernels then run (and say so)
    c, d = LiteRTModel(convert(sparse, "tflite-int8")), LiteRTModel(convert(sparse, "tflite-int8", sparse=False))
    for batch in (1, 8):
        np.testing.assert_allclose(c.predict(x, batch), d.predict(x, batch), atol=0.02)
    assert c.delegate in ("XNNPack", "builtin kernels (XNNPack refused this file)")


def test_auto_keeps_the_smaller_of_sparse_and_dense_format(exported):
    from pruning.oneshot import Baseline, OneShotPruner
    from pruning.tflite import convert_chosen
    import keras

    model, _ = exported
    twin = keras.models.clone_model(model)
    for method, s in (("nm", 0.5), ("global", 0.95)):
        twin.set_weights(list(OneShotPruner(Baseline.from_model(model)).prune(method, s).arrays))
        both = [convert(twin, "tflite-int8", sparse=flag) for flag in (False, True)]
        data, sparse = convert_chosen(twin, "tflite-int8")
        assert len(data) == min(map(len, both)) and sparse == (len(both[1]) < len(both[0]))


def test_bad_requests_get_a_clear_message(exported, tiny_data, tmp_path):
    model, files = exported
    with pytest.raises(TFLiteError, match="unknown LiteRT format"):
        convert(model, "onnx")
    with pytest.raises(TFLiteError, match="no training split"):
        verified_tflite(model, "tflite-int8-full", replace(tiny_data, train=None))
    with pytest.raises(TFLiteError, match="must end in .tflite"):
        write_tflite(files["tflite"], tmp_path / "x.h5")
    with pytest.raises(TFLiteError, match="cannot load"):
        LiteRTModel(b"not a flatbuffer" * 10)

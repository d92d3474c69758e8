"""The seed CNN presets and weight loading from every supported format."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pruning.export import write_weights
from pruning.models import (ModelError, build_preset, load_model, load_model_bytes,
                            read_weight_file, weight_arrays)


def test_presets_match_the_seed_architecture():
    m = build_preset("cmu-10605")
    assert m.count_params() == 592_933 and len(m.weights) == 12
    dense = [w for w in weight_arrays(m) if w.name == "dense/kernel"][0]
    assert dense.array.size / m.count_params() > 0.88  # Dense(512) holds ~89%
    assert [w.kind for w in weight_arrays(m)] == ["kernel", "bias"] * 6
    f = build_preset("fashion-mnist")
    assert f.input_shape == (None, 28, 28, 1) and f.output_shape == (None, 10)
    with pytest.raises(ModelError, match="cmu-10605, fashion-mnist"):
        build_preset("resnet")


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("fmt, name", [("h5", "w.h5"), ("weights.h5", "w.weights.h5"),
                                       ("keras", "w.keras")])
def test_every_format_round_trips_bit_identical(tmp_path, fmt, name):
    src = randomize(build_preset("cmu-10605"), 1)
    path = write_weights(src, tmp_path / name, fmt)
    back = load_model(path, preset="cmu-10605")
    for a, b in zip(src.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_legacy_h5_keras_load_weights_accepts_our_file(tmp_path):
    src = randomize(build_preset("fashion-mnist"), 2)
    path = write_weights(src, tmp_path / "pruned.h5", "h5")
    fresh = build_preset("fashion-mnist")
    fresh.load_weights(str(path))  # what a student does with Keras 3
    for a, b in zip(src.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


KERAS2_SEED_MODEL = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tf_keras as keras
from tf_keras import layers as L
reg = keras.regularizers.l2(1e-5)
m = keras.Sequential([
    L.Conv2D(32, 3, padding="same", kernel_regularizer=reg, input_shape=(25, 25, 3)), L.Activation("relu"),
    L.Conv2D(32, 3, kernel_regularizer=reg), L.Activation("relu"), L.MaxPooling2D(2), L.Dropout(0.25),
    L.Conv2D(64, 3, padding="same", kernel_regularizer=reg), L.Activation("relu"),
    L.Conv2D(64, 3, kernel_regularizer=reg), L.Activation("relu"), L.MaxPooling2D(2), L.Dropout(0.25),
    L.Flatten(), L.Dense(512), L.Activation("relu"), L.Dropout(0.5), L.Dense(5), L.Activation("softmax")])
"""


def run_keras2(code: str) -> None:
    out = subprocess.run([sys.executable, "-c", KERAS2_SEED_MODEL + textwrap.dedent(code)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_student_keras2_weights_load_into_cmu_preset(tmp_path):
    """A file written by Keras 2's model.save_weights('x.h5') (tf_keras) loads into the preset."""
    path, ref = tmp_path / "uncompressed_model_weights.h5", tmp_path / "ref.npz"
    run_keras2(f"""
        rng = np.random.default_rng(5)
        m.set_weights([rng.normal(size=w.shape).astype("float32") for w in m.get_weights()])
        m.save_weights({str(path)!r})
        np.savez({str(ref)!r}, *m.get_weights())
    """)
    model = load_model(path, preset="cmu-10605")
    with np.load(ref) as z:
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_array_equal(w, z[f"arr_{i}"])
    with pytest.raises(ModelError, match="shape"):
        load_model(path, preset="fashion-mnist")


def test_keras2_loads_our_legacy_export(tmp_path):
    """tf_keras' model.load_weights reads our legacy .h5 bit-identically (sparsity kept)."""
    from pruning.masks import prune_arrays

    src = randomize(build_preset("cmu-10605"), 3)
    kinds = [w.kind for w in weight_arrays(src)]
    src.set_weights(prune_arrays(src.get_weights(), kinds, "global", 0.9))
    path, ref = tmp_path / "pruned.h5", tmp_path / "ref.npz"
    write_weights(src, path, "h5")
    np.savez(ref, *src.get_weights())
    run_keras2(f"""
        m.load_weights({str(path)!r})
        with np.load({str(ref)!r}) as z:
            for i, w in enumerate(m.get_weights()):
                assert np.array_equal(w, z[f"arr_{{i}}"]), i
        zeros = sum(int((w == 0).sum()) for w in m.get_weights())
        total = sum(w.size for w in m.get_weights())
        assert abs(zeros / total - 0.9) < 0.001, zeros / total
    """)


def test_read_weight_file_lists_layers_in_order(tmp_path):
    path = write_weights(build_preset("fashion-mnist"), tmp_path / "w.h5", "h5")
    layers = read_weight_file(path)
    assert [n for n, _ in layers] == ["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "dense", "dense_1"]
    assert [v for v, _ in layers[0][1]] == ["kernel", "bias"]


def test_weights_with_other_layer_names_load_by_order(tmp_path):
    """Keras 3 names layers conv2d_7 … in a long session; such files still load by order."""
    import h5py

    src = randomize(build_preset("fashion-mnist"), 4)
    path = write_weights(src, tmp_path / "w.h5", "h5")
    with h5py.File(path, "r+") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        for n in names:
            f.move(n, n + "_9")
        f.attrs["layer_names"] = np.array([(n + "_9").encode() for n in names])
        for n in names:
            g = f[n + "_9"]
            g.attrs["weight_names"] = np.array(
                [w.replace(n + "/", n + "_9/", 1) for w in (x.decode() for x in g.attrs["weight_names"])],
                dtype="S")
            for w in list(g.keys()):
                g.move(w, n + "_9")
    back = load_model(path)
    for a, b in zip(src.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_errors_are_clear(tmp_path):
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_model(empty)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(ModelError, match="not an HDF5 file"):
        load_model(junk)
    with pytest.raises(ModelError, match="no such file"):
        load_model(tmp_path / "missing.h5")
    import keras

    three = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(3),
                              keras.layers.Dense(2)])
    with pytest.raises(ModelError, match="holds weights for 3 layers .* the model has 6"):
        load_model(write_weights(three, tmp_path / "three.h5"), preset="cmu-10605")


def test_upload_names_never_reach_the_file_system(tmp_path):
    data = write_weights(build_preset("fashion-mnist"), tmp_path / "w.h5").read_bytes()
    model = load_model_bytes(data, "../../etc/evil.h5")
    assert model.count_params() == 889_834
    with pytest.raises(ModelError, match="evil.h5: not an HDF5"):
        load_model_bytes(b"garbage" * 20, "../../etc/evil.h5")


# --- what the tool reads off a model (pruning.modelinfo) and refuses ------------------------

@pytest.mark.parametrize("make, message", [
    (lambda k: k.Model([a := k.Input((4,)), b := k.Input((4,))],
                       k.layers.Dense(2, activation="softmax")(k.layers.Concatenate()([a, b]))),
     "2 inputs"),
    (lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(3, activation="sigmoid")]), "multi-label"),
    (lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(1)]), "regression"),
    (lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(3, activation="relu")]),
     "does not look like a classifier"),
    (lambda k: k.Sequential([k.Input((5, 4)), k.layers.Dense(3, activation="softmax")]),
     "Per-step or per-pixel"),
    (lambda k: k.Model(i := k.Input((4,)), [k.layers.Dense(2, activation="softmax")(i),
                                             k.layers.Dense(2, activation="softmax")(i)]),
     "2 outputs"),
])
def test_models_the_tool_cannot_score_are_refused(make, message):
    import keras

    from pruning.modelinfo import describe_model

    with pytest.raises(ModelError, match=message):
        describe_model(make(keras))


def test_kinds_of_weights_nested_and_recurrent():
    import keras

    from pruning.layers import weight_arrays
    from pruning.modelinfo import describe_model

    L = keras.layers
    body = keras.Sequential([keras.Input((6,)), L.Dense(4, name="dense"),
                             L.BatchNormalization(name="batch_normalization")], name="body")
    inp = keras.Input((6,))
    m = keras.Model(inp, L.Dense(2, activation="softmax", name="dense")(body(inp)))
    kinds = {w.name: w.kind for w in weight_arrays(m)}
    assert kinds["body/dense/kernel"] == "kernel" and kinds["body/dense/bias"] == "bias"
    assert {k for n, k in kinds.items() if "batch_normalization" in n} == {"other"}
    assert len(kinds) == len(m.weights)  # names are unique and every variable is named
    info = describe_model(m)
    assert info.input_kind == "vectors" and info.output_kind == "softmax" and info.num_classes == 2
    assert [p.name for p in info.layers] == ["body/dense", "dense"]
    assert sorted(info.never_pruned) == sorted(n for n in kinds if "batch_normalization" in n)

    t_in = keras.Input((7,), dtype="int32")
    t = keras.Model(t_in, L.Dense(3)(L.GRU(4, name="gru")(L.Embedding(30, 5, name="embedding")(t_in))))
    kinds = {w.name: w.kind for w in weight_arrays(t)}
    assert kinds["embedding/embeddings"] == "embedding"
    assert {k for n, k in kinds.items() if n.startswith("gru/")} == {"kernel", "bias"}
    assert any("recurrent_kernel" in n for n in kinds)
    assert {w.kind for w in weight_arrays(t, prune_embeddings=True) if "embeddings" in w.name} == {"kernel"}
    info = describe_model(t)
    assert (info.input_kind, info.vocab_size, info.output_kind) == ("tokens", 30, "logits")
    assert "embedding/embeddings" in info.never_pruned


def test_own_scaling_layers_are_found():
    import keras

    from pruning.modelinfo import describe_model

    m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                          keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                          keras.layers.Dense(1, activation="sigmoid")])
    info = describe_model(m)
    assert info.own_scaling and "Rescaling" in info.own_scaling[0]
    assert (info.output_kind, info.num_classes) == ("sigmoid", 2)


def test_keras_archives_are_told_from_weight_files_by_content(tiny_files, tmp_path):
    import zipfile

    from pruning.models import is_keras_archive

    renamed = tmp_path / "model.h5"  # a .keras model under a weights-file name
    renamed.write_bytes(tiny_files.keras.read_bytes())
    assert zipfile.is_zipfile(tiny_files.keras)
    assert is_keras_archive(tiny_files.keras) and is_keras_archive(renamed)
    assert not is_keras_archive(tiny_files.start) and not is_keras_archive(tmp_path / "missing.h5")
    (tmp_path / "empty.h5").write_bytes(b"")
    assert not is_keras_archive(tmp_path / "empty.h5")

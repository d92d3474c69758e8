"""Data loaders: the bundled Fashion-MNIST, .npz and the seed's pickles, with validation."""

import io
import pickle

import numpy as np
import pytest

from pruning.data import (DataError, load_data, load_fashion_mnist, load_npz, load_pickle_dir,
                          load_pickles, safe_unpickle, to_split)


@pytest.fixture(scope="module")
def fmnist():
    return load_fashion_mnist()


def test_bundled_fashion_mnist_splits(fmnist):
    assert (len(fmnist.train), len(fmnist.val), len(fmnist.test)) == (55_000, 5_000, 10_000)
    for split in (fmnist.train, fmnist.val, fmnist.test):
        # as the IDX files store them: uint8 pixels, no channel axis, no scaling
        assert split.x.shape[1:] == (28, 28) and split.x.dtype == np.uint8
        assert split.x.max() == 255
        assert split.y.dtype == np.int64 and set(np.unique(split.y)) == set(range(10))
    assert fmnist.input_shape == (28, 28) and fmnist.num_classes == 10 and fmnist.input_scale is None
    assert len(fmnist.class_names) == 10


def test_val_is_the_last_5000_of_the_training_file(fmnist):
    # The split is positional: train and val never share an image.
    tr = {fmnist.train.x[i].tobytes() for i in range(0, 55_000, 97)}
    assert not any(fmnist.val.x[i].tobytes() in tr for i in range(0, 5_000, 7))


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    return buf


def test_npz_any_subset_with_val():
    x = np.random.default_rng(0).integers(0, 256, (20, 6, 6), dtype=np.uint8)
    y = np.arange(20) % 4
    ds = load_npz(npz_bytes(x_val=x, y_val=y))
    assert ds.val.x.shape == (20, 6, 6) and ds.train is None and ds.test is None
    assert ds.num_classes == 4
    np.testing.assert_array_equal(ds.val.x, x)  # as stored
    full = load_npz(npz_bytes(x_train=x, y_train=y, x_val=x, y_val=y, x_test=x, y_test=y),
                    num_classes=5)
    assert len(full.train) == 20 and full.num_classes == 5


@pytest.mark.parametrize("arrays, message", [
    (dict(x_train=np.zeros((2, 4, 4)), y_train=np.zeros(2)), "no validation data"),
    (dict(x_val=np.zeros((2, 4, 4))), "missing y_val"),
    (dict(x_val=np.zeros((2, 4, 4)), y_val=np.zeros(2), extra=np.zeros(1)), "unknown keys"),
    (dict(x_val=np.zeros((2,)), y_val=np.zeros(2)), "expected a sample axis"),
    (dict(x_val=np.full((2, 4, 4), np.nan), y_val=np.zeros(2)), "NaN"),
    (dict(x_val=np.zeros((2, 4, 4)), y_val=np.zeros(3)), "3 labels for 2 samples"),
    (dict(x_val=np.zeros((2, 4, 4)), y_val=np.array([0, -1])), "negative label"),
    (dict(x_val=np.zeros((2, 4, 4)), y_val=np.array([0.5, 1])), "whole class numbers"),
    (dict(x_val=np.full((2, 4, 4), np.inf), y_val=np.zeros(2)), "NaN or infinite"),
    (dict(x_val=np.full((2, 4, 4), "a"), y_val=np.zeros(2)), "expected numbers"),
    (dict(x_val=np.zeros((2, 4, 4)), y_val=np.zeros(2), x_test=np.zeros((2, 5, 5)),
          y_test=np.zeros(2)), "sample shapes differ"),
])
def test_npz_validation_messages(arrays, message):
    with pytest.raises(DataError, match=message):
        load_npz(npz_bytes(**arrays))


def test_npz_labels_out_of_range_for_the_model():
    with pytest.raises(DataError, match="out of range for 3 classes"):
        load_npz(npz_bytes(x_val=np.zeros((2, 4, 4)), y_val=np.array([0, 3])), num_classes=3)


def test_npz_object_arrays_are_refused():
    buf = io.BytesIO()
    np.savez(buf, x_val=np.array([object(), 1], dtype=object), y_val=np.zeros(2))
    buf.seek(0)
    with pytest.raises(DataError, match="object arrays"):
        load_npz(buf)


def test_seed_pickle_layout(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (10, 25, 25, 3), dtype=np.uint8)
    y = list(range(5)) * 2  # plain list of ints, as some students saved them
    for name, obj in [("val_images.pkl", x), ("val_labels.pkl", y),
                      ("train_images.pkl", x.astype(np.float32) / 255), ("train_labels.pkl", np.array(y))]:
        (tmp_path / name).write_bytes(pickle.dumps(obj))
    ds = load_pickle_dir(tmp_path, num_classes=5)
    assert ds.input_shape == (25, 25, 3) and len(ds.val) == 10 and len(ds.train) == 10
    assert ds.val.x.dtype == np.uint8 and ds.train.x.dtype == np.float32  # as stored
    assert load_data(tmp_path).num_classes == 5


class Boom:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned",))


def test_pickle_with_code_is_refused_before_running():
    with pytest.raises(DataError, match="unsafe or unsupported pickle.*posix.system|unsafe"):
        safe_unpickle(pickle.dumps(Boom()), "val_images.pkl")
    with pytest.raises(DataError, match="expected an array or a list"):
        safe_unpickle(pickle.dumps({"x": 1}), "val_labels.pkl")
    with pytest.raises(DataError, match="unexpected file"):
        load_pickles({"weights.pkl": pickle.dumps([1])})


def test_to_split_accepts_one_hot_and_channels_last_only():
    s = to_split(np.zeros((3, 4, 4, 1), np.uint8), np.eye(3, dtype=int), "val")
    assert s.y.tolist() == [0, 1, 2]
    with pytest.raises(DataError, match="channels-first"):
        to_split(np.zeros((3, 3, 8, 8)), np.zeros(3), "val")


def test_load_data_names_what_it_accepts(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_data(tmp_path / "missing.npz")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(DataError, match="unsupported data file"):
        load_data(tmp_path / "x.csv")


@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    np.arange(24, dtype=np.int64).reshape(2, 3, 4).transpose(2, 0, 1),  # order 'K' + axis order
])
def test_numpy2_protocol5_pickles_load(tmp_path, array):
    """What ``pickle.dump(array, f)`` writes with NumPy 2 and protocol 5 (Python 3.14's
    default): ``numpy._core.numeric._frombuffer`` over the raw bytes."""
    with open(tmp_path / "a.pkl", "wb") as f:
        pickle.dump(array, f, protocol=5)
    raw = (tmp_path / "a.pkl").read_bytes()
    assert b"_frombuffer" in raw
    out = safe_unpickle(raw, "val_images.pkl")
    np.testing.assert_array_equal(out, array)
    assert out.dtype == array.dtype


def _frombuffer_pickle(*args) -> bytes:
    """A protocol-5 pickle calling numpy's _frombuffer with ``args`` (crafted)."""
    import pickletools  # noqa: F401  (documents the opcodes below)

    class Call:
        def __reduce__(self):
            from numpy._core.numeric import _frombuffer
            return (_frombuffer, args)
    return pickle.dumps(Call(), protocol=5)


@pytest.mark.parametrize("args, message", [
    ((b"\0" * 16, np.dtype(object), (2,), "C"), "dtype"),
    (("not bytes", np.dtype("u1"), (9,), "C"), "buffer"),
    ((b"\0" * 4, np.dtype("u1"), (5,), "C"), "do not fill"),
    ((b"\0" * 4, np.dtype("u1"), (4,), "X"), "order"),
])
def test_frombuffer_arguments_are_checked(args, message):
    with pytest.raises(DataError, match=f"unsafe or unsupported pickle.*{message}"):
        safe_unpickle(_frombuffer_pickle(*args), "val_images.pkl")


# --- inputs as stored -> as the model takes them (pruning.inputs) ---------------------------

def _mlp(d=6, rescale=False):
    import keras

    layers = [keras.Input((d,))] + ([keras.layers.Rescaling(1 / 255)] if rescale else [])
    return keras.Sequential(layers + [keras.layers.Dense(3, activation="softmax")])


def _ds(x, y=None):
    from pruning.data import Dataset

    y = np.arange(len(x)) % 3 if y is None else y
    return Dataset("t", 3, val=to_split(x, y, "val"))


@pytest.mark.parametrize("x, rescale, scale", [
    (np.arange(60, dtype=np.uint8).reshape(10, 6) * 4, False, "1/255"),  # 8-bit pixels
    (np.arange(60, dtype=np.float32).reshape(10, 6) * 4, False, "1/255"),  # pixels stored as floats
    (np.arange(60, dtype=np.uint8).reshape(10, 6) * 4, True, "none"),  # the model rescales itself
    (np.linspace(0, 1, 60, dtype=np.float32).reshape(10, 6), False, "none"),  # already 0..1
    (np.linspace(-3, 3, 60, dtype=np.float32).reshape(10, 6), False, "none"),  # standardized
])
def test_auto_scaling(x, rescale, scale):
    from pruning.inputs import fit_inputs
    from pruning.modelinfo import describe_model

    fit = fit_inputs(_ds(x), describe_model(_mlp(rescale=rescale)))
    assert fit.scale == scale, fit.reason
    want = x.astype(np.float32) / np.float32(255) if scale == "1/255" else x.astype(np.float32)
    np.testing.assert_array_equal(fit.data.val.x, want)
    assert fit.data.input_scale == scale and fit.requested == "auto"


def test_scaling_choice_and_strict_checks():
    from pruning.inputs import fit_inputs
    from pruning.modelinfo import describe_model
    from pruning.models import ModelError

    info = describe_model(_mlp())
    x = np.arange(60, dtype=np.uint8).reshape(10, 6)
    assert fit_inputs(_ds(x), info, "none").data.val.x.max() == 59  # fed as stored when asked
    np.testing.assert_allclose(fit_inputs(_ds(x), info, "1/127.5-1").data.val.x,
                               x / np.float32(127.5) - 1, rtol=1e-6)
    with pytest.raises(DataError, match="expects 8-bit pixel values"):
        fit_inputs(_ds(x.astype(np.float32) - 5), info, "1/255")
    with pytest.raises(ModelError, match=r"takes vectors of shape \(6,\).*\(N, 6\).*\(7,\)"):
        fit_inputs(_ds(np.zeros((4, 7))), info)
    with pytest.raises(ValueError, match="unknown input scale"):
        fit_inputs(_ds(x), info, "x2")
    ds = _ds(x)  # prepared once per dataset and choice, shared by every later fit
    assert fit_inputs(ds, info).data is fit_inputs(ds, info).data


def test_token_ids_are_checked_against_the_vocabulary():
    import keras

    from pruning.inputs import fit_inputs
    from pruning.modelinfo import describe_model

    inp = keras.Input((5,), dtype="int32")
    m = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(
        keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 4)(inp))))
    info = describe_model(m)
    ok = fit_inputs(_ds(np.arange(50).reshape(10, 5) % 20), info)
    assert ok.scale == "none" and ok.data.val.x.dtype == np.int32
    with pytest.raises(DataError, match="outside the model's vocabulary 0..19"):
        fit_inputs(_ds(np.arange(50).reshape(10, 5)), info)
    with pytest.raises(DataError, match="does not apply to token ids"):
        fit_inputs(_ds(np.arange(50).reshape(10, 5) % 20), info, "1/255")

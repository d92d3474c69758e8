"""A small zoo of the Keras classifiers users bring, built in code (no downloads).

Each entry: a model trained for one epoch on ~200 samples of a tiny synthetic task, saved
with ``model.save(name.keras)``, and its data saved as ``name.npz`` the way a user stores it
(uint8 pixels, float features, int token ids). ``prepare`` is the scaling the model was
trained with, written out independently of ``pruning.inputs``: the zoo tests feed
``prepare(x)`` to plain Keras for their references.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

CLASSES = 3
N_TRAIN, N_VAL = 192, 96


@dataclass(frozen=True)
class ZooModel:
    name: str
    model_path: Path
    data_path: Path
    input_kind: str
    output_kind: str
    classes: int
    scale: str  # what 'auto' must pick
    prepare: Callable[[np.ndarray], np.ndarray]
    norm_layers: bool  # holds normalization statistics / parameters


def _pixels(rng, n, shape, y):
    """uint8 images: class k brightens a band of rows."""
    x = rng.integers(0, 90, size=(n, *shape)).astype(np.uint8)
    h = shape[0]
    for i, k in enumerate(y):
        band = x[i, k * h // 3:(k + 1) * h // 3]
        band[...] = rng.integers(160, 256, size=band.shape)
    return x


def _div255(x):
    return x.astype(np.float32) / np.float32(255)


def _as_float(x):
    return x.astype(np.float32)


def _mobilenet(keras, L):
    # MobileNet v1 at width 0.25: depthwise-separable blocks with BatchNorm, ~30 layers, a
    # 1x1-conv classifier behind Reshape + softmax; much quicker to trace than MobileNetV2
    return keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=(32, 32, 3),
                                        classes=CLASSES)


def _resnet(keras, L):
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    y = L.Conv2D(8, 3, padding="same")(x)
    y = L.BatchNormalization()(y)
    x = L.Activation("relu")(L.Add()([x, y]))
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(CLASSES, activation="softmax")(x), name="resnet_tiny")


def _mlp(keras, L):
    return keras.Sequential([keras.Input((20,)), L.Dense(16, activation="relu"),
                             L.Dense(CLASSES, activation="softmax")], name="mlp")


def _text(keras, L):
    inp = keras.Input((12,), dtype="int32")
    x = L.Embedding(50, 8)(inp)
    x = L.LSTM(8)(x)
    return keras.Model(inp, L.Dense(CLASSES, activation="softmax")(x), name="text_lstm")


def _transformer(keras, L):
    inp = keras.Input((8, 6))
    a = L.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp)
    x = L.LayerNormalization()(L.Add()([inp, a]))
    f = L.Dense(6)(L.Dense(12, activation="relu")(x))
    x = L.LayerNormalization()(L.Add()([x, f]))
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(inp, L.Dense(CLASSES, activation="softmax")(x), name="transformer")


def _logits(keras, L):
    return keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"),
                             L.Flatten(), L.Dense(CLASSES)], name="logits_cnn")


def _sigmoid(keras, L):
    return keras.Sequential([keras.Input((20,)), L.Dense(8, activation="relu"),
                             L.Dense(1, activation="sigmoid")], name="binary")


def _rescaling(keras, L):
    return keras.Sequential([keras.Input((12, 12, 1)), L.Rescaling(1 / 255), L.Conv2D(4, 3),
                             L.Activation("relu"), L.Flatten(), L.Dense(CLASSES),
                             L.Activation("softmax")], name="rescaled")


def _nested(keras, L):
    body = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3), L.BatchNormalization(),
                             L.Activation("relu"), L.GlobalAveragePooling2D()], name="body")
    inp = keras.Input((12, 12, 1))
    return keras.Model(inp, L.Dense(CLASSES, activation="softmax")(body(inp)), name="nested")


def _features(rng, n, d, y, seq=None):
    shape = (n, d) if seq is None else (n, seq, d)
    x = rng.normal(size=shape).astype(np.float32)
    x[..., 0] += 2.0 * y.reshape((n,) + (1,) * (x.ndim - 2))
    return x


def _tokens(rng, n, y):
    x = rng.integers(3, 50, size=(n, 12)).astype(np.int32)
    x[:, 0] = y  # the first token names the class
    return x


# name: (builder, input kind, output kind, classes, auto scale, inputs(rng, n, y), prepare, loss)
SPECS = {
    "mobilenet": (_mobilenet, "images", "softmax", 3, "1/255",
                  lambda r, n, y: _pixels(r, n, (32, 32, 3), y), _div255, "sce", True),
    "resnet": (_resnet, "images", "softmax", 3, "none",
               lambda r, n, y: _div255(_pixels(r, n, (16, 16, 3), y)), _as_float, "sce", True),
    "mlp": (_mlp, "vectors", "softmax", 3, "none",
            lambda r, n, y: _features(r, n, 20, y), _as_float, "sce", False),
    "text": (_text, "tokens", "softmax", 3, "none", _tokens, lambda x: x.astype(np.int32), "sce",
             False),
    "transformer": (_transformer, "sequences", "softmax", 3, "none",
                    lambda r, n, y: _features(r, n, 6, y, seq=8), _as_float, "sce", True),
    "logits": (_logits, "images", "logits", 3, "1/255",
               lambda r, n, y: _pixels(r, n, (12, 12), y), lambda x: _div255(x)[..., None],
               "sce_logits", False),
    "sigmoid": (_sigmoid, "vectors", "sigmoid", 2, "none",
                lambda r, n, y: _features(r, n, 20, y), _as_float, "bce", False),
    "rescaling": (_rescaling, "images", "softmax", 3, "none",
                  lambda r, n, y: _pixels(r, n, (12, 12, 1), y), _as_float, "sce", False),
    "nested": (_nested, "images", "softmax", 3, "1/255",
               lambda r, n, y: _pixels(r, n, (12, 12, 1), y), _div255, "sce", True),
}


def build_zoo(folder: Path) -> dict[str, ZooModel]:
    """Train and save every zoo model and its data under ``folder``."""
    import keras

    L = keras.layers
    losses = {"sce": keras.losses.SparseCategoricalCrossentropy(),
              "sce_logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              "bce": keras.losses.BinaryCrossentropy()}
    out = {}
    for i, (name, (build, ikind, okind, classes, scale, make, prep, loss, norm)) in enumerate(SPECS.items()):
        keras.utils.set_random_seed(i)
        rng = np.random.default_rng(i)
        y = rng.integers(0, classes, size=N_TRAIN + N_VAL)
        x = make(rng, N_TRAIN + N_VAL, y)
        model = build(keras, L)
        if name != "mobilenet":  # its training graph takes ~10 s to trace; retraining tests train it
            model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=losses[loss])
            model.fit(prep(x[:N_TRAIN]), y[:N_TRAIN], epochs=1, batch_size=32, verbose=0)
        model_path, data_path = folder / f"{name}.keras", folder / f"{name}.npz"
        model.save(model_path)
        np.savez(data_path, x_train=x[:N_TRAIN], y_train=y[:N_TRAIN], x_val=x[N_TRAIN:],
                 y_val=y[N_TRAIN:])
        out[name] = ZooModel(name, model_path, data_path, ikind, okind, classes, scale, prep, norm)
    return out


# --- plain Keras / NumPy references (never the pruning package's scoring or masking) --------

KERNELS = {"kernel", "recurrent_kernel", "depthwise_kernel", "pointwise_kernel"}


def _keras():
    import keras

    return keras


def _owners(model):
    """id(variable) -> owning non-model layer, walking nested models."""
    keras = _keras()
    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.update(_owners(layer))
        else:
            out.update({id(v): layer for v in layer.weights})
    return out


def _is_norm(layer) -> bool:
    keras = _keras()
    return isinstance(layer, (keras.layers.BatchNormalization, keras.layers.LayerNormalization))


def ref_selection(model, scope="all"):
    """Which of ``model.weights`` a scope prunes, decided from names and layer classes."""
    owners = _owners(model)
    return [not _is_norm(owners[id(v)]) and (v.path.split("/")[-1] in KERNELS or (
        scope == "all" and v.path.split("/")[-1] == "bias")) for v in model.weights]


def ref_norm_mask(model):
    """Which of ``model.weights`` belong to normalization layers."""
    owners = _owners(model)
    return [_is_norm(owners[id(v)]) for v in model.weights]


def ref_prune(arrays, sel, method, s):
    """The seed's rule with np.percentile: zero |w| below the s-th percentile."""
    if method == "global":
        t = np.percentile(np.concatenate([np.abs(a).ravel() for a, k in zip(arrays, sel) if k]), 100 * s)
        return [np.where(np.abs(a) < t, 0, a).astype(a.dtype) if k else a for a, k in zip(arrays, sel)]
    return [np.where(np.abs(a) < np.percentile(np.abs(a), 100 * s), 0, a).astype(a.dtype) if k else a
            for a, k in zip(arrays, sel)]


_TWINS: dict = {}


def ref_score(model, arrays, x, y, kind):
    """Accuracy and Keras' own loss of ``arrays`` in (a twin of) ``model``, by ``predict``."""
    keras = _keras()
    twin = _TWINS.setdefault(id(model), keras.models.clone_model(model))
    twin.set_weights(arrays)
    out = twin.predict(x, verbose=0, batch_size=256)
    pred = (out[:, 0] > 0.5).astype(int) if kind == "sigmoid" else out.argmax(axis=1)
    loss = {"softmax": lambda: keras.losses.SparseCategoricalCrossentropy(),
            "logits": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "sigmoid": lambda: keras.losses.BinaryCrossentropy()}[kind]()
    target = y.astype(np.float32)[:, None] if kind == "sigmoid" else y
    return float(np.mean(pred == y)), float(loss(target, out))


def ref_sparsity(arrays, sel):
    size = sum(a.size for a, k in zip(arrays, sel) if k)
    return sum(a.size - np.count_nonzero(a) for a, k in zip(arrays, sel) if k) / size


def ref_whole(arrays):
    return sum(a.size - np.count_nonzero(a) for a in arrays) / sum(a.size for a in arrays)

"""The few lines of plain Keras that rebuild the dashboard's layer stack and load a download.

Students get a weights file; ``model.load_weights`` needs the exact layer stack it was saved
from. ``load_snippet`` writes that stack out (the seed's CNN, ``pruning.models.build_model``)
so the lines beside a download run on their own, with nothing from this package.
"""

from __future__ import annotations

from functools import lru_cache

_STACK = '''import keras

L, reg = keras.layers, keras.regularizers.L2(1e-5)
model = keras.Sequential([
    keras.Input(shape={shape}),
    L.Conv2D(32, 3, padding="same", kernel_regularizer=reg, name="conv2d"),
    L.Activation("relu", name="activation"),
    L.Conv2D(32, 3, padding="valid", kernel_regularizer=reg, name="conv2d_1"),
    L.Activation("relu", name="activation_1"),
    L.MaxPooling2D(2, name="max_pooling2d"),
    L.Dropout(0.25, name="dropout"),
    L.Conv2D(64, 3, padding="same", kernel_regularizer=reg, name="conv2d_2"),
    L.Activation("relu", name="activation_2"),
    L.Conv2D(64, 3, padding="valid", kernel_regularizer=reg, name="conv2d_3"),
    L.Activation("relu", name="activation_3"),
    L.MaxPooling2D(2, name="max_pooling2d_1"),
    L.Dropout(0.25, name="dropout_1"),
    L.Flatten(name="flatten"),
    L.Dense(512, name="dense"),
    L.Activation("relu", name="activation_4"),
    L.Dropout(0.5, name="dropout_2"),
    L.Dense({classes}, name="dense_1"),
    L.Activation("softmax", name="activation_5"),
])
model.load_weights({file!r})
'''


def load_snippet(file_name: str, input_shape: tuple[int, ...] = (28, 28, 1),
                 num_classes: int = 10) -> str:
    """Python that builds the model and loads ``file_name`` ('.h5', '.weights.h5' or '.keras').

    A ``.keras`` archive carries its architecture, so it is one ``load_model`` line; weights
    files need the seed's layer stack for ``input_shape`` / ``num_classes`` (a preset's).
    """
    if file_name.endswith(".keras"):
        return f"import keras\n\nmodel = keras.saving.load_model({file_name!r})\n"
    return _STACK.format(shape=tuple(int(d) for d in input_shape), classes=int(num_classes),
                         file=file_name)


_OWN_STACK = '''import keras

# your own architecture, as you built it (or the .keras file you uploaded):
model = keras.saving.load_model("your_model.keras")
model.load_weights({file!r})
'''

_LITERT = '''import numpy as np
from ai_edge_litert.interpreter import Interpreter

it = Interpreter(model_path={file!r})
it.allocate_tensors()
inp, out = it.get_input_details()[0], it.get_output_details()[0]
x = images[:1].astype(np.float32)  # shaped and scaled as the Keras model takes them
if inp["dtype"] != np.float32:  # full int8: quantize with the file's own scale
    scale, zero = inp["quantization"]
    x = np.clip(np.round(x / scale + zero), -128, 127).astype(inp["dtype"])
it.set_tensor(inp["index"], x)
it.invoke()
probs = it.get_tensor(out["index"])
'''


def _signature(model) -> tuple:
    return tuple((type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
                 for layer in model.layers)


@lru_cache(maxsize=16)
def _seed_signature(input_shape: tuple[int, ...], num_classes: int) -> tuple:
    from .models import build_model

    return _signature(build_model(input_shape, num_classes))


def is_seed_stack(model) -> bool:
    """Whether ``model`` has the seed's layer stack (layer types and weight shapes), so
    ``load_snippet``'s lines rebuild it."""
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or any(d is None for d in shape):
        return False
    return _signature(model) == _seed_signature(tuple(int(d) for d in shape),
                                                int(model.output_shape[-1]))


def snippet_for(model, file_name: str) -> str:
    """The lines that load ``file_name``, a download of ``model``: ``load_snippet`` for a
    ``.keras`` file or the seed's stack; for another architecture, that architecture (the
    user's own model) then ``load_weights`` (never a layer stack that would not fit)."""
    if file_name.endswith(".keras") or is_seed_stack(model):
        return load_snippet(file_name, tuple(model.input_shape[1:]), int(model.output_shape[-1]))
    return _OWN_STACK.format(file=file_name)


def litert_snippet(file_name: str) -> str:
    """Python that runs a downloaded ``.tflite`` file with the LiteRT interpreter on
    ``images`` (float32 and int8-weight files take floats; full int8 files are quantized
    with their own input scale)."""
    return _LITERT.format(file=file_name)

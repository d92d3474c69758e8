"""The few lines of plain Keras that rebuild the dashboard's layer stack and load a download.

Students get a weights file; ``model.load_weights`` needs the exact layer stack it was saved
from. ``load_snippet`` writes that stack out (the seed's CNN, ``pruning.models.build_model``)
so the lines beside a download run on their own, with nothing from this package.
"""

from __future__ import annotations

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

"""Keras 3 post-training int8 quantization (``model.quantize("int8")``) of a copy of a model.

Keras 3.15 quantizes Dense, EinsumDense and Embedding layers (int8 kernels with a float
scale per output channel); Conv layers stay float32. The result is a Keras model: its
``.keras`` file loads anywhere Keras 3 runs, and it is evaluated with the usual evaluator.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras


@dataclass(frozen=True)
class Quantized:
    """An int8-quantized copy of a model and the layers that were quantized."""

    model: keras.Model
    layers: tuple[str, ...]


def keras_int8(model: keras.Model) -> Quantized:
    """A quantized copy of ``model`` (``model`` itself is never changed).

    Raises:
        ValueError: no layer of the model can be quantized by Keras.
    """
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Layer Dropout does not have a quantize method"
        twin.quantize("int8")
    done = tuple(layer.name for layer in twin.layers
                 if getattr(layer, "quantization_mode", None) == "int8")
    if not done:
        raise ValueError("Keras int8 quantization changed no layer of this model (it quantizes "
                         "Dense, EinsumDense and Embedding layers); use a LiteRT int8 export")
    return Quantized(twin, done)

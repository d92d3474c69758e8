"""What the tool understood about a model: its input kind, output kind, classes, own input
scaling, prunable layers and the arrays it never prunes.

Everything downstream (input preparation, the loss and accuracy of evaluation and retraining,
the Bring-your-own page) reads these answers instead of assuming a softmax image classifier,
and a model the tool cannot score honestly is refused here with a message saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from .layers import NORMALIZATION_LAYERS, leaf_layers, weight_arrays
from .models import ModelError

INPUT_KINDS = ("images", "vectors", "tokens", "sequences", "volumes")
OUTPUT_KINDS = ("softmax", "logits", "sigmoid")
OUTPUT_LABELS = {
    "softmax": "softmax probabilities",
    "logits": "logits (no final activation; softmax applied for accuracy and loss)",
    "sigmoid": "one sigmoid unit (binary; class 1 when the output is above 0.5)",
}
_PASS_THROUGH = tuple(getattr(keras.layers, n) for n in (
    "Dropout", "Flatten", "Reshape", "Identity", "ActivityRegularization", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")
    if hasattr(keras.layers, n))
_SCALING_LAYERS = tuple(getattr(keras.layers, n) for n in ("Rescaling", "Normalization")
                        if hasattr(keras.layers, n))


@dataclass(frozen=True)
class PrunableLayer:
    """A layer holding prunable arrays: its path, class, prunable weights and their share."""

    name: str
    type: str
    params: int  # kernels + biases (scope 'all')
    share: float  # of all prunable params


@dataclass(frozen=True)
class ModelInfo:
    """The tool's reading of a model (see the module docstring)."""

    input_kind: str
    input_shape: tuple[int | None, ...]  # per sample
    input_dtype: str
    output_kind: str
    num_classes: int
    own_scaling: tuple[str, ...]  # 'rescaling (Rescaling)', ... before the first weighted layer
    vocab_size: int | None
    layers: tuple[PrunableLayer, ...]
    params: int  # every array
    prunable_params: int  # scope 'all'
    never_pruned: tuple[str, ...]  # array names outside every scope
    embeddings_pruned: bool = False

    def as_dict(self) -> dict:
        return {"input_kind": self.input_kind, "input_shape": list(self.input_shape),
                "input_dtype": self.input_dtype, "output_kind": self.output_kind,
                "classes": self.num_classes, "own_scaling": list(self.own_scaling),
                "vocab_size": self.vocab_size, "params": self.params,
                "prunable_params": self.prunable_params,
                "prunable_share": self.prunable_params / self.params if self.params else 0.0,
                "prunable_layers": [{"layer": p.name, "type": p.type, "params": p.params,
                                     "share": p.share} for p in self.layers],
                "never_pruned": list(self.never_pruned),
                "embeddings_pruned": self.embeddings_pruned}

    def input_text(self) -> str:
        """'images 28x28x1', 'token ids, length 40 (vocabulary 500)', ..."""
        dims = "x".join("?" if d is None else str(d) for d in self.input_shape)
        if self.input_kind == "tokens":
            return f"integer token ids, length {dims} (vocabulary {self.vocab_size})"
        return {"images": f"images {dims}", "vectors": f"vectors of {dims} features",
                "sequences": f"sequences {dims} (steps x features)",
                "volumes": f"volumes {dims}"}[self.input_kind]


def _producer(tensor) -> keras.layers.Layer:
    return tensor._keras_history.operation


def _final_layer(model: keras.Model) -> keras.layers.Layer:
    """The leaf layer that produces the model's output, skipping layers that only pass it on."""
    layer = model.layers[-1] if isinstance(model, keras.Sequential) else _producer(model.outputs[0])
    for _ in range(1000):
        if isinstance(layer, keras.Model):
            layer = _final_layer(layer)
        elif isinstance(layer, _PASS_THROUGH) and layer._inbound_nodes:
            layer = _producer(layer._inbound_nodes[0].input_tensors[0])
        else:
            return layer
    raise ModelError("cannot find the layer that produces the model's output")


def _activation(layer: keras.layers.Layer) -> str:
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear" if layer.weights else type(layer).__name__
    return getattr(act, "__name__", str(act))


def detect_output(model: keras.Model) -> tuple[str, int]:
    """(output kind, class count) of a classifier; ModelError for anything else."""
    if len(model.outputs) != 1:
        raise ModelError(f"the model has {len(model.outputs)} outputs; only single-output "
                         "classifiers are supported")
    shape = tuple(model.outputs[0].shape)
    if len(shape) != 2 or shape[1] is None:
        raise ModelError(f"the model's output has shape {shape}; a classifier outputs (N, classes). "
                         "Per-step or per-pixel outputs (sequence labelling, segmentation) and "
                         "other non-classifiers are not supported")
    units, layer = int(shape[1]), _final_layer(model)
    act = _activation(layer)
    where = f"its last layer {layer.name!r} ({type(layer).__name__}, activation {act})"
    if units == 1:
        if act == "sigmoid":
            return "sigmoid", 2
        raise ModelError(f"the model has one output unit and {where}: a regression model or a "
                         "binary classifier trained on logits; the tool cannot tell. Binary "
                         "classifiers need a final sigmoid (Dense(1, activation='sigmoid'))")
    if act == "softmax":
        return "softmax", units
    if act in ("linear", "log_softmax"):
        return "logits", units
    if act == "sigmoid":
        raise ModelError(f"the model has {units} sigmoid outputs (multi-label); its accuracy needs "
                         "multi-hot labels, which the data formats here do not hold. Use a "
                         "softmax (or logits) classifier with one label per sample")
    raise ModelError(f"the model does not look like a classifier: {where}. A classifier ends "
                     "in softmax, one sigmoid unit, or no activation (logits)")


def _input_kind(model: keras.Model, shape: tuple) -> tuple[str, int | None, tuple[str, ...]]:
    """(kind, vocabulary size, own scaling layers) from the layers before the first weighted one."""
    scaling: list[str] = []
    seen_reshape = False
    for path, layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Embedding):
            return "tokens", int(layer.input_dim), tuple(scaling)
        if isinstance(layer, _SCALING_LAYERS):
            scaling.append(f"{path} ({type(layer).__name__})")
            continue
        if isinstance(layer, (keras.layers.Flatten, keras.layers.Reshape)):
            seen_reshape = True
        if layer.weights and not isinstance(layer, NORMALIZATION_LAYERS):
            first = layer
            break
    else:
        first = None
    rank = len(shape)
    if rank == 1:
        return "vectors", None, tuple(scaling)
    if rank == 3:
        return "images", None, tuple(scaling)
    if rank == 4:
        return "volumes", None, tuple(scaling)
    convs2d = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    image = seen_reshape or isinstance(first, convs2d)
    return ("images" if image else "sequences"), None, tuple(scaling)


def detect_input(model: keras.Model) -> tuple[str, tuple, str, int | None, tuple[str, ...]]:
    """(kind, per-sample shape, dtype, vocabulary size, own scaling layers); refuses multi-input."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ModelError("the model has no defined input (an unbuilt Sequential); save it after "
                         "building it with keras.Input(shape=...)")
    if len(inputs) != 1:
        raise ModelError(f"the model has {len(inputs)} inputs "
                         f"({', '.join(str(tuple(t.shape)) for t in inputs)}); only single-input "
                         "models are supported")
    shape = tuple(None if d is None else int(d) for d in inputs[0].shape[1:])
    if not 1 <= len(shape) <= 4:
        raise ModelError(f"the model's input has shape (N, {', '.join(map(str, shape))}); supported: "
                         "vectors (N, D), sequences (N, T[, F]), images (N, H, W, C)")
    kind, vocab, scaling = _input_kind(model, shape)
    return kind, shape, str(inputs[0].dtype), vocab, scaling


def describe_model(model: keras.Model, prune_embeddings: bool = False) -> ModelInfo:
    """Everything the tool reads off a model, or ModelError saying why it cannot use it."""
    kind, shape, dtype, vocab, scaling = detect_input(model)
    out_kind, classes = detect_output(model)
    was = weight_arrays(model, prune_embeddings)
    prunable = [w for w in was if w.kind in ("kernel", "bias")]
    total = sum(w.array.size for w in prunable)
    if not any(w.kind == "kernel" for w in was):
        raise ModelError("the model has no prunable weights (no Dense, Conv, recurrent, attention "
                         "or Embedding kernels)")
    by_layer: dict[str, list] = {}
    for w in prunable:
        by_layer.setdefault(w.layer, [w.layer_type, 0])[1] += int(w.array.size)
    layers = tuple(PrunableLayer(n, t, p, p / total if total else 0.0) for n, (t, p) in by_layer.items())
    return ModelInfo(kind, shape, dtype, out_kind, classes, scaling, vocab, layers,
                     int(sum(w.array.size for w in was)), int(total),
                     tuple(w.name for w in was if w.kind not in ("kernel", "bias")), prune_embeddings)


def model_classes(model: keras.Model) -> int:
    """Classes the model predicts (2 for one sigmoid unit)."""
    return detect_output(model)[1]


def never_pruned(names, kinds) -> list[str]:
    """Names of arrays no scope touches (normalization, embeddings when off, ...)."""
    return [n for n, k in zip(names, kinds) if k not in ("kernel", "bias")]

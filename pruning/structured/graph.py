"""Channel dependency groups over a Keras graph: which filters/neurons must go together.

Every channel of every tensor gets an id; layers map ids from their inputs to their
outputs: a Conv/Dense/SeparableConv *produces* fresh ids (its filters or units);
BatchNorm, elementwise activations, pooling, dropout, padding, up-sampling and global
pooling pass ids through; ``DepthwiseConv`` passes them through too (with depth multiplier
m each input id is repeated m times, so its m outputs go with their input channel);
``Add``/``Subtract``/``Multiply``/``Average``/``Maximum``/``Minimum`` tie the ids of all
inputs position by position (union-find); ``Concatenate`` on the channel axis lays its
inputs' ids end to end (offsets); ``Flatten`` repeats the ids over the spatial positions
in NHWC order, so each channel maps to its flattened positions of the next Dense.

A *unit* is one union-find class of ids (removed as a whole); a *group* is the set of
units produced by the same layers (one conv's filters, or the filters of every conv tied
by a residual ``Add``). Units are *pinned* (never removed) when they reach the model's
inputs or outputs, a layer this module cannot reason about (it is listed in
``ChannelGraph.blocked`` with the reason), an activation with f(0) != 0 (removing is then
not the same as zeroing, see ``removal``) or a channel-mixing activation (softmax).

Each weight axis whose entries follow channels is a ``Slot``; ``removal`` slices slots,
``importance`` scores units by the weights in their slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np

L = keras.layers

PASS_THROUGH = (
    L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D, L.GaussianNoise,
    L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization, L.Identity,
    L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D,
    L.AveragePooling3D, L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D,
    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
    L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D, L.Cropping1D, L.Cropping2D, L.Cropping3D,
    L.UpSampling1D, L.UpSampling2D, L.UpSampling3D,
)
ELEMENTWISE = (L.Activation, L.ReLU, L.LeakyReLU, L.ELU)
TIES = (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)
CONVS = (L.Conv1D, L.Conv2D, L.Conv3D)
SEPARABLE = (L.SeparableConv1D, L.SeparableConv2D)
DEPTHWISE = (L.DepthwiseConv1D, L.DepthwiseConv2D)
MIXING_ACTIVATIONS = ("softmax", "log_softmax")


class StructureError(ValueError):
    """A model whose graph structured pruning cannot handle; the message says why and what to do."""


@dataclass
class Slot:
    """One axis of one weight array whose entries follow channel ids.

    ``role``: 'out' (a producer's kernel columns and bias, BatchNorm gamma, beta and
    moving mean, a depthwise bias: zeroed when a unit is zeroed), 'in' (a consumer's
    kernel rows), or 'stat' (BatchNorm moving variance).
    """

    layer: str
    weight: str  # the variable's short name: kernel, bias, gamma, ...
    axis: int
    ids: np.ndarray  # raw ids (resolve with ChannelGraph.root)
    role: str


@dataclass(frozen=True)
class Group:
    """Units (channel classes) that the same producer layers create; removed by one ratio."""

    index: int
    producers: tuple[str, ...]
    units: tuple[int, ...]  # union-find roots, in the first producer's channel order

    @property
    def name(self) -> str:
        return "+".join(self.producers)

    def __len__(self) -> int:
        return len(self.units)


@dataclass(frozen=True)
class Blocked:
    """A layer left unpruned, with the reason."""

    layer: str
    reason: str


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []
        self.reason: list[str | None] = []

    def new(self, n: int, pinned: str | None = None) -> np.ndarray:
        start = len(self.parent)
        self.parent.extend(range(start, start + n))
        self.reason.extend([pinned] * n)
        return np.arange(start, start + n, dtype=np.int64)

    def find(self, i: int) -> int:
        p = self.parent
        root = i
        while p[root] != root:
            root = p[root]
        while p[i] != root:
            p[i], i = root, p[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(int(a)), self.find(int(b))
        if ra != rb:
            self.parent[rb] = ra
            self.reason[ra] = self.reason[ra] or self.reason[rb]

    def pin(self, ids: np.ndarray, reason: str) -> None:
        for i in np.unique(ids):
            r = self.find(int(i))
            if self.reason[r] is None:
                self.reason[r] = reason


def activation_name(fn) -> str:
    try:
        name = keras.activations.serialize(fn)
    except Exception:
        name = getattr(fn, "__name__", str(fn))
    return name if isinstance(name, str) else str(name)


def _maps_zero_to_zero(fn) -> bool:
    return bool(np.all(np.asarray(fn(np.zeros((1, 2), "float32"))) == 0))


@dataclass
class ChannelGraph:
    """Dependency groups of a model (see the module docstring)."""

    model: keras.Model
    slots: list[Slot] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    widths: dict[str, str] = field(default_factory=dict)  # producer -> config key ('units'/'filters')
    out_ids: dict[str, np.ndarray] = field(default_factory=dict)  # producer -> its output ids
    _uf: _UnionFind = field(default_factory=_UnionFind)

    def root(self, ids: np.ndarray) -> np.ndarray:
        return np.fromiter((self._uf.find(int(i)) for i in ids), np.int64, len(ids))

    def pin_reason(self, unit: int) -> str | None:
        return self._uf.reason[self._uf.find(unit)]

    def unpruned(self) -> list[Blocked]:
        """Blocked layers plus producers whose every channel is pinned, with the reason."""
        out = list(self.blocked)
        grouped = {p for g in self.groups for p in g.producers}
        for layer, ids in self.out_ids.items():
            if layer not in grouped:
                reasons = {self.pin_reason(int(i)) for i in ids}
                out.append(Blocked(layer, "; ".join(sorted(r for r in reasons if r))))
        return out

    def group_of(self, layer: str) -> Group | None:
        return next((g for g in self.groups if layer in g.producers), None)


def _inbound(model: keras.Model) -> tuple[list[keras.layers.Layer], dict[str, list[str]], list[str]]:
    """Layers in topological order, each layer's input layer names, and the output layer names."""
    if isinstance(model, keras.Sequential):
        layers = list(model.layers)
        names = [layer.name for layer in layers]
        inputs = {n: ([names[i - 1]] if i else ["<input>"]) for i, n in enumerate(names)}
        return layers, inputs, [names[-1]]
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth") or \
            type(model).__name__ not in ("Functional", "Model"):
        raise StructureError(f"{type(model).__name__}: only Sequential and Functional Keras models "
                             "can be pruned structurally (a subclassed model has no graph to read)")
    try:
        config = model.get_config()
    except Exception as e:
        raise StructureError(f"the model's graph cannot be read ({e})") from None
    inputs: dict[str, list[str]] = {}
    for entry in config["layers"]:
        nodes = entry.get("inbound_nodes", [])
        if len(nodes) > 1:
            raise StructureError(f"layer {entry['name']} is called {len(nodes)} times (a shared "
                                 "layer); structured pruning needs each layer used once")
        found: list[str] = []

        def walk(obj) -> None:
            if isinstance(obj, dict):
                hist = obj.get("config", {}).get("keras_history") if obj.get(
                    "class_name") == "__keras_tensor__" else None
                if hist is not None:
                    found.append(hist[0])
                else:
                    for v in obj.values():
                        walk(v)
            elif isinstance(obj, (list, tuple)):
                for v in obj:
                    walk(v)

        walk(nodes)
        inputs[entry["name"]] = found
    outs = [o[0] for o in config["output_layers"]] if isinstance(config["output_layers"][0], list) \
        else [config["output_layers"][0]]
    layers = [model.get_layer(entry["name"]) for entry in config["layers"]]
    return layers, inputs, outs


def _channels_last(layer) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_last"


def analyze(model: keras.Model) -> ChannelGraph:
    """The dependency groups of ``model`` (Sequential or Functional); nested models are refused."""
    g = ChannelGraph(model)
    uf = g._uf
    layers, inputs, outputs = _inbound(model)
    tensors: dict[str, np.ndarray] = {}
    if isinstance(model, keras.Sequential):
        if not model.inputs:
            raise StructureError("the Sequential model is not built (give it an Input shape)")
        tensors["<input>"] = uf.new(int(model.inputs[0].shape[-1]), "model input")

    def block(layer, ins: list[np.ndarray], reason: str) -> np.ndarray:
        for ids in ins:
            uf.pin(ids, f"feeds {layer.name} ({reason})")
        g.blocked.append(Blocked(layer.name, reason))
        return uf.new(int(layer.output.shape[-1]), f"comes from {layer.name} ({reason})")

    def produce(layer, n: int) -> np.ndarray:
        act = getattr(layer, "activation", None)
        name = activation_name(act) if act is not None else "linear"
        if name in MIXING_ACTIVATIONS:
            return uf.new(n, f"{layer.name} applies {name} across its channels")
        if act is not None and not _maps_zero_to_zero(act):
            return uf.new(n, f"{layer.name}'s activation {name} has f(0) != 0")
        return uf.new(n)

    for layer in layers:
        if isinstance(layer, keras.Model):
            raise StructureError(f"layer {layer.name} is a nested model; structured pruning needs "
                                 "a flat model (rebuild it without nesting)")
        if isinstance(layer, L.InputLayer):
            tensors[layer.name] = uf.new(int(layer.output.shape[-1]), "model input")
            continue
        ins = [tensors[n] for n in inputs[layer.name]]
        cls = type(layer).__name__
        out: np.ndarray
        if len(ins) == 0:
            out = block(layer, [], "no inputs")
        elif not _channels_last(layer):
            out = block(layer, ins, "channels_first data format")
        elif isinstance(layer, PASS_THROUGH) and len(ins) == 1:
            out = ins[0]
        elif isinstance(layer, ELEMENTWISE) and len(ins) == 1:
            name = activation_name(layer.activation) if isinstance(layer, L.Activation) else cls
            if name in MIXING_ACTIVATIONS:
                out = block(layer, ins, f"{name} mixes channels")
            else:
                if not _maps_zero_to_zero(layer.activation if isinstance(layer, L.Activation) else layer):
                    uf.pin(ins[0], f"{layer.name}: {name}(0) != 0, so a removed channel would not be 0")
                out = ins[0]
        elif isinstance(layer, L.BatchNormalization) and len(ins) == 1:
            rank = len(layer.output.shape)
            axis = layer.axis if isinstance(layer.axis, int) else (
                layer.axis[0] if len(layer.axis) == 1 else None)
            if axis is None or axis not in (-1, rank - 1):
                out = block(layer, ins, "BatchNormalization not over the last axis")
            else:
                out = ins[0]
                for v in layer.weights:
                    short = v.path.split("/")[-1]
                    g.slots.append(Slot(layer.name, short, 0, out,
                                        "out" if short in ("gamma", "beta", "moving_mean") else "stat"))
        elif isinstance(layer, L.Dense) and len(ins) == 1:
            out = produce(layer, layer.units)
            g.widths[layer.name], g.out_ids[layer.name] = "units", out
            g.slots += [Slot(layer.name, "kernel", 0, ins[0], "in"),
                        Slot(layer.name, "kernel", 1, out, "out")]
            if layer.use_bias:
                g.slots.append(Slot(layer.name, "bias", 0, out, "out"))
        elif isinstance(layer, CONVS) and len(ins) == 1:
            if layer.groups != 1:
                out = block(layer, ins, f"grouped convolution (groups={layer.groups})")
            else:
                out = produce(layer, layer.filters)
                g.widths[layer.name], g.out_ids[layer.name] = "filters", out
                g.slots += [Slot(layer.name, "kernel", -2, ins[0], "in"),
                            Slot(layer.name, "kernel", -1, out, "out")]
                if layer.use_bias:
                    g.slots.append(Slot(layer.name, "bias", 0, out, "out"))
        elif isinstance(layer, SEPARABLE) and len(ins) == 1:
            dm = layer.depth_multiplier
            out = produce(layer, layer.filters)
            g.widths[layer.name], g.out_ids[layer.name] = "filters", out
            g.slots += [Slot(layer.name, "depthwise_kernel", -2, ins[0], "in"),
                        Slot(layer.name, "pointwise_kernel", -2, np.repeat(ins[0], dm), "in"),
                        Slot(layer.name, "pointwise_kernel", -1, out, "out")]
            if layer.use_bias:
                g.slots.append(Slot(layer.name, "bias", 0, out, "out"))
        elif isinstance(layer, DEPTHWISE) and len(ins) == 1:
            out = np.repeat(ins[0], layer.depth_multiplier)  # output c*m + k follows input c
            act = layer.activation
            if act is not None and not _maps_zero_to_zero(act):
                uf.pin(ins[0], f"{layer.name}'s activation {activation_name(act)} has f(0) != 0")
            g.slots.append(Slot(layer.name, "kernel", -2, ins[0], "in"))
            if layer.use_bias:
                g.slots.append(Slot(layer.name, "bias", 0, out, "out"))
        elif isinstance(layer, L.Flatten) and len(ins) == 1:
            n = int(layer.output.shape[-1])
            if n % len(ins[0]):
                out = block(layer, ins, "flattened size is not a multiple of the channels")
            else:
                out = np.tile(ins[0], n // len(ins[0]))  # NHWC: position p holds channel p % C
        elif isinstance(layer, TIES):
            if len({len(i) for i in ins}) != 1:
                out = block(layer, ins, "inputs broadcast over channels")
            else:
                for other in ins[1:]:
                    for a, b in zip(ins[0], other):
                        uf.union(a, b)
                out = ins[0]
        elif isinstance(layer, L.Concatenate):
            rank = len(layer.output.shape)
            if layer.axis in (-1, rank - 1):
                out = np.concatenate(ins)
            elif len({len(i) for i in ins}) == 1:  # stacked along another axis: channels coincide
                for other in ins[1:]:
                    for a, b in zip(ins[0], other):
                        uf.union(a, b)
                out = ins[0]
            else:
                out = block(layer, ins, "concatenation of unequal channel counts off the last axis")
        else:
            kind = "layer with weights" if layer.weights else "layer"
            out = block(layer, ins, f"{cls} is a {kind} structured pruning cannot reason about")
        if len(out) != int(layer.output.shape[-1]):
            raise StructureError(f"{layer.name}: tracked {len(out)} channels but the layer has "
                                 f"{layer.output.shape[-1]}; this graph is not supported")
        tensors[layer.name] = out
    for name in outputs:
        uf.pin(tensors[name], "model output")
    _make_groups(g)
    return g


def _make_groups(g: ChannelGraph) -> None:
    producers: dict[int, list[str]] = {}
    order: dict[int, int] = {}
    for layer, ids in g.out_ids.items():
        for i in g.root(ids):
            i = int(i)
            if g._uf.reason[i] is not None:
                continue
            producers.setdefault(i, [])
            if layer not in producers[i]:
                producers[i].append(layer)
            order.setdefault(i, len(order))
    by_sig: dict[tuple[str, ...], list[int]] = {}
    for unit in sorted(producers, key=order.__getitem__):
        by_sig.setdefault(tuple(producers[unit]), []).append(unit)
    g.groups = [Group(k, sig, tuple(units)) for k, (sig, units) in enumerate(by_sig.items())]

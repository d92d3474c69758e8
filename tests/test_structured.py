"""Structured pruning on tiny models: removal == zeroing, sizes vs plain-Keras references,
reload of the written file, fine-tuning, and refusals with clear messages."""

from __future__ import annotations

import numpy as np
import pytest

import keras

from bench.zoo import mobilenet_style, resnet_style
from pruning.models import build_model
from pruning.structured import (StructureError, analyze, output_difference, prune_structured,
                                remove_units, zero_units)
from tiny_fixtures import TINY_CLASSES, TINY_SHAPE

L = keras.layers


def _randomize_bn(model: keras.Model, seed: int = 0) -> keras.Model:
    """Non-trivial BatchNorm statistics, so a zeroed channel would not be 0 without gamma=beta=0."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.normal(1, 0.3, gamma.shape), rng.normal(0, 0.5, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 2, var.shape)])
        elif isinstance(layer, (L.Conv2D, L.Dense, L.DepthwiseConv2D)) and getattr(layer, "use_bias", False):
            w = layer.get_weights()
            layer.set_weights(w[:-1] + [rng.normal(0, 0.3, w[-1].shape)])
    return model


def _x(shape, n=8, seed=1):
    return np.random.default_rng(seed).random((n, *shape)).astype("float32")


def _branchy() -> keras.Model:
    """Residual Add, a depthwise conv with depth multiplier 2, Concatenate, SeparableConv, Flatten."""
    i = keras.Input((8, 8, 3))
    h = L.ReLU()(L.BatchNormalization()(L.Conv2D(8, 3, padding="same", name="c0")(i)))
    a = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(8, 3, padding="same", name="ca")(h)))
    a = L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="dw")(a))
    h = L.Activation("relu")(L.Add()([h, L.Conv2D(8, 1, name="cb")(a)]))
    c = L.Concatenate()([h, L.Conv2D(4, 1, name="cc")(h)])
    c = L.MaxPooling2D()(L.SeparableConv2D(6, 3, padding="same", name="sep")(c))
    o = L.Dense(5, activation="relu", name="d")(L.Flatten()(c))
    return keras.Model(i, L.Dense(3, activation="softmax", name="out")(o))


MODELS = {
    "sequential": lambda: build_model(TINY_SHAPE, TINY_CLASSES, width=0.5),
    "residual": lambda: resnet_style(TINY_SHAPE, TINY_CLASSES, base=8),
    "depthwise": lambda: mobilenet_style(TINY_SHAPE, TINY_CLASSES, base=8),
    "branchy": _branchy,
}


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("importance,allocation", [("l1", "uniform"), ("l2", "global"), ("bn", "uniform")])
def test_removal_equals_zeroing(kind, importance, allocation):
    keras.utils.set_random_seed(0)
    model = _randomize_bn(MODELS[kind]())
    x = _x(model.input_shape[1:])
    res = prune_structured(model, 0.5, importance, allocation)
    zeroed = zero_units(model, analyze(model), res.removed_units)
    assert res.params < res.dense_params
    assert output_difference(model, zeroed, x) > 1e-3  # zeroing changes the predictions ...
    assert output_difference(res.model, zeroed, x) < 1e-5  # ... and removal changes them the same way


def test_random_unit_subsets_match_zeroing():
    keras.utils.set_random_seed(1)
    model = _randomize_bn(_branchy())
    graph = analyze(model)
    rng = np.random.default_rng(0)
    x = _x(model.input_shape[1:])
    for _ in range(3):
        gone = [u for g in graph.groups for u in rng.choice(g.units, rng.integers(0, len(g)), replace=False)]
        small = remove_units(model, graph, gone)
        assert output_difference(small, zero_units(model, graph, gone), x) < 1e-5


def test_groups_tie_residual_and_pass_depthwise():
    graph = analyze(_branchy())
    names = {g.name: len(g) for g in graph.groups}
    assert names == {"c0+cb": 8, "ca": 8, "cc": 4, "sep": 6, "d": 5}  # dw passes ca's channels on
    assert {b.layer for b in graph.unpruned()} == {"out"}  # the softmax output stays


@pytest.mark.parametrize("kind,builder", [
    ("sequential", lambda w: build_model(TINY_SHAPE, TINY_CLASSES, width=w)),
    ("residual", lambda w: resnet_style(TINY_SHAPE, TINY_CLASSES, width=w, base=8)),
    ("depthwise", lambda w: mobilenet_style(TINY_SHAPE, TINY_CLASSES, width=w, base=8)),
])
def test_param_counts_match_plain_keras_reference(kind, builder):
    res = prune_structured(builder(1.0), 0.5)
    reference = builder(0.5)
    assert res.params == reference.count_params()
    assert [tuple(v.shape) for v in res.model.weights] == [tuple(v.shape) for v in reference.weights]


def test_written_file_reloads_in_plain_keras(tmp_path):
    keras.utils.set_random_seed(2)
    model = _randomize_bn(resnet_style(TINY_SHAPE, TINY_CLASSES, base=8))
    res = prune_structured(model, 0.5, "l2")
    path = tmp_path / "small.keras"
    res.model.save(path)
    again = keras.saving.load_model(path, safe_mode=True, compile=False)
    x = _x(TINY_SHAPE)
    assert again.count_params() == res.params
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(res.model(x)))


def test_taylor_and_sensitivity_allocation(tiny_data):
    import pandas as pd

    model = build_model(TINY_SHAPE, TINY_CLASSES, width=0.5)
    res = prune_structured(model, 0.5, "taylor", train=tiny_data.train)
    assert res.params < res.dense_params
    with pytest.raises(StructureError, match="training data"):
        prune_structured(model, 0.5, "taylor")
    graph = analyze(model)
    layers = [p for g in graph.groups for p in g.producers]
    # conv2d is fragile (accuracy falls at every level), the rest robust
    table = pd.DataFrame([{"layer": n, "target": t, "accuracy": 0.9 - (0.5 * t if n == "conv2d" else 0.0)}
                          for n in layers for t in (0.0, 0.5, 0.9)])
    from pruning.structured import sensitivity_ratios

    ratios = sensitivity_ratios(graph, table, 0.5)
    sizes = np.array([len(g) for g in graph.groups])
    assert abs(float((np.array(ratios) * sizes).sum() / sizes.sum()) - 0.5) < 1e-6
    assert ratios[0] == min(ratios)
    res = prune_structured(model, 0.5, allocation="sensitivity", ratios=ratios)
    assert res.removed["conv2d"]["removed"] < res.removed["conv2d_1"]["removed"]


def test_finetune_keeps_the_smaller_architecture(tiny_data):
    from pruning.retrain import Training
    from pruning.structured.finetune import finetune

    keras.utils.set_random_seed(0)
    dense = build_model(TINY_SHAPE, TINY_CLASSES, width=0.5)
    res = prune_structured(dense, 0.5)
    tuned, run = finetune(res.model, tiny_data, Training(epochs=2, batch_size=64), teacher=dense)
    assert tuned.count_params() == res.params and run.epochs_run == 2
    assert any(not np.array_equal(a, b) for a, b in zip(tuned.get_weights(), res.model.get_weights()))
    assert run.val.accuracy > 1 / TINY_CLASSES


@pytest.mark.parametrize("remove", [1.0, -0.1, 1.5])
def test_ratio_out_of_range(remove):
    with pytest.raises(StructureError, match=r"fraction in \[0, 1\)"):
        prune_structured(build_model(TINY_SHAPE, TINY_CLASSES, width=0.25), remove)


def test_refusals_say_what_is_wrong():
    only_output = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax")])
    with pytest.raises(StructureError, match="no layer can be pruned"):
        prune_structured(only_output, 0.5)
    tiny = keras.Sequential([keras.Input((4,)), L.Dense(2, activation="relu"),
                             L.Dense(3, activation="softmax")])
    with pytest.raises(StructureError, match="too small"):
        prune_structured(tiny, 0.1)
    inner = keras.Sequential([keras.Input((4,)), L.Dense(4)])
    nested = keras.Sequential([keras.Input((4,)), inner, L.Dense(3, activation="softmax")])
    with pytest.raises(StructureError, match="nested model"):
        prune_structured(nested, 0.5)
    with pytest.raises(StructureError, match="unknown importance"):
        prune_structured(tiny, 0.5, "l3")


def test_unsupported_layers_stay_unpruned_with_a_reason():
    i = keras.Input((6, 6, 1))
    a = L.Conv2D(4, 3, padding="same", name="kept")(i)
    b = L.Reshape((6, 24), name="reshape")(L.Conv2D(4, 3, padding="same", name="before_reshape")(a))
    s = L.Conv2D(4, 3, padding="same", activation="sigmoid", name="sig")(i)
    o = L.Concatenate()([L.Flatten()(b), L.Flatten()(s)])
    model = keras.Model(i, L.Dense(2, activation="softmax", name="out")(o))
    graph = analyze(model)
    why = {b.layer: b.reason for b in graph.unpruned()}
    assert [g.name for g in graph.groups] == ["kept"]
    assert "Reshape" in why["reshape"] and "reshape" in why["before_reshape"]
    assert "f(0) != 0" in why["sig"] and "out" in why
    res = prune_structured(model, 0.5)
    assert res.removed["kept"]["after"] == 2 and res.removed["before_reshape"]["removed"] == 0


def test_layers_option_prunes_only_those_groups():
    model = build_model(TINY_SHAPE, TINY_CLASSES, width=0.5)
    res = prune_structured(model, 0.5, layers=["conv2d_1"])
    assert {k for k, v in res.removed.items() if v["removed"]} == {"conv2d_1"}
    with pytest.raises(StructureError, match="dense_1 cannot be pruned structurally: .*softmax"):
        prune_structured(model, 0.5, layers=["dense_1"])
    with pytest.raises(StructureError, match="no layer named 'nope'"):
        prune_structured(model, 0.5, layers=["nope"])
    res = prune_structured(resnet_style(TINY_SHAPE, TINY_CLASSES, base=8), 0.5, layers=["stem"])
    assert {k for k, v in res.removed.items() if v["removed"]} == {"stem", "s1b0_b", "s1b1_b"}
    assert any("s1b0_b, s1b1_b share channels with stem" in n for n in res.notes)


@pytest.mark.parametrize("scale,center", [(False, True), (True, False), (False, False)])
def test_batchnorm_without_scale_or_center(scale, center):
    keras.utils.set_random_seed(3)
    i = keras.Input((6, 6, 2))
    h = L.BatchNormalization(scale=scale, center=center, name="bn")(L.Conv2D(6, 3, name="c")(i))
    h = L.Dense(4, activation="relu", name="d")(L.GlobalAveragePooling2D()(L.Activation("relu")(h)))
    model = keras.Model(i, L.Dense(2, name="out")(h))
    bn = model.get_layer("bn")
    rng = np.random.default_rng(0)
    bn.set_weights([rng.uniform(0.5, 2, w.shape) if v.path.endswith("variance")
                    else rng.normal(0, 0.5, w.shape) for v, w in zip(bn.weights, bn.get_weights())])
    res = prune_structured(model, 0.5)
    x = _x((6, 6, 2))
    assert output_difference(res.model, zero_units(model, analyze(model), res.removed_units), x) < 1e-5

"""Why it works: the teaching views follow Explore's slider, method and scope; numbers against
references computed here with plain NumPy / Keras."""

from __future__ import annotations

import numpy as np
import pytest

from app_helpers import chart_specs, metrics, ok

TEACH = "pages/teach.py"


def figures(at) -> dict[str, dict]:
    """Plotly figure JSON of the page by the start of its title."""
    out = {}
    for spec in chart_specs(at):
        title = spec["layout"]["title"]["text"]
        out[title.split(" (")[0].split(" of ")[0]] = spec
    return out


def thresholds_drawn(spec: dict) -> dict[str, float]:
    """Threshold trace name -> its x (both ends of a vertical line share it)."""
    out = {}
    for t in spec["data"]:
        if t.get("name", "").startswith("Threshold"):
            assert t["x"][0] == t["x"][1]
            out[t["name"].split(" = ")[0]] = t["x"][0]
    return out


def dense_arrays(at) -> tuple[list[np.ndarray], list[str], list[str]]:
    b = at.session_state["_bench"]
    return [np.asarray(a) for a in b.wb.baseline.arrays], list(b.wb.baseline.kinds), \
        list(b.wb.baseline.names)


def test_views_follow_the_slider_and_explore(tiny_app, tiny_keras, tmp_path):
    at = tiny_app
    at.slider(key="sparsity").set_value(40.0).run()  # on Explore
    explored = metrics(at)["Val accuracy"]
    at.switch_page(TEACH).run()
    ok(at)
    assert metrics(at)["Val accuracy, pruned"] == explored  # the same images, the same weights
    assert at.title[0].value == "Why it works"
    assert at.slider(key="sparsity").value == 40.0  # Explore's selection carries over
    figs = figures(at)
    assert {"|w|", "Kept weights", "First-layer filters", "Val accuracy per class",
            "Confusion matrices"} <= set(figs)
    arrays, kinds, _ = dense_arrays(at)
    mags = np.concatenate([np.abs(a).ravel() for a in arrays])  # scope: all parameters
    for pct in (40.0, 85.0):
        if pct != 40.0:
            at.slider(key="sparsity").set_value(pct).run()
            ok(at)
        hist = figures(at)["|w|"]
        assert thresholds_drawn(hist) == {"Threshold": pytest.approx(float(np.percentile(mags, pct)),
                                                                     rel=1e-6)}
        names = [t["name"] for t in hist["data"]]
        assert names[0] == f"Pruned ({int(np.sum(mags < np.percentile(mags, pct))):,})"
        assert hist["layout"]["xaxis"]["type"] == "log"
    assert [t["name"] for t in figs["Confusion matrices"]["data"]] == ["Dense", "Pruned model"]
    assert [t["name"] for t in figs["First-layer filters"]["data"]] == ["Dense", "Pruned model", "Removed"]
    captions = " ".join(c.value for c in at.caption)
    assert "Every weight smaller than the dashed line" in captions
    assert "Each square is one first-layer filter" in captions
    at.slider(key="sparsity").set_value(99.0).run()
    ok(at)
    check_per_class_against_keras(at, tiny_keras, tmp_path, 99.0)
    assert "No validation sample" not in " ".join(c.value for c in at.caption)
    assert len(figures(at)["Right before, wrong now: true → predicted"]["data"]) > 0


def test_layerwise_draws_each_arrays_threshold_and_one_layer(tiny_app):
    at = tiny_app
    at.switch_page(TEACH).run()
    at.selectbox(key="method").set_value("layerwise").run()
    at.radio(key="scope").set_value("Kernels only").run()
    at.slider(key="sparsity").set_value(60.0).run()
    ok(at)
    arrays, kinds, names = dense_arrays(at)
    want = {f"Threshold {n}": float(np.percentile(np.abs(a), 60)) for a, k, n in zip(arrays, kinds, names)
            if k == "kernel"}
    assert thresholds_drawn(figures(at)["|w|"]) == pytest.approx(want, rel=1e-6)
    last = [n for n, k in zip(names, kinds) if k == "kernel"][-1]
    at.selectbox(key="teach_hist_layer").set_value(last).run()
    ok(at)
    assert thresholds_drawn(figures(at)["|w|"]) == pytest.approx({"Threshold": want[f"Threshold {last}"]},
                                                                rel=1e-6)
    at.selectbox(key="teach_mask_layer").set_value(last).run()
    ok(at)
    z = np.asarray(figures(at)["Kept weights"]["data"][0]["z"], float)  # dense: units x inputs
    a = arrays[names.index(last)]
    np.testing.assert_array_equal(z, (np.abs(a) >= np.percentile(np.abs(a), 60)).T)
    # a retraining method without a finished run: one line saying so, and Explore follows
    at.selectbox(key="method").set_value("freeze").run()
    ok(at)
    assert "No finished" in at.info[0].value and not at.get("plotly_chart")
    # a finished run (weights made here: a random 60 % of each kernel zeroed, no threshold)
    from pruning.oneshot import describe
    from pruning.ui import RetrainEntry

    b = at.session_state["_bench"]
    rng = np.random.default_rng(0)
    masks = [rng.permutation(a.size).reshape(a.shape) >= round(0.6 * a.size) if k == "kernel" else None
             for a, k in zip(arrays, kinds)]
    weights = [a if m is None else np.where(m, a, 0).astype(a.dtype) for a, m in zip(arrays, masks)]
    pruned = describe(weights, b.wb.baseline, "freeze", "kernels", 0.6)
    at.session_state["_rt_entries"] = {b.key: [RetrainEntry("freeze", "kernels", 0.6, 1, 100, pruned, 0.5,
                                                            1.0, 200, None, 1, 1.0, (), "uid-test")]}
    at.run()
    ok(at)
    at.selectbox(key="teach_hist_layer").set_value("Whole model").run()
    ok(at)
    hist = figures(at)["|w|"]
    assert thresholds_drawn(hist) == {}  # retraining: no size cut-off to draw
    removed = sum(int((~m).sum()) for m in masks if m is not None)
    assert hist["data"][0]["name"] == f"Pruned ({removed:,})"
    assert any("Retraining chose which weights to remove" in c.value for c in at.caption)
    z = np.asarray(figures(at)["Kept weights"]["data"][0]["z"], float)
    np.testing.assert_array_equal(z, masks[names.index(last)].T)
    at.switch_page("pages/explore.py").run()
    ok(at)
    assert at.selectbox(key="method").value == "freeze" and at.slider(key="sparsity").value == 60.0


def check_per_class_against_keras(at, keras_bytes: bytes, tmp_path, pct: float) -> None:
    """The per-class bars equal accuracies of the uploaded .keras model pruned here by hand
    (global percentile over all arrays) and run with model.predict."""
    import keras

    b = at.session_state["_bench"]
    x, y = b.wb.val.split.x, b.wb.val.split.y
    path = tmp_path / "ref.keras"
    path.write_bytes(keras_bytes)
    model = keras.saving.load_model(path, safe_mode=True)
    dense = [w.copy() for w in model.get_weights()]
    t = np.percentile(np.concatenate([np.abs(w).ravel() for w in dense]), pct)
    ref = {}
    for label, weights in (("Dense", dense), ("Pruned model", [np.where(np.abs(w) < t, 0, w)
                                                               for w in dense])):
        model.set_weights(weights)
        pred = model.predict(x, verbose=0).argmax(axis=1)
        ref[label] = [100 * np.mean(pred[y == k] == k) for k in range(3)]
    bars = {t["name"]: t["y"] for t in figures(at)["Val accuracy per class"]["data"]}
    for label in ref:
        assert bars[label] == pytest.approx(ref[label], abs=1e-9)
    assert bars["Pruned model"] != bars["Dense"]  # 99 % breaks something in the tiny model


def test_an_mlp_shows_its_units_as_images(demo, tiny_npz, tmp_path):
    """A Dense-only model fed by the image: its first-layer filters are the units' weights
    over the 12x12 input; every view still draws."""
    import keras

    from app_helpers import new_app, upload

    keras.utils.set_random_seed(1)
    mlp = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(6, activation="relu"),
                            keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "mlp.keras"
    mlp.save(path)
    at = new_app().run()
    upload(at, ("mlp.keras", path.read_bytes()), [("tiny.npz", tiny_npz)])
    ok(at)
    at.switch_page(TEACH).run()
    ok(at)
    figs = figures(at)
    dense = np.asarray(figs["First-layer filters"]["data"][0]["z"], float)
    kernel = mlp.get_weights()[0]  # (144, 6)
    np.testing.assert_allclose(dense[:12, :12], kernel[:, 0].reshape(12, 12), rtol=1e-6)
    np.testing.assert_allclose(dense[:12, 13:25], kernel[:, 1].reshape(12, 12), rtol=1e-6)
    title = figs["First-layer filters"]["layout"]["title"]["text"]
    assert "each unit's weights over the 12x12 input" in title
    z = np.asarray(figs["Kept weights"]["data"][0]["z"], float)
    assert z.shape == (6, 144)  # the biggest layer drawn cell for cell: units x inputs
    # a first layer that is no picture (a 1-D conv over the flattened pixels): one line says so
    conv1d = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Reshape((144, 1)),
                               keras.layers.Conv1D(4, 5, activation="relu"),
                               keras.layers.GlobalAveragePooling1D(),
                               keras.layers.Dense(3, activation="softmax")])
    conv1d.save(path)
    upload(at, ("conv1d.keras", path.read_bytes()))
    at.switch_page(TEACH).run()
    ok(at)
    assert "First-layer filters" not in figures(at)
    assert any("Filters as images apply to image models" in c.value for c in at.caption)
    assert {"|w|", "Kept weights", "Val accuracy per class", "Confusion matrices"} <= set(figures(at))

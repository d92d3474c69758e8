"""Shrink page (structured pruning): its numbers against plain Keras, its downloads reloaded."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from app_helpers import chart_specs, metrics, new_app, ok, pct, upload

from pruning.ui import SHRINK_RESULT

L = keras.layers


def seed_stack(widths: dict[str, int], shape=(12, 12, 1), classes=3) -> keras.Model:
    """The seed's layer stack in plain Keras with the given per-layer widths."""
    w = widths
    return keras.Sequential([
        keras.Input(shape=shape),
        L.Conv2D(w["conv2d"], 3, padding="same"), L.Activation("relu"),
        L.Conv2D(w["conv2d_1"], 3), L.Activation("relu"), L.MaxPooling2D(2), L.Dropout(0.25),
        L.Conv2D(w["conv2d_2"], 3, padding="same"), L.Activation("relu"),
        L.Conv2D(w["conv2d_3"], 3), L.Activation("relu"), L.MaxPooling2D(2), L.Dropout(0.25),
        L.Flatten(), L.Dense(w["dense"]), L.Activation("relu"), L.Dropout(0.5),
        L.Dense(w.get("dense_1", classes)), L.Activation("softmax"),
    ])


def accuracy(model: keras.Model, split) -> float:
    p = np.asarray(model.predict(split.x, batch_size=256, verbose=0))
    return float(np.mean(np.argmax(p, axis=1) == split.y))


def table(at, column: str):
    """The st.dataframe on the page that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def shrink(at, remove: int, importance: str = "l1", allocation: str = "uniform", epochs: int = 0):
    at.switch_page("pages/structured.py").run()
    ok(at)
    at.slider(key="shrink_remove").set_value(remove)
    at.selectbox(key="shrink_importance").set_value(importance)
    at.selectbox(key="shrink_allocation").set_value(allocation)
    if epochs:
        at.number_input(key="shrink_epochs").set_value(epochs)
    at.button(key="shrink_run").click().run()
    ok(at)
    return at


def test_shrunk_tiny_model_matches_plain_keras(tiny_app, tiny_data, tiny_keras, tmp_path):
    at = shrink(tiny_app, 50)
    m = metrics(at)
    params = int(m["Parameters"].replace(",", ""))
    dense_params = int(m["Dense parameters"].replace(",", ""))

    widths = table(at, "Structured")
    after = dict(zip(widths["Layer"], widths["Structured"]))
    assert set(after) == {"conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "dense", "dense_1"}
    hidden = widths[widths["Layer"] != "dense_1"]
    assert all(hidden["Structured"] < hidden["Dense"])  # every hidden group lost units at 50 %
    assert after["dense_1"] == 3  # the output layer keeps its classes
    assert seed_stack(after).count_params() == params
    dense_widths = dict(zip(widths["Layer"], widths["Dense"]))
    assert seed_stack(dense_widths).count_params() == dense_params
    assert m["Fewer parameters"] == f"{dense_params / params:.2f}x"

    bars = {t["name"]: t for t in chart_specs(at)[0]["data"]}  # the chart shows the table
    np.testing.assert_allclose(bars["Kept"]["y"], 100 * widths["Structured"] / widths["Dense"])
    np.testing.assert_allclose(bars["Removed"]["y"], 100 - 100 * widths["Structured"] / widths["Dense"],
                               atol=1e-9)
    assert bars["Kept"]["text"] == [f"{a:,}" for a in widths["Structured"]]
    unpruned = table(at, "Why it is not pruned")
    assert "dense_1" in set(unpruned["Layer"])  # the output layer keeps its classes

    res = at.session_state[SHRINK_RESULT]  # the bytes the download buttons were given
    assert at.download_button(key="shrink_download_keras").label.startswith("Download .keras")
    assert at.download_button(key="shrink_download_h5").label.startswith("Download .h5")
    path = tmp_path / res.names["keras"]
    path.write_bytes(res.keras_bytes)
    small = keras.models.load_model(path, safe_mode=True)
    assert small.count_params() == params
    assert pct(m["Val accuracy"]) == pytest.approx(100 * accuracy(small, tiny_data.val), abs=5e-3)
    assert pct(m["Test accuracy"]) == pytest.approx(100 * accuracy(small, tiny_data.test), abs=5e-3)

    dense_file = tmp_path / "dense.keras"  # the run started from the dense weights
    dense_file.write_bytes(tiny_keras)
    dense_acc = accuracy(keras.models.load_model(dense_file, safe_mode=True), tiny_data.val)
    assert res.info["dense_accuracy"] == pytest.approx(dense_acc, abs=1e-9)
    delta = 100 * (accuracy(small, tiny_data.val) - dense_acc)
    assert at.metric[3].delta == f"{delta:+.2f} pp vs dense"

    h5 = tmp_path / res.names["h5"]
    h5.write_bytes(res.h5_bytes)
    twin = keras.models.model_from_json(res.config_json)
    twin.load_weights(h5)
    x = tiny_data.val.x[:64]
    np.testing.assert_array_equal(np.asarray(twin(x, training=False)), np.asarray(small(x, training=False)))
    code = [c.value for c in at.code]
    assert any(res.names["keras"] in c and "safe_mode=True" in c for c in code)
    assert any(res.names["json"] in c and res.names["h5"] in c for c in code)

    # the session's model was not touched: Explore's dense figures still hold the dense weights
    b = at.session_state["_bench"]
    assert b.wb.model.count_params() == dense_params

    at.button(key="shrink_measure").click().run()  # the deployment report of the structured file
    ok(at)
    shown = {m.label: m.value for m in at.metric}
    nonzeros = int(sum(np.count_nonzero(w) for w in small.get_weights()))
    assert int(shown["Non-zeros"].replace(",", "")) == nonzeros
    lat = table(at, "Speed-up")
    assert set(lat["Batch"]) == {1, 256} and all(lat["Speed-up"] > 0)
    assert at.download_button(key="shrink_deploy_download_tflite").label.startswith("Download tflite")


def test_taylor_with_finetuning_runs_in_a_heavy_slot(demo, tiny_keras, tiny_data, tmp_path):
    buf = io.BytesIO()
    np.savez(buf, x_train=tiny_data.train.x[:200], y_train=tiny_data.train.y[:200],
             x_val=tiny_data.val.x, y_val=tiny_data.val.y)
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), [("tiny.npz", buf.getvalue())])
    shrink(at, 40, "taylor", "global", epochs=1)
    res = at.session_state[SHRINK_RESULT]
    assert res.info["epochs_run"] == 1 and "fine-tuning epochs" in at.subheader[0].value
    path = tmp_path / "small.keras"
    path.write_bytes(res.keras_bytes)
    small = keras.models.load_model(path, safe_mode=True)
    assert pct(metrics(at)["Val accuracy"]) == pytest.approx(100 * accuracy(small, tiny_data.val), abs=5e-3)
    assert small.count_params() == int(metrics(at)["Parameters"].replace(",", ""))


@pytest.mark.parametrize("kind", ["nothing-prunable", "nested"])
def test_model_that_cannot_be_pruned_gets_one_message(demo, tiny_npz, tmp_path, kind):
    inp = keras.Input((12, 12, 1))
    if kind == "nothing-prunable":
        out = L.Dense(3, activation="softmax")(L.Flatten()(inp))
    else:
        inner = keras.Sequential([keras.Input((12, 12, 1)), L.Conv2D(4, 3), L.Flatten()], name="inner")
        out = L.Dense(3, activation="softmax")(inner(inp))
    path = tmp_path / "model.keras"
    keras.Model(inp, out).save(path)
    at = new_app().run()
    upload(at, ("model.keras", path.read_bytes()), [("tiny.npz", tiny_npz)])
    at.switch_page("pages/structured.py").run()
    assert not at.exception
    assert len(at.error) == 1 and "cannot be pruned structurally" in at.error[0].value
    assert not at.button  # nothing to press

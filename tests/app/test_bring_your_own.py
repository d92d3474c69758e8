"""Bring your own: uploads become this session's model/data; every problem is an st.error."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from app_helpers import metrics, new_app, ok, pct, upload
from zoo_models import SPECS, ref_prune, ref_score, ref_selection

from pruning.ui import DEMO_DATA_LABEL, DEMO_MODEL_LABEL


def errors(at) -> list[str]:
    assert not at.exception, [e.message for e in at.exception]
    return [e.value for e in at.error]


def test_broken_weights_file_is_an_error(demo):
    at = new_app().run()
    upload(at, ("broken.h5", b"this is not an HDF5 file"))
    msgs = errors(at)
    assert len(msgs) == 1 and "broken.h5" in msgs[0] and "not an HDF5 file" in msgs[0]
    assert at.selectbox(key="model").options == [DEMO_MODEL_LABEL]


def test_broken_keras_archive_is_an_error(demo):
    at = new_app().run()
    upload(at, ("model.keras", b"PK\x03\x04 truncated zip"))
    msgs = errors(at)
    assert len(msgs) == 1 and "model.keras" in msgs[0]


def test_weights_for_another_preset_is_an_error(demo, tiny_weights_path):
    at = new_app().run()
    upload(at, ("tiny.h5", tiny_weights_path.read_bytes()), preset="fashion-mnist")
    msgs = errors(at)
    assert len(msgs) == 1 and "tiny.h5" in msgs[0] and "preset" in msgs[0]


def test_data_of_the_wrong_shape_is_an_error(demo, tiny_keras):
    x = np.zeros((20, 28, 28, 1), np.uint8)
    y = np.zeros(20, np.int64)
    buf = io.BytesIO()
    np.savez(buf, x_val=x, y_val=y)
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), [("fashion.npz", buf.getvalue())])
    msgs = errors(at)
    assert any("(12, 12, 1)" in m and "(28, 28, 1)" in m for m in msgs), msgs
    at.switch_page("pages/explore.py").run()  # the same problem on Explore: a message, no traceback
    msgs = errors(at)
    assert msgs and "12, 12, 1" in msgs[0] and "28, 28, 1" in msgs[0]


def test_bad_data_files_are_errors(demo):
    at = new_app().run()
    upload(at, data=[("data.npz", b"garbage")])
    assert "data.npz" in errors(at)[0]
    at.file_uploader(key="byo_data").set_value([("val_images.pkl", b"\x80\x04garbage", "x")])
    at.run()
    assert "val_images.pkl" in errors(at)[0]
    evil = pickle.dumps(print)  # a global other than NumPy arrays: refused, never called
    at.file_uploader(key="byo_data").set_value([("val_images.pkl", evil, "x"),
                                                 ("val_labels.pkl", evil, "x")])
    at.run()
    assert "unsafe" in errors(at)[0]
    at.file_uploader(key="byo_data").set_value([("x.npz", b"a", "x"), ("val_labels.pkl", b"b", "x")])
    at.run()
    assert "not both" in errors(at)[0]
    assert at.selectbox(key="data").options == [DEMO_DATA_LABEL]


def test_seed_pickles_and_keras_model_are_used_on_explore(demo, tiny_keras, tiny_data):
    files = [("val_images.pkl", pickle.dumps((255 * tiny_data.val.x).astype(np.uint8))),
             ("val_labels.pkl", pickle.dumps(tiny_data.val.y))]
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), files)
    ok(at)
    assert at.selectbox(key="model").value.startswith("upload-")
    assert at.selectbox(key="data").value.startswith("upload-")
    assert any("Ready" in s.value for s in at.success)
    at.switch_page("pages/explore.py").run()
    ok(at)
    shown = metrics(at)
    assert float(shown["Dense val accuracy"].split()[0]) > 90
    assert shown["Test accuracy"] == "—"  # the pickles had no test split
    # the upload stays in this session: a new session only sees the demo
    other = new_app().run()
    assert other.selectbox(key="model").options == [DEMO_MODEL_LABEL]


def test_preset_weights_in_both_formats_and_forgetting(demo, tmp_path):
    from pruning.export import write_weights
    from pruning.models import BUNDLED_WEIGHTS, load_model

    legacy = (demo / BUNDLED_WEIGHTS["fashion-mnist"]).read_bytes()
    k3 = write_weights(load_model(demo / BUNDLED_WEIGHTS["fashion-mnist"]), tmp_path / "m.weights.h5",
                       "weights.h5").read_bytes()
    at = new_app().run()
    upload(at, ("mine.h5", legacy), preset="fashion-mnist")
    ok(at)
    assert at.selectbox(key="model").options == [DEMO_MODEL_LABEL, "Your model: mine.h5 (fashion-mnist)"]
    upload(at, ("mine.weights.h5", k3))
    ok(at)
    assert at.selectbox(key="model").options[1] == "Your model: mine.weights.h5 (fashion-mnist)"
    assert at.selectbox(key="model").value.startswith("upload-")
    at.button(key="byo_forget").click().run()
    ok(at)
    assert at.selectbox(key="model").options == [DEMO_MODEL_LABEL]
    assert at.selectbox(key="model").value == "demo"


def _detected(at) -> dict[str, str]:
    """The 'What the tool understood' table: row name -> detected value."""
    for t in at.table:
        df = t.value
        if "Detected" in df.columns:
            return dict(zip(df.iloc[:, 0], df["Detected"]))
    raise AssertionError("no detection table on the page")


@pytest.mark.parametrize("name", list(SPECS))
def test_zoo_model_is_understood_and_scored(name, demo, zoo):
    """Each zoo model and its .npz through the page: what was detected, the dense score and
    loss, and Explore's one-shot point, against plain Keras references."""
    import keras

    z = zoo[name]
    raw = np.load(z.data_path)
    x, y = z.prepare(raw["x_val"]), raw["y_val"]
    ref = keras.saving.load_model(z.model_path)
    at = new_app().run()
    upload(at, (z.model_path.name, z.model_path.read_bytes()),
           [(z.data_path.name, z.data_path.read_bytes())])
    ok(at)
    shown = _detected(at)
    assert shown["Input"].startswith({"images": "images", "vectors": "vectors", "tokens": "integer token ids",
                                      "sequences": "sequences"}[z.input_kind]), shown
    assert shown["Output"].startswith(z.output_kind if z.output_kind != "sigmoid" else "one sigmoid unit")
    assert f"{z.classes} classes" in shown["Output"]
    scale_text = {"1/255": "x / 255", "none": "none"}[z.scale]
    assert shown["Input scaling applied"].startswith(scale_text) and "auto" in shown["Input scaling applied"]
    assert ("rescaling" in shown["Scaling inside the model"]) == (name == "rescaling")
    acc, loss = ref_score(ref, ref.get_weights(), x, y, z.output_kind)
    ready = next(s.value for s in at.success if "Ready" in s.value)
    assert f"{100 * acc:.2f} %" in ready and f"loss {loss:.4f}" in ready, ready
    at.switch_page("pages/explore.py").run()  # global magnitude at 50 % (the page's defaults)
    ok(at)
    acc50, _ = ref_score(ref, ref_prune(ref.get_weights(), ref_selection(ref), "global", 0.5), x, y,
                         z.output_kind)
    assert pct(metrics(at)["Val accuracy"]) == pytest.approx(100 * acc50, abs=0.0051)  # 2 decimals
    assert any("Input scaling applied" in c.value for c in at.sidebar.caption)


def test_input_scaling_can_be_overridden_in_the_sidebar(demo, zoo):
    """The Rescaling model on its uint8 data: 'auto' feeds it as stored; forcing 1/255 (the
    hidden transformation the tool used to apply) is possible, named, and scores differently."""
    z = zoo["rescaling"]
    at = new_app().run()
    upload(at, (z.model_path.name, z.model_path.read_bytes()),
           [(z.data_path.name, z.data_path.read_bytes())])
    ok(at)
    auto = next(s.value for s in at.success if "Ready" in s.value)
    at.selectbox(key="input_scale").set_value("1/255").run()
    ok(at)
    assert _detected(at)["Input scaling applied"].startswith("x / 255 (0..255 -> 0..1) (chosen)")
    forced = next(s.value for s in at.success if "Ready" in s.value)
    assert forced != auto

"""Bring your own: uploads become this session's model/data; every problem is an st.error."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from app_helpers import finish_retrain, metrics, new_app, ok, pct, upload
from zoo_models import (SPECS, ref_norm_mask, ref_prune, ref_score, ref_selection, ref_sparsity,
                        ref_whole)

from pruning.ui import DEMO_DATA_LABEL, DEMO_MODEL_LABEL


def errors(at) -> list[str]:
    assert not at.exception, [e.message for e in at.exception]
    return [e.value for e in at.error]


@pytest.fixture()
def no_demo(monkeypatch, tmp_path):
    """No bundled demo weights: the app's first run (Explore) stops at once with a message
    instead of building the demo, which these tests never use."""
    import pruning.models

    monkeypatch.setattr(pruning.models, "WEIGHTS_DIR", tmp_path / "no-weights")


def test_bad_model_files_are_errors(no_demo, tiny_weights_path):
    """A broken .h5, a broken .keras archive, weights for another preset: each one error
    that names the file, and the sidebar keeps only the demo."""
    at = new_app().run()
    upload(at, ("broken.h5", b"this is not an HDF5 file"))
    msgs = errors(at)
    assert len(msgs) == 1 and "broken.h5" in msgs[0] and "not an HDF5 file" in msgs[0]
    assert at.selectbox(key="model").options == [DEMO_MODEL_LABEL]
    upload(at, ("model.keras", b"PK\x03\x04 truncated zip"))
    msgs = errors(at)
    assert len(msgs) == 1 and "model.keras" in msgs[0]
    upload(at, ("tiny.h5", tiny_weights_path.read_bytes()), preset="fashion-mnist")
    msgs = errors(at)
    assert len(msgs) == 1 and "tiny.h5" in msgs[0] and "preset" in msgs[0]
    assert at.selectbox(key="model").options == [DEMO_MODEL_LABEL]


def test_data_of_the_wrong_shape_is_an_error(no_demo, tiny_keras):
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


def test_bad_data_files_are_errors(no_demo):
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


def test_seed_pickles_and_keras_model_are_used_on_explore(no_demo, tiny_keras, tiny_data):
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


def test_preset_weights_in_both_formats_and_forgetting(no_demo, fake_demo_dir, tmp_path):
    from pruning.export import write_weights
    from pruning.models import BUNDLED_WEIGHTS, load_model

    legacy = (fake_demo_dir / BUNDLED_WEIGHTS["fashion-mnist"]).read_bytes()
    k3 = write_weights(load_model(fake_demo_dir / BUNDLED_WEIGHTS["fashion-mnist"]), tmp_path / "m.weights.h5",
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


@pytest.fixture()
def offered(monkeypatch) -> dict:
    """Widget key -> what each download button hands the browser (bytes, or the callable a
    deferred download runs when clicked)."""
    import streamlit as st
    from streamlit.delta_generator import DeltaGenerator

    got: dict = {}
    real = DeltaGenerator.download_button

    def record(self, label, data, *args, **kwargs):
        got[kwargs.get("key")] = data
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    monkeypatch.setattr(st, "download_button", lambda *a, **k: record(st._main, *a, **k))
    return got


def _bytes(data) -> bytes:
    return data() if callable(data) else data


def _close(shown: str, fraction: float) -> None:
    """A percent shown with two decimals equals ``fraction``."""
    assert pct(shown) == pytest.approx(100 * fraction, abs=0.0051), (shown, fraction)


class _Refs:
    """Plain Keras / NumPy references for one zoo model (cached per set of arrays)."""

    def __init__(self, z):
        import keras

        raw = np.load(z.data_path)
        self.z, self.x, self.y = z, z.prepare(raw["x_val"]), raw["y_val"]
        self.model = keras.saving.load_model(z.model_path)
        self.dense = self.model.get_weights()
        self.sel = ref_selection(self.model)
        self.norm = ref_norm_mask(self.model)
        self._scores: dict = {}

    def pruned(self, method: str, s: float, sel=None) -> list[np.ndarray]:
        return ref_prune(self.dense, self.sel if sel is None else sel, method, s)

    def score(self, arrays, key=None) -> tuple[float, float]:
        if key is None or key not in self._scores:
            got = ref_score(self.model, arrays, self.x, self.y, self.z.output_kind)
            if key is None:
                return got
            self._scores[key] = got
        return self._scores[key]

    def check_row(self, row, method: str) -> None:
        """A sweep row (fractions) against the reference at its target."""
        arrays = self.pruned(method, row["target"])
        acc, loss = self.score(arrays, (method, round(row["target"], 6)))
        assert row["accuracy"] == pytest.approx(acc, abs=1e-9), (method, row["target"])
        assert row["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6), (method, row["target"])
        assert row["sparsity"] == pytest.approx(ref_sparsity(arrays, self.sel), abs=1e-12)

    def reload(self, data: bytes, fmt: str, folder) -> list[np.ndarray]:
        """Export bytes read back by plain Keras: weight files into the model's own
        architecture, .keras as a whole model in safe mode."""
        import keras

        path = folder / f"m.{fmt}"
        path.write_bytes(data)
        if fmt == "keras":
            back = keras.saving.load_model(path, safe_mode=True)
        else:
            back = keras.models.clone_model(self.model)
            back.load_weights(path)
        return back.get_weights()

    def norm_untouched(self, arrays) -> None:
        """BatchNorm moving mean/var and gamma/beta, LayerNorm gamma/beta: bit-identical."""
        for a, b, n in zip(arrays, self.dense, self.norm):
            if n:
                assert a.tobytes() == b.tobytes()


def _downloads(at, offered, keys: dict[str, str], folder, refs: "_Refs", want) -> None:
    """The downloads ``keys`` (format -> button key) reload to exactly ``want``."""
    for fmt, key in keys.items():
        back = refs.reload(_bytes(offered[key]), fmt, folder)
        assert len(back) == len(want), fmt
        for a, b in zip(back, want):
            assert a.tobytes() == b.tobytes(), fmt


def _csv(data) -> "pd.DataFrame":
    import pandas as pd

    return pd.read_csv(io.BytesIO(_bytes(data)))


@pytest.mark.parametrize("name", list(SPECS))
def test_zoo_model_on_every_page(name, no_demo, zoo, offered, tmp_path):
    """Each zoo model and its .npz uploaded on Bring your own, then used in one session as a
    user would: what was detected and the dense score; Explore's one-shot point and its three
    downloads; Frontier's plain sweeps of both magnitude methods; Sensitivity; one masked
    retraining epoch on Retrain, then on Explore (its downloads), Frontier (with the adaptive
    sweep) and Why it works; Shrink renders. Every figure shown against plain Keras / NumPy;
    normalization arrays bit-identical after pruning. Widgets are set before each page opens
    (one run per page)."""
    from pruning.layers import weight_arrays
    from pruning.ui import FORMAT_LABELS

    z = zoo[name]
    refs = _Refs(z)
    at = new_app().run()
    at.switch_page("pages/bring_your_own.py").run()
    at.file_uploader(key="byo_model").set_value((z.model_path.name, z.model_path.read_bytes(), "x"))
    at.file_uploader(key="byo_data").set_value([(z.data_path.name, z.data_path.read_bytes(), "x")])
    at.run()
    ok(at)

    # info: what was detected, and the dense score and loss
    shown = _detected(at)
    assert shown["Input"].startswith({"images": "images", "vectors": "vectors", "tokens": "integer token ids",
                                      "sequences": "sequences"}[z.input_kind]), shown
    assert shown["Output"].startswith(z.output_kind if z.output_kind != "sigmoid" else "one sigmoid unit")
    assert f"{z.classes} classes" in shown["Output"]
    scale_text = {"1/255": "x / 255", "none": "none"}[z.scale]
    assert shown["Input scaling applied"].startswith(scale_text) and "auto" in shown["Input scaling applied"]
    assert ("rescaling" in shown["Scaling inside the model"]) == (name == "rescaling")
    prunable = sum(a.size for a, k in zip(refs.dense, refs.sel) if k)
    assert shown["Prunable weights"].startswith(f"{prunable:,} of {sum(a.size for a in refs.dense):,} "
                                                "parameters"), shown
    assert shown["Never pruned"].startswith("nothing") == all(refs.sel)
    acc, loss = refs.score(refs.dense, ("global", 0.0))
    ready = next(s.value for s in at.success if "Ready" in s.value)
    assert f"{100 * acc:.2f} %" in ready and f"loss {loss:.4f}" in ready, ready

    # Explore: global magnitude at 70 %; its numbers and its downloads in all three formats
    at.session_state["sparsity"] = 70.0
    at.switch_page("pages/explore.py").run()
    ok(at)
    want = refs.pruned("global", 0.7)
    m = metrics(at)
    _close(m["Val accuracy"], refs.score(want, ("global", 0.7))[0])
    _close(m["Sparsity"], ref_sparsity(want, refs.sel))
    whole = next(c.value for c in at.caption if c.value.startswith("Whole model:"))
    _close(whole.removeprefix("Whole model: ").split(" of ")[0], ref_whole(want))
    assert any("Input scaling applied" in c.value for c in at.sidebar.caption)
    refs.norm_untouched(want)
    assert at.selectbox(key="export_format").options == [FORMAT_LABELS[f] for f in ("weights.h5", "keras")]
    _downloads(at, offered, {"h5": "download_h5", "weights.h5": "download_other"}, tmp_path, refs, want)
    at.selectbox(key="export_format").set_value("keras").run()
    ok(at)
    _downloads(at, offered, {"keras": "download_other"}, tmp_path, refs, want)

    # Frontier: plain sweeps of both magnitude methods, 10 % grid up to 50 %
    at.session_state["frontier_step"] = 10.0
    at.session_state["frontier_max"] = 50.0
    at.switch_page("pages/frontier.py").run()
    assert at.session_state["frontier_methods"] == ["global", "layerwise"]
    at.button(key="frontier_run").click().run()
    ok(at)
    plain = _csv(offered["frontier_csv"])
    assert len(plain) == 12 and set(plain["method"]) == {"global", "layerwise"}
    for row in plain.to_dict("records"):
        refs.check_row(row, row["method"])
        assert row["sparsity_model"] == pytest.approx(ref_whole(refs.pruned(row["method"], row["target"])),
                                                      abs=1e-12)

    # Sensitivity at 60 %: each layer pruned alone (its own threshold), the others dense
    at.session_state["sens_levels"] = [60.0]
    at.switch_page("pages/sensitivity.py").run()
    at.button(key="sens_run").click().run()
    ok(at)
    sens = _csv(offered["sens_csv"])
    owner = [w.layer for w in weight_arrays(refs.model)]
    layers = list(dict.fromkeys(o for o, k in zip(owner, refs.sel) if k))
    assert list(sens["layer"]) == layers
    for row in sens[sens["layer"].isin(layers[:2] + layers[-1:])].to_dict("records"):
        only = [k and o == row["layer"] for k, o in zip(refs.sel, owner)]
        acc_l, loss_l = refs.score(ref_prune(refs.dense, only, "layerwise", 0.6))
        assert row["accuracy"] == pytest.approx(acc_l, abs=1e-9), row["layer"]
        assert row["loss"] == pytest.approx(loss_l, rel=1e-4, abs=1e-6), row["layer"]

    # Retrain: one masked epoch at 60 % on 100 training samples; its .h5 download
    for k, v in {"rt_method": "masked", "rt_sparsity": 60.0, "rt_epochs": 1, "rt_train": 100}.items():
        at.session_state[k] = v
    at.switch_page("pages/retrain.py").run()
    finish_retrain(at.button(key="rt_run").click().run())  # runs on a server thread
    ok(at)
    retrained = refs.reload(_bytes(offered["rt_download_h5"]), "h5", tmp_path)
    acc_r, loss_r = refs.score(retrained)
    sparsity_r = ref_sparsity(retrained, refs.sel)
    assert sparsity_r >= 0.6 - 1 / prunable  # the target, within one weight
    m = metrics(at)
    _close(m["Val accuracy"], acc_r)
    _close(m["Sparsity"], sparsity_r)
    assert m["Epochs run"] == "1"
    entry = at.session_state["_rt_result"][2]
    assert entry.accuracy == pytest.approx(acc_r, abs=1e-9)
    assert entry.loss == pytest.approx(loss_r, rel=1e-4, abs=1e-6)

    # the run on Explore (the retraining method at its target): its .h5 and .keras downloads
    at.session_state["method"] = "masked"
    at.session_state["sparsity"] = 60.0
    at.switch_page("pages/explore.py").run()
    ok(at)
    m = metrics(at)
    _close(m["Val accuracy"], acc_r)
    _close(m["Sparsity"], sparsity_r)
    _downloads(at, offered, {"h5": "download_h5", "keras": "download_other"}, tmp_path, refs, retrained)

    # Frontier, adaptive (global magnitude): every whole percent to 50 %; exact levels against
    # the reference, filled ones within a few images; the retrained run as a diamond with its
    # own loss
    at.session_state["frontier_adaptive"] = True
    at.session_state["frontier_methods"] = ["global"]
    at.switch_page("pages/frontier.py").run()
    at.button(key="frontier_run").click().run()
    ok(at)
    rows = _csv(offered["frontier_csv"])
    runs = rows[rows["method"] == "masked"]
    assert len(runs) == 1
    assert runs["accuracy"].iloc[0] == pytest.approx(acc_r, abs=1e-9)
    assert runs["loss"].iloc[0] == pytest.approx(loss_r, rel=1e-4, abs=1e-6)
    assert set(rows["method"]) == {"global", "masked"}
    swept = rows[rows["method"] == "global"]
    assert list(swept["target"]) == pytest.approx([p / 100 for p in range(51)])
    exact = swept[swept["exact"].astype(bool)]
    assert set(np.round(plain["target"], 6)) <= set(np.round(exact["target"], 6))
    for row in exact.to_dict("records")[:8]:  # the coarse grid (references cached) and a bisection
        refs.check_row(row, "global")
    for row in swept[~swept["exact"].astype(bool)].iloc[::12].to_dict("records"):
        arrays = refs.pruned("global", row["target"])
        assert row["sparsity"] == pytest.approx(ref_sparsity(arrays, refs.sel), abs=1e-12)
        assert abs(row["accuracy"] - refs.score(arrays)[0]) <= 3 / len(refs.y)

    # Why it works, at Explore's method and target (the retrained run), and Shrink: both
    # render; Shrink offers its controls or says why this model cannot be shrunk
    at.switch_page("pages/teach.py").run()
    ok(at)
    cap = next(c.value for c in at.caption if "% target: " in c.value)
    _close(cap.split("% target: ")[1].split(" of ")[0], sparsity_r)
    at.switch_page("pages/structured.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert all("cannot be pruned structurally" in e.value for e in at.error), [e.value for e in at.error]

    if name == "rescaling":  # forcing x / 255 on it (the old hidden transformation) is named
        at.session_state["input_scale"] = "1/255"
        at.switch_page("pages/bring_your_own.py").run()
        ok(at)
        assert _detected(at)["Input scaling applied"].startswith("x / 255 (0..255 -> 0..1) (chosen)")
        forced = next(s.value for s in at.success if "Ready" in s.value)
        assert forced != ready

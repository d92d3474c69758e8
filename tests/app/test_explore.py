"""Explore page: the fixed widget contract, live numbers, caching, downloads."""

from __future__ import annotations

import h5py
import numpy as np

from app_helpers import metrics, new_app, ok, pct


def ui_bytes(text: str) -> float:
    """'1.8 MiB' -> bytes."""
    number, unit = text.split()
    return float(number.replace(",", "")) * {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]


def test_default_page_has_the_contract_widgets(demo):
    at = new_app().run()
    ok(at)
    assert at.title[0].value == "Explore"
    method = at.selectbox(key="method")
    assert method.options[:2] == ["Global magnitude (M1)", "Layer-wise magnitude (M2)"]
    assert method.options[2:5] == ["N:M semi-structured, groups of 4 (2:4 at 50 %)",
                                   "N:M semi-structured, groups of 8 (4:8 at 50 %)",
                                   "Block magnitude (1x4 blocks)"]
    assert method.options[5:] == ["Freeze-layer retraining (M3)", "Masked-gradient retraining (M4)",
                                  "Gradual pruning (Zhu & Gupta)", "Iterative magnitude pruning (IMP)"]
    slider = at.slider(key="sparsity")
    assert slider.label == "Sparsity (%)"
    assert (slider.min, slider.max, slider.step, slider.value) == (0.0, 99.9, 0.1, 50.0)
    assert at.radio(key="scope").options == ["All parameters", "Kernels only"]
    shown = metrics(at)
    for label in ("Val accuracy", "Test accuracy", "Sparsity", "Challenge score"):
        assert label in shown
    assert shown["Sparsity"] == "50.00 %"
    assert at.download_button(key="download_h5").label.startswith("Download .h5")
    # the bundled demo is the default model (here: the fake demo weights)
    assert at.session_state["model"] == "demo"
    assert at.session_state["_bench"].model_id.startswith("demo-")
    assert len(at.get("plotly_chart")) == 1


def test_missing_demo_weights_is_an_error_message(monkeypatch, tmp_path):
    import pruning.models

    monkeypatch.setattr(pruning.models, "WEIGHTS_DIR", tmp_path)  # empty folder
    at = new_app().run()
    assert not at.exception
    assert "demo weights" in at.error[0].value and "Bring your own" in at.error[0].value


def test_slider_method_and_scope_change_the_numbers(tiny_app):
    at = tiny_app
    at.slider(key="sparsity").set_value(0.0).run()
    ok(at)
    dense = metrics(at)
    assert dense["Sparsity"] == "0.00 %"
    assert pct(dense["Val accuracy"]) > 90  # the tiny model learns its task
    assert dense["Val accuracy"] == dense["Dense val accuracy"]

    at.slider(key="sparsity").set_value(99.0).run()
    ok(at)
    wrecked = metrics(at)
    assert abs(pct(wrecked["Sparsity"]) - 99.0) < 0.1
    assert pct(wrecked["Val accuracy"]) < pct(dense["Val accuracy"]) - 20
    assert int(wrecked["Non-zeros"].replace(",", "")) < int(dense["Non-zeros"].replace(",", "")) / 50
    assert wrecked["Test accuracy"] != "…" and wrecked["gzip size"] != "…"
    assert ui_bytes(wrecked["gzip size"]) < ui_bytes(dense["gzip size"])  # zeros compress

    at.selectbox(key="method").set_value("layerwise").run()
    ok(at)
    layerwise = metrics(at)
    assert layerwise["Val accuracy"] != wrecked["Val accuracy"]

    at.radio(key="scope").set_value("Kernels only").run()
    ok(at)
    kernels = metrics(at)  # biases stay dense in this scope: more non-zeros at the same level
    assert int(kernels["Non-zeros"].replace(",", "")) > int(layerwise["Non-zeros"].replace(",", ""))


def test_moving_back_reuses_cached_numbers(tiny_app, monkeypatch):
    from pruning.evaluate import Evaluator

    calls = []
    real = Evaluator.evaluate
    monkeypatch.setattr(Evaluator, "evaluate", lambda self, w=None: calls.append(1) or real(self, w))
    at = tiny_app
    at.slider(key="sparsity").set_value(80.0).run()
    first = metrics(at)
    assert len(calls) == 2  # one val + one test evaluation, no sweep
    at.slider(key="sparsity").set_value(30.0).run()
    assert len(calls) == 4
    at.slider(key="sparsity").set_value(80.0).run()
    assert len(calls) == 4  # back to 80 %: cached
    assert metrics(at) == first


def test_h5_export_loads_with_load_weights(tiny_app, tmp_path):
    import keras

    from pruning import file_name, ui
    from pruning.models import build_model

    at = tiny_app
    at.slider(key="sparsity").set_value(70.0).run()
    b = at.session_state["_bench"]
    pruned = b.prune("global", 0.7, "all")
    data = ui.h5_bytes(b, pruned, "h5")
    path = tmp_path / file_name("global", pruned.sparsity, "h5")
    assert path.name == "pruned-global-70.0pct.h5"
    path.write_bytes(data)
    with h5py.File(path) as f:
        assert "layer_names" in f.attrs  # the legacy Keras 2 layout
    model = build_model((12, 12, 1), 3, width=0.25)
    model.load_weights(path)
    arrays = model.get_weights()
    zeros = sum(a.size - np.count_nonzero(a) for a in arrays) / sum(a.size for a in arrays)
    assert abs(zeros - pruned.sparsity) < 1e-9
    assert metrics(at)[".h5 size"].endswith("KiB")
    for fmt in ("weights.h5", "keras"):  # the download bytes reload to exactly the pruned arrays
        path = tmp_path / file_name("global", pruned.sparsity, fmt)
        path.write_bytes(ui.export_for_download(b, "global", 0.7, "all", fmt)())
        if fmt == "keras":
            model = keras.saving.load_model(path, safe_mode=True)
        else:
            model = build_model((12, 12, 1), 3, width=0.25)
            model.load_weights(path)
        for got, want in zip(model.get_weights(), pruned.arrays, strict=True):
            np.testing.assert_array_equal(got, want)


def test_sessions_own_their_models_and_share_the_read_only_baseline(demo):
    one, two = new_app().run(), new_app().run()
    ok(one)
    ok(two)
    b1, b2 = one.session_state["_bench"], two.session_state["_bench"]
    assert b1.wb.model is not b2.wb.model  # evaluating writes weights: never shared
    assert b1.wb.baseline is b2.wb.baseline  # dense arrays: shared, read-only
    assert not any(a.flags.writeable for a in b1.wb.baseline.arrays)
    assert b1.wb.data is b2.wb.data and not b1.wb.data.val.x.flags.writeable
    two.slider(key="sparsity").set_value(95.0).run()
    one.run()
    assert metrics(one)["Sparsity"] == "50.00 %" and metrics(two)["Sparsity"] == "95.00 %"

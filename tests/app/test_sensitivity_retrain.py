"""Sensitivity and Retrain pages."""

from __future__ import annotations

from app_helpers import finish_retrain, chart_specs, ok

from pruning.labels import METHOD_LABELS
from pruning.retrain import RETRAIN_METHODS


def test_sensitivity_curves_per_layer(tiny_app):
    at = tiny_app
    at.switch_page("pages/sensitivity.py").run()
    ok(at)
    at.multiselect(key="sens_levels").set_value([0.0, "50", "lots", 99.0]).run()  # typed levels
    assert "lots" in at.warning[0].value
    assert at.multiselect(key="sens_levels").value == [0.0, 50.0, 99.0]
    at.button(key="sens_run").click().run()
    ok(at)
    specs = chart_specs(at)
    names = [t["name"] for t in specs[0]["data"]]
    assert names == ["conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "dense", "dense_1"]
    for trace in specs[0]["data"]:
        assert list(trace["x"]) == [0.0, 50.0, 99.0]
        assert trace["y"][0] > 90  # unpruned layer: dense accuracy, in percent
    at.run()
    assert at.button(key="sens_run").disabled  # cached now
    assert chart_specs(at)[0]["data"][0]["y"] == specs[0]["data"][0]["y"]


def test_retrain_page_renders(demo):
    from app_helpers import new_app

    at = new_app().run()
    at.switch_page("pages/retrain.py").run()
    ok(at)
    assert at.title[0].value == "Retrain"
    # the bundled data has a train split: the launcher is there, every method offered
    assert at.button(key="rt_run").label == "Start retraining"
    assert at.selectbox(key="rt_method").options == [METHOD_LABELS[m] for m in RETRAIN_METHODS]


def test_retrain_masked_keeps_the_target_sparsity(demo, tiny_files):
    from app_helpers import metrics, new_app, upload

    at = new_app().run()
    upload(at, ("tiny.keras", tiny_files.keras.read_bytes()),
           [("tiny-train.npz", tiny_files.npz.read_bytes())])
    ok(at)
    at.switch_page("pages/retrain.py").run()
    ok(at)
    at.selectbox(key="rt_method").set_value("masked")
    at.slider(key="rt_sparsity").set_value(80.0)
    at.number_input(key="rt_epochs").set_value(1).run()
    finish_retrain(at.button(key="rt_run").click().run())
    ok(at)
    shown = metrics(at)
    assert abs(float(shown["Sparsity"].split()[0]) - 80.0) < 0.1
    assert float(shown["Val accuracy"].split()[0]) > 50
    assert shown["Epochs run"] == "1"
    assert at.download_button(key="rt_download_h5").label.startswith("Download .h5")
    titles = {c["layout"]["title"]["text"]: c for c in chart_specs(at)}
    assert titles["Val accuracy and sparsity per epoch"]["layout"]["yaxis"]["title"]["text"] == "Percent (%)"
    assert titles["Loss and val accuracy per epoch"]["layout"]["yaxis"]["title"]["text"] == "Training loss"

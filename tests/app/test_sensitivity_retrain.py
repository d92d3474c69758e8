"""Sensitivity and Retrain pages."""

from __future__ import annotations

from app_helpers import chart_specs, ok


def test_sensitivity_curves_per_layer(tiny_app):
    at = tiny_app
    at.switch_page("pages/sensitivity.py").run()
    ok(at)
    at.multiselect(key="sens_levels").set_value([0.0, 50.0, 99.0]).run()
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
    try:
        import pruning.retrain  # noqa: F401
    except ImportError:
        assert "not available yet" in at.info[0].value

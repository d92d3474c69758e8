"""Explore's deployment view (N:M point, measured on demand, verified .tflite downloads) and
Frontier's cost axes, on the tiny uploaded model."""

from __future__ import annotations

import numpy as np

from app_helpers import chart_specs, metrics, ok


def test_explore_measures_an_nm_point_and_offers_verified_tflite(tiny_app, tiny_data):
    from pruning.patterns import nm_violations
    from pruning.tflite import LiteRTModel

    at = tiny_app
    at.selectbox(key="method").set_value("nm").run()
    ok(at)
    assert any("2:4" in c.value for c in at.caption)
    assert "Effective multiply-adds" not in metrics(at)  # nothing measured before the click
    at.button(key="deploy_measure").click().run()
    ok(at)
    shown = metrics(at)
    assert int(shown["Effective multiply-adds"].replace(",", "")) < int(shown["Multiply-adds / image"].replace(",", ""))
    (got,) = at.session_state["deploy_results"].values()
    assert got["report"]["speedup"]["keras"]["1"] > 0
    assert "no training split" in got["failed"]["tflite-int8-full"]  # the upload has no train split
    assert any("no training split" in w.value for w in at.warning)
    for fmt in ("tflite", "tflite-int8"):
        f = got["files"][fmt]
        assert at.download_button(key=f"deploy_download_{fmt}").label.startswith(f"Download {fmt}")
        lite = LiteRTModel(f.data)  # the offered bytes reload and score what the page says
        assert lite.evaluate(tiny_data.val).accuracy == f.val.accuracy
    b = at.session_state["_bench"]
    for a, k in zip(b.prune("nm", 0.5, "all").arrays, b.wb.baseline.kinds):
        if k == "kernel":
            assert nm_violations(a, 2, 4) == 0


def test_frontier_cost_axis_plots_each_points_own_nonzeros(tiny_app):
    at = tiny_app
    at.switch_page("pages/frontier.py").run()
    at.multiselect(key="frontier_methods").set_value(["global", "nm"]).run()
    at.select_slider(key="frontier_step").set_value(10.0).run()
    at.button(key="frontier_run").click().run()
    ok(at)
    at.segmented_control(key="frontier_axis").set_value("nonzeros").run()
    ok(at)
    spec = chart_specs(at)[0]
    assert spec["layout"]["xaxis"]["title"]["text"] == "Non-zero parameters"
    b = at.session_state["_bench"]
    nm = next(t for t in spec["data"] if t["name"].startswith("N:M"))
    levels = sorted({n for n in nm["x"]})
    want = sorted({float(sum(np.count_nonzero(a) for a in b.prune("nm", t / 100, "all").arrays))
                   for t in range(0, 100, 10)} | {float(sum(np.count_nonzero(a) for a in
                                                   b.prune("nm", 0.99, "all").arrays))})
    assert levels == want


def test_why_it_works_shows_an_nm_point(tiny_app):
    at = tiny_app
    at.selectbox(key="method").set_value("nm").run()
    at.switch_page("pages/teach.py").run()
    ok(at)
    assert at.session_state["method"] == "nm"

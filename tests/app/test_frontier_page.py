"""Frontier page: sweeps with progress, one figure (methods + frontier + best), cached reopen."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from app_helpers import chart_specs, ok

from pruning.plots import BEST_NAME, FRONTIER_NAME
from references import ONE_IMAGE, keras_accuracy, prune_global, prune_layerwise, zero_fraction


def test_sweep_draws_methods_frontier_and_best(tiny_app, monkeypatch):
    import streamlit as st

    offered = {}  # what each download button hands the browser
    real_button = st.download_button

    def recording_button(label, data, *args, **kwargs):
        offered[kwargs.get("key")] = data
        return real_button(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recording_button)
    at = tiny_app
    at.switch_page("pages/frontier.py").run()
    ok(at)
    assert at.session_state["frontier_methods"] == ["global", "layerwise"]
    at.select_slider(key="frontier_step").set_value(10.0).run()
    assert not chart_specs(at)  # nothing swept yet
    at.button(key="frontier_run").click().run()
    ok(at)
    specs = chart_specs(at)
    assert len(specs) == 1
    names = [t["name"] for t in specs[0]["data"]]
    assert names[:3] == ["Global magnitude (M1)", "Layer-wise magnitude (M2)", FRONTIER_NAME]
    assert len(names) == 4 and names[3].startswith(BEST_NAME)
    m1 = specs[0]["data"][0]
    assert len(m1["x"]) == 11  # 0, 10, ..., 90 and 99 %
    assert max(m1["x"]) > 98 and max(m1["y"]) > 90  # percent, not fractions
    layout = specs[0]["layout"]
    assert "%" in layout["xaxis"]["title"]["text"] and "%" in layout["yaxis"]["title"]["text"]
    floor = [s for s in layout["shapes"] if s["y0"] == s["y1"] == 60]
    assert floor, "accuracy floor line at 60 %"
    table = at.dataframe[0].value
    assert len(table) == 22 and table["On frontier"].any()
    assert at.download_button(key="frontier_csv").label == "Download CSV (fractions 0..1)"
    csv = pd.read_csv(io.BytesIO(offered["frontier_csv"]))
    assert len(csv) == 22 and set(csv["method"]) == {"global", "layerwise"}
    b = at.session_state["_bench"]
    base, val = b.wb.baseline, b.wb.val.split
    for method, prune in (("global", prune_global), ("layerwise", prune_layerwise)):
        rows = csv[csv["method"] == method].sort_values("target")
        assert list(rows["target"]) == pytest.approx([i / 10 for i in range(10)] + [0.99])
        for r in rows.itertuples():  # every row against NumPy pruning and plain Keras
            pruned = prune(base.arrays, base.kinds, r.target)
            assert r.sparsity == pytest.approx(zero_fraction(pruned), abs=1e-12)
            ref = keras_accuracy(b.wb.model, pruned, val.x, val.y)  # eager vs compiled: near-ties may flip
            assert r.accuracy == pytest.approx(ref, abs=ONE_IMAGE / len(val.y) + 1e-12)
            assert r.score == pytest.approx((r.sparsity + r.accuracy) / 2 if r.accuracy > 0.6 else math.nan,
                                            nan_ok=True)
    s, a = csv["sparsity"].to_numpy(), csv["accuracy"].to_numpy()
    dominated = [any(s2 >= s1 and a2 >= a1 and (s2 > s1 or a2 > a1) for s2, a2 in zip(s, a))
                 for s1, a1 in zip(s, a)]
    assert csv["on_frontier"].tolist() == [not d for d in dominated]
    assert "Best challenge score" in at.success[0].value
    at.run()  # the next run finds both sweeps finished
    assert at.button(key="frontier_run").disabled
    assert chart_specs(at)[0]["data"][0]["y"] == m1["y"]


def test_reopening_is_instant_and_floor_moves_the_line(tiny_app, monkeypatch):
    from pruning.evaluate import Evaluator

    at = tiny_app
    at.switch_page("pages/frontier.py").run()
    at.multiselect(key="frontier_methods").set_value(["global"]).run()
    at.select_slider(key="frontier_step").set_value(10.0).run()
    at.button(key="frontier_run").click().run()
    ok(at)
    calls = []
    real = Evaluator.evaluate
    monkeypatch.setattr(Evaluator, "evaluate", lambda self, w=None: calls.append(1) or real(self, w))
    at.switch_page("pages/explore.py").run()
    n_explore = len(calls)
    at.switch_page("pages/frontier.py").run()
    ok(at)
    assert len(calls) == n_explore  # the finished sweep came from the cache
    specs = chart_specs(at)
    assert [t["name"] for t in specs[0]["data"]][:2] == ["Global magnitude (M1)", FRONTIER_NAME]
    at.number_input(key="floor").set_value(95.0).run()
    ok(at)
    layout = chart_specs(at)[0]["layout"]
    assert any(s["y0"] == 95 for s in layout["shapes"])
    assert len(calls) == n_explore  # moving the floor re-scores, never re-sweeps


def test_finished_levels_come_back_from_the_disk_store(tiny_app, monkeypatch, tmp_path):
    import streamlit as st

    from pruning.evaluate import Evaluator

    at = tiny_app
    at.switch_page("pages/frontier.py").run()
    at.multiselect(key="frontier_methods").set_value(["layerwise"]).run()
    at.select_slider(key="frontier_step").set_value(10.0).run()
    at.button(key="frontier_run").click().run()
    ok(at)
    first = chart_specs(at)[0]["data"][0]["y"]
    assert (tmp_path / "store" / "results.sqlite").exists()
    st.cache_data.clear()  # as after a server restart: only the disk store remembers
    calls = []
    real = Evaluator.evaluate
    monkeypatch.setattr(Evaluator, "evaluate", lambda self, w=None: calls.append(1) or real(self, w))
    at.run()
    ok(at)
    assert len(calls) <= 2  # dense scores only; every level came from the store
    assert at.button(key="frontier_run").disabled
    assert chart_specs(at)[0]["data"][0]["y"] == first


def test_no_methods_selected_says_so(tiny_app):
    at = tiny_app
    at.switch_page("pages/frontier.py").run()
    at.multiselect(key="frontier_methods").set_value([]).run()
    ok(at)
    assert any("at least one method" in i.value for i in at.info)


def test_adaptive_toggle_gives_every_percent_with_filled_levels_marked(tiny_app):
    at = tiny_app
    at.switch_page("pages/frontier.py").run()
    at.multiselect(key="frontier_methods").set_value(["layerwise"]).run()
    at.toggle(key="frontier_adaptive").set_value(True).run()
    ok(at)
    assert at.select_slider(key="frontier_step").disabled
    assert "Every whole percent from 0 % to 99 %" in " ".join(c.value for c in at.caption)
    at.button(key="frontier_run").click().run()
    ok(at)
    m2 = chart_specs(at)[0]["data"][0]
    assert m2["name"] == "Layer-wise magnitude (M2)"
    assert len(m2["x"]) == 100  # 0, 1, ..., 99 %
    table = at.dataframe[0].value
    assert len(table) == 100 and set(table["Exact"]) == {True, False}
    assert at.button(key="frontier_run").disabled  # cached for the next run
    at.toggle(key="frontier_adaptive").set_value(False).run()
    assert not at.button(key="frontier_run").disabled  # the fixed grid is a different sweep

"""Retrain page: a queued grid (methods x levels x seeds) runs on the configured executor with
per-job progress; Frontier shows the seeds' mean with a band and a table of n, mean, sd."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from app_helpers import chart_specs, new_app, ok, upload

M4 = "Masked-gradient retraining (M4)"


@pytest.fixture()
def train_app(demo, tiny_keras, tiny_data):
    buf = io.BytesIO()
    np.savez(buf, x_train=tiny_data.train.x[:200], y_train=tiny_data.train.y[:200], x_val=tiny_data.val.x,
             y_val=tiny_data.val.y, x_test=tiny_data.test.x, y_test=tiny_data.test.y)
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), [("tiny-train.npz", buf.getvalue())])
    ok(at)
    return at


def test_grid_of_seeds_lands_on_frontier_as_mean_and_band(train_app):
    at = train_app
    at.switch_page("pages/retrain.py").run()
    at.number_input(key="rt_epochs").set_value(1)
    at.multiselect(key="rt_grid_methods").set_value(["masked"])
    at.text_input(key="rt_grid_levels").set_value("80")
    at.text_input(key="rt_grid_seeds").set_value("0, 1, 2").run()
    assert at.button(key="rt_grid_run").label == "Queue 3 runs"
    at.button(key="rt_grid_run").click().run()
    ok(at)
    assert any("All 3 runs landed (0 from the store)" in s.value for s in at.success)
    jobs = [d.value for d in at.dataframe if "State" in d.value.columns][-1]
    assert jobs["State"].tolist() == ["done"] * 3 and jobs["Seed"].tolist() == [0, 1, 2]
    accs = jobs["Val accuracy (%)"].to_numpy(float)

    at.switch_page("pages/frontier.py").run()
    ok(at)
    traces = {t["name"]: t for t in chart_specs(at)[0]["data"]}
    mean = traces[f"{M4}: mean of 3 seeds"]
    assert mean["y"] == [pytest.approx(accs.mean())]
    band = traces[f"{M4}: ±1 sd"]
    sd = accs.std(ddof=1)
    assert max(band["y"]) == pytest.approx(accs.mean() + sd) and min(band["y"]) == pytest.approx(accs.mean() - sd)
    assert f"{M4}: 95% t-interval" in traces
    seeds = [d.value for d in at.dataframe if "SD (%)" in d.value.columns][0]
    assert seeds["n"].tolist() == [3] and seeds["Mean (%)"].tolist() == [pytest.approx(accs.mean())]
    assert seeds["Min (%)"].tolist() == [accs.min()] and seeds["Max (%)"].tolist() == [accs.max()]
    assert math.isclose(seeds["SD (%)"].iloc[0], sd, rel_tol=1e-9)

    at.switch_page("pages/retrain.py").run()  # queued again: every run is served from the store
    at.number_input(key="rt_epochs").set_value(1)
    at.multiselect(key="rt_grid_methods").set_value(["masked"])
    at.text_input(key="rt_grid_levels").set_value("80")
    at.text_input(key="rt_grid_seeds").set_value("0, 1, 2").run()
    at.button(key="rt_grid_run").click().run()
    ok(at)
    assert any("All 3 runs landed (3 from the store)" in s.value for s in at.success)

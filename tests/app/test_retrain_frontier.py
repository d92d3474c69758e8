"""Retraining joins the dashboard: live result on Retrain, points on Frontier, runs on Explore."""

from __future__ import annotations

import io

import numpy as np
import pytest
from app_helpers import finish_retrain, chart_specs, metrics, new_app, ok, pct, upload

M4 = "Masked-gradient retraining (M4)"


@pytest.fixture()
def train_app(demo, tiny_keras, tiny_data):
    """An app session with the tiny model and tiny data (train split included) selected."""
    buf = io.BytesIO()
    np.savez(buf, x_train=tiny_data.train.x, y_train=tiny_data.train.y, x_val=tiny_data.val.x,
             y_val=tiny_data.val.y, x_test=tiny_data.test.x, y_test=tiny_data.test.y)
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), [("tiny-train.npz", buf.getvalue())])
    ok(at)
    return at


def test_retrained_result_joins_frontier_and_explore(train_app):
    at = train_app
    at.switch_page("pages/retrain.py").run()
    ok(at)
    at.selectbox(key="rt_method").set_value("masked")
    at.slider(key="rt_sparsity").set_value(80.0)
    at.number_input(key="rt_epochs").set_value(1).run()
    finish_retrain(at.button(key="rt_run").click().run())
    ok(at)
    shown = metrics(at)
    assert abs(pct(shown["Sparsity"]) - 80.0) < 0.1
    assert not [b for b in at.button if b.key == "rt_cancel"]  # finished: no Cancel any more
    assert not [w for w in at.warning if "cancelled" in w.value]
    curves = {c["layout"]["title"]["text"]: c for c in chart_specs(at)}
    loss = curves["Loss and val accuracy per epoch"]
    assert [t["name"] for t in loss["data"]] == ["Training loss", "Val accuracy (%)"]
    assert loss["data"][1]["y"][0] == pytest.approx(pct(shown["Val accuracy"]), abs=5)  # best epoch

    at.switch_page("pages/frontier.py").run()  # no sweep yet: the retrained point alone
    ok(at)
    spec = chart_specs(at)[0]
    traces = {t["name"]: t for t in spec["data"]}
    assert traces[M4]["mode"] == "markers"
    assert traces[M4]["x"] == [pytest.approx(pct(shown["Sparsity"]), abs=0.01)]
    assert traces[M4]["y"] == [pytest.approx(pct(shown["Val accuracy"]), abs=0.01)]
    best = [t for n, t in traces.items() if n.startswith("Best challenge score")]
    assert best and best[0]["x"] == traces[M4]["x"]  # the only point above the floor is the best
    assert M4 in at.success[0].value
    table = at.dataframe[0].value
    assert table["Method"].tolist() == [M4]

    del at.session_state["_rt_entries"]  # as a new session (or a restarted server) would see it
    at.run()
    ok(at)
    again = {t["name"]: t for t in chart_specs(at)[0]["data"]}
    assert again[M4]["x"] == traces[M4]["x"] and again[M4]["y"] == traces[M4]["y"]  # from the store

    at.switch_page("pages/explore.py").run()  # loads the stored weights
    at.selectbox(key="method").set_value("masked")
    at.slider(key="sparsity").set_value(80.3).run()  # within 0.5 pp of the finished run
    ok(at)
    assert at.selectbox(key="method").options[:2] == ["Global magnitude (M1)", "Layer-wise magnitude (M2)"]
    shown_explore = metrics(at)
    for label in ("Val accuracy", "Test accuracy", "Sparsity", "Challenge score"):
        assert shown_explore[label] == shown[label], label
    assert at.download_button(key="download_h5").label.startswith("Download .h5")
    at.slider(key="sparsity").set_value(81.0).run()  # 1 pp away: nothing to show, an offer instead
    ok(at)
    assert at.button(key="explore_retrain").label == "Retrain at 81.0 %"


def test_training_options_reach_the_run_and_key_it_apart(train_app, monkeypatch):
    import pruning.retrain.loop as L

    seen = {}
    real = L.soft_targets

    def spy(teacher, *args):
        seen["teacher"] = teacher.get_weights()  # as it teaches (the model is reused afterwards)
        return real(teacher, *args)

    monkeypatch.setattr(L, "soft_targets", spy)
    at = train_app
    at.switch_page("pages/retrain.py").run()
    at.selectbox(key="rt_method").set_value("masked")
    at.slider(key="rt_sparsity").set_value(70.0)
    at.number_input(key="rt_epochs").set_value(1).run()
    at.selectbox(key="rt_lr_schedule").set_value("cosine")
    at.checkbox(key="rt_adjust_dropout").check()
    at.slider(key="rt_distill").set_value(0.5).run()
    finish_retrain(at.button(key="rt_run").click().run())
    ok(at)
    res = at.session_state["_rt_result"][2]
    assert res.history[0]["dropout"] and abs(res.pruned.sparsity - 0.7) < 1e-3
    recipe = "cosine LR, dropout adjusted, distilled 0.5"
    assert at.subheader[0].value == f"Result: {M4} ({recipe}) at 70.0 % target"
    teacher = seen["teacher"]  # the dense model, not the pruned start
    assert min(float(np.mean(w != 0)) for w in teacher if w.ndim > 1) > 0.99
    at.checkbox(key="rt_adjust_dropout").uncheck()
    at.slider(key="rt_distill").set_value(0.0)
    at.selectbox(key="rt_lr_schedule").set_value("constant").run()
    finish_retrain(at.button(key="rt_run").click().run())  # a different run: trained, not served from the first
    ok(at)
    assert "dropout" not in at.session_state["_rt_result"][2].history[0]
    assert at.subheader[0].value == f"Result: {M4} at 70.0 % target"

    # both runs on Frontier, told apart by their recipes, in the chart and the table
    labelled = f"{M4} ({recipe})"
    at.switch_page("pages/frontier.py").run()
    ok(at)
    names = [t["name"] for t in chart_specs(at)[0]["data"]]
    assert labelled in names and M4 in names
    assert sorted(at.dataframe[0].value["Method"]) == sorted([M4, labelled])
    del at.session_state["_rt_entries"]  # a new session reads both recipes back from the store
    at.run()
    ok(at)
    assert sorted(at.dataframe[0].value["Method"]) == sorted([M4, labelled])


def test_explore_offers_and_runs_retraining(train_app):
    at = train_app
    at.switch_page("pages/explore.py").run()
    options = at.selectbox(key="method").options
    assert options[:2] == ["Global magnitude (M1)", "Layer-wise magnitude (M2)"]
    assert {M4, "Gradual pruning (Zhu & Gupta)"} <= set(options)
    at.selectbox(key="method").set_value("gradual")
    at.slider(key="sparsity").set_value(50.0).run()
    ok(at)
    assert "takes minutes" in at.info[0].value
    assert not at.metric
    button = at.button(key="explore_retrain")
    assert button.label == "Retrain at 50.0 %"
    button.click().run()
    ok(at)
    shown = metrics(at)
    assert abs(pct(shown["Sparsity"]) - 50.0) < 0.5
    assert pct(shown["Val accuracy"]) > 50
    assert at.download_button(key="download_h5").label.startswith("Download .h5")
    assert not [b for b in at.button if b.key == "explore_retrain"]
    assert any("the finished run nearest 50.0 %" in c.value and "1 epoch per phase" in c.value
               for c in at.caption)


def test_a_run_outlives_its_page_and_a_cancelled_one_resumes_in_another_session(train_app):
    """The run belongs to the server: switching page does not stop it; Cancel stops it with a
    notice; a fresh session with the same settings resumes from its checkpoint."""
    import time

    from pruning.ui import background

    at = train_app
    at.switch_page("pages/retrain.py").run()
    at.selectbox(key="rt_method").set_value("gradual")
    at.slider(key="rt_sparsity").set_value(70.0)
    at.number_input(key="rt_epochs").set_value(3).run()
    at.button(key="rt_run").click().run()
    ok(at)
    (run,) = [r for r in background._RUNS.values() if r.running]  # this test's run
    at.switch_page("pages/explore.py").run()  # leave the page: the run goes on
    ok(at)
    deadline = time.time() + 240
    while not run.rows and run.running:  # one finished (checkpointed) epoch
        assert time.time() < deadline
        time.sleep(0.2)
    assert run.running and not run.cancel.is_set()
    at.switch_page("pages/retrain.py").run()  # back: the same settings show the same run
    ok(at)
    at.button(key="rt_cancel").click().run()
    finish_retrain(at)
    ok(at)
    assert run.result is None and run.cancelled
    notice = [w.value for w in at.warning if "cancelled" in w.value]
    assert notice and "resume" in notice[0], [w.value for w in at.warning]
    assert not at.metric  # no half result shown

    from app_helpers import new_app

    other = new_app().run()  # another browser session: same upload, same settings
    upload_same = at.session_state["_user_models"], at.session_state["_user_data"]
    other.session_state["_user_models"], other.session_state["_user_data"] = upload_same
    other.session_state["_pending_model"] = at.session_state["model"]
    other.session_state["_pending_data"] = at.session_state["data"]
    other.switch_page("pages/retrain.py").run()
    other.selectbox(key="rt_method").set_value("gradual")
    other.slider(key="rt_sparsity").set_value(70.0)
    other.number_input(key="rt_epochs").set_value(3).run()
    assert any("resume" in w.value for w in other.warning)  # it sees the checkpoint too
    finish_retrain(other.button(key="rt_run").click().run())
    ok(other)
    resumed = background.background_run(run.id)  # the same settings: the same id
    assert resumed.info["resumed"] >= 1  # started from the checkpoint, not from epoch 1
    assert not resumed.result.from_store
    assert len(resumed.rows) <= 3 - resumed.info["resumed"]  # only the epochs not checkpointed ran
    assert other.metric


def test_checkpoints_untouched_for_a_day_are_cleaned_and_fresh_ones_kept(tmp_path, monkeypatch):
    import os
    import tempfile
    import time

    from pruning import ui

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = tmp_path / ui.CHECKPOINT_ROOT
    old, fresh, resumed = root / "old", root / "fresh", root / "resumed"
    day_ago = time.time() - ui.CHECKPOINT_TTL_S - 60
    for d in (old, fresh, resumed):
        d.mkdir(parents=True)
        (d / "retrain-state.npz").write_bytes(b"x")
    for f in (old, old / "retrain-state.npz", resumed):
        os.utime(f, (day_ago, day_ago))
    assert ui.clean_stale_checkpoints() == 1  # 'resumed' wrote an epoch just now: kept
    assert sorted(p.name for p in root.iterdir()) == ["fresh", "resumed"]
    assert ui.clean_stale_checkpoints() == 0

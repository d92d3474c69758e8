"""Coming back to Retrain while this session's server-owned run trains finds that run, even
when the page's settings were lost on the way (issue 17's trap: the page came back with its
defaults, computed another run id and said "press Start" while the run went on unseen)."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
from app_helpers import new_app, ok, upload

RUNNING = "keeps going if you leave this page"


def test_lost_settings_come_back_from_the_running_run(demo, tiny_keras, tiny_data, monkeypatch):
    import pruning.runs
    from pruning.ui import background

    release = threading.Event()

    def blocked_run(req, model, data, store=None, progress=None, checkpoint_dir=None):
        while not release.wait(0.05):  # trains until released; Cancel raises in progress()
            progress(0, 1, {"phase": "train", "epoch": 1, "batch": 0, "loss": 1.0})
        raise RuntimeError("released")

    monkeypatch.setattr(pruning.runs, "run", blocked_run)
    buf = io.BytesIO()
    np.savez(buf, x_train=tiny_data.train.x, y_train=tiny_data.train.y, x_val=tiny_data.val.x,
             y_val=tiny_data.val.y)
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), [("tiny-train.npz", buf.getvalue())])
    ok(at)
    at.switch_page("pages/retrain.py").run()
    at.selectbox(key="rt_method").set_value("gradual")
    at.slider(key="rt_sparsity").set_value(62.5)
    at.number_input(key="rt_epochs").set_value(7)
    at.number_input(key="rt_train").set_value(300).run()
    at.button(key="rt_run").click().run()
    ok(at)
    try:
        assert any(RUNNING in i.value for i in at.info)
        # the same session after a page switch that dropped the page's widget values (AppTest
        # cannot drop them): a new session holding only what the first one remembered
        mine = {k: at.session_state[k] for k in ("_rt_my_run",)}
        at = new_app().run()
        upload(at, ("tiny.keras", tiny_keras), [("tiny-train.npz", buf.getvalue())])
        for k, v in mine.items():
            at.session_state[k] = v
        at.switch_page("pages/retrain.py").run()
        ok(at)
        assert any(RUNNING in i.value for i in at.info), [i.value for i in at.info]
        assert (at.selectbox(key="rt_method").value, at.slider(key="rt_sparsity").value,
                at.number_input(key="rt_epochs").value, at.number_input(key="rt_train").value) == \
            ("gradual", 62.5, 7, 300)
        assert any("put back" in c.value for c in at.caption)

        at.number_input(key="rt_epochs").set_value(3).run()  # a setting the user changes stays
        assert at.number_input(key="rt_epochs").value == 3
        assert not any(RUNNING in i.value for i in at.info)  # another run's settings
    finally:
        release.set()
        deadline = time.time() + 30
        while any(r.running for r in list(background._RUNS.values())) and time.time() < deadline:
            time.sleep(0.05)

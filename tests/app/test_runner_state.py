"""Script runs keep Keras' state: Streamlit's post-run ``keras.backend.clear_session()``
(a process-wide reset and a full garbage collection after every rerun) is switched off."""

from __future__ import annotations


def test_a_script_run_leaves_keras_state_alone(monkeypatch, tmp_path):
    from app_helpers import new_app
    from keras.src.backend.common import global_state

    import pruning.models

    monkeypatch.setattr(pruning.models, "WEIGHTS_DIR", tmp_path)  # no demo: a quick first run
    global_state.set_global_attribute("pruning_test_marker", "kept")
    at = new_app().run()
    assert not at.exception, [e.message for e in at.exception]
    # clear_session would have replaced the global state object, marker and all
    assert global_state.get_global_attribute("pruning_test_marker") == "kept"


def test_live_redraws_are_throttled(monkeypatch):
    """At most one redraw per second, and no more than a quarter of the time spent drawing."""
    from pruning.ui import jobs

    clock = [0.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    drawn: list[float] = []

    def levels(redraw, n: int, gap: float, cost: float) -> None:
        def draw():
            drawn.append(clock[0])
            clock[0] += cost
        for _ in range(n):
            redraw(draw)
            clock[0] += gap

    levels(jobs.Throttle(seconds=1.0, share=0.25), 16, 0.25, 0.25)  # cheap redraws: once a second
    assert drawn == [0.0, 1.25, 2.5, 3.75]
    drawn.clear()
    clock[0] = 0.0
    levels(jobs.Throttle(seconds=1.0, share=0.25), 16, 0.5, 1.0)  # 1 s redraws: 4 s apart
    assert drawn == [0.0, 5.0]

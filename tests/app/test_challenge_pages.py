"""AppTest of the challenge pages: teacher creates, student joins and submits, leaderboard ranks.

The tiny model (.keras) and tiny data (.npz) are uploaded through the teacher page as a
teacher would; every number shown is checked against the backend's stored rows and those
against plain NumPy (in tests/test_challenge.py).
"""

from __future__ import annotations

import pytest

from app_helpers import chart_specs, new_app, ok
from challenge_fixtures import npz_bytes, pruned_bytes, tiny_model

MIME = "application/octet-stream"


@pytest.fixture()
def files(tiny_weights_path, tiny_data, tiny_keras):
    m = tiny_model(tiny_weights_path)
    return {"keras": tiny_keras, "npz": npz_bytes(tiny_data), 0.5: pruned_bytes(m, 0.5),
            0.9: pruned_bytes(m, 0.9)}


def open_page(page: str, code: str | None = None):
    """A fresh session opened straight on ``page`` (``?code=`` in the URL when given)."""
    at = new_app()
    if code is not None:
        at.query_params["code"] = code
    return at.switch_page(f"pages/{page}.py").run()


def create(files, **settings):
    at = open_page("challenge_teacher")
    ok(at)
    at.radio(key="cht_model").set_value("Upload")
    at.radio(key="cht_data").set_value("Upload .npz").run()  # shows the two uploaders
    at.file_uploader(key="cht_model_file").set_value(("tiny.keras", files["keras"], MIME))
    at.file_uploader(key="cht_data_file").set_value(("tiny.npz", files["npz"], MIME))
    at.number_input(key="cht_wait").set_value(0)
    for key, value in settings.items():
        at.number_input(key=key).set_value(value)
    at.button(key="cht_create").click().run()
    ok(at)
    code, key = at.session_state["ch_created"]
    assert key and [c.value for c in at.code] == [key]  # the key is shown once, on this page
    return at, code, key


def student(code: str, name: str):
    at = open_page("challenge_student", code)
    ok(at)
    at.text_input(key="chs_name").set_value(name).run()
    at.button(key="chs_join").click().run()
    ok(at)
    return at


def submit(at, data: bytes, name: str):
    at.file_uploader(key="chs_file").set_value((name, data, MIME)).run()
    at.button(key="chs_submit").click().run()
    return at


def test_teacher_creates_student_submits_leaderboard_ranks(files):
    from pruning.ui.challenge import hub

    teacher, code, key = create(files)
    assert hub().is_teacher(code, key)
    ada, bob = student(code, "Ada"), student(code, "Bob")
    ok(submit(ada, files[0.5], "ada.h5"))
    ok(submit(bob, files[0.9], "bob.h5"))
    rows = hub().submissions(code).set_index("name")
    shown = {m.label: m.value for m in ada.metric}
    assert shown["Sparsity"] == f"{100 * rows.loc['Ada', 'sparsity']:.2f} %"
    assert shown["Hidden-split accuracy"] == f"{100 * rows.loc['Ada', 'accuracy']:.2f} %"
    history = ada.dataframe[0].value
    assert list(history["File"]) == ["ada.h5"]  # a student sees only their own files

    board = open_page("leaderboard", code)
    ok(board)
    table = board.table[0].value
    expected = hub().leaderboard(code)
    assert list(table["Student"]) == list(expected["name"]) and list(table["Rank"]) == ["1", "2"]
    assert list(table["Score"]) == [f"{s:.4f}" for s in expected["score"]]
    assert list(table["Sparsity"]) == [f"{100 * s:.2f} %" for s in expected["sparsity"]]
    names = [t["name"] for t in chart_specs(board)[0]["data"]]
    assert names == ["All submissions", "Best per student", "Class frontier"]

    teacher.run()  # the teacher's manage tab: every submission, close, CSV
    ok(teacher)
    assert any(len(d.value) == 2 and "File" in d.value for d in teacher.dataframe)
    teacher.button(key="cht_toggle").click().run()
    assert hub().get(code).closed
    submit(ada, files[0.9], "ada2.h5")
    assert any("closed" in e.value for e in ada.error) and not ada.exception
    assert len(hub().submissions(code)) == 2


def test_teacher_view_needs_the_key(files):
    from pruning.ui.challenge import hub

    _, code, key = create(files)
    at = open_page("challenge_teacher", code)
    ok(at)
    assert not at.dataframe and not any(b.key == "cht_toggle" for b in at.button)
    at.text_input(key="cht_key").set_value("not-the-key").run()
    assert any("Wrong teacher key" in e.value for e in at.error)
    assert not at.dataframe and not hub().get(code).closed
    at.text_input(key="cht_key").set_value(key).run()
    ok(at)
    assert any(b.key == "cht_toggle" for b in at.button)


def test_hostile_upload_is_refused_and_costs_nothing(files):
    from pruning.ui.challenge import hub

    _, code, _ = create(files, cht_max=1)
    eve = student(code, "Eve")
    submit(eve, b"\x89HDF\r\n\x1a\n not really" * 20, "evil.h5")
    assert any("Refused, not counted" in e.value and "damaged or unreadable" in e.value for e in eve.error)
    assert not eve.exception and hub().submissions(code).empty
    ok(submit(eve, files[0.5], "good.h5"))  # the one allowed submission was not used up
    assert len(hub().submissions(code)) == 1


def test_student_name_taken_and_unknown_code(files):
    _, code, _ = create(files)
    student(code, "Ada")
    other = open_page("challenge_student", code)
    other.text_input(key="chs_name").set_value("ada").run()
    other.button(key="chs_join").click().run()
    assert any("taken" in e.value for e in other.error)
    other.text_input(key="chs_code").set_value("QQQQQQ").run()
    assert any("no challenge with code" in e.value for e in other.error)
    assert not other.exception

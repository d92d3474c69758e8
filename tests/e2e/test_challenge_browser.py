"""Challenge mode in a real browser: teacher creates, three students submit at once, the
leaderboard ranks them, the teacher view needs the key, a hostile upload is refused, and a
restarted server still has everything.

`streamlit run` on a free port and Debian's Chromium through Playwright (as test_browser.py);
the challenge model is the tiny test CNN uploaded as .keras with tiny .npz data, so scoring
takes milliseconds. Screenshots go to test-artifacts/screenshots/challenge-*.png.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import e2e_server
import pytest
from challenge_fixtures import keras_bytes, npz_bytes, pruned_bytes, tiny_model
from e2e_server import stop
from test_browser import ARTIFACTS, wait_idle

LEVELS = {"Ann": 0.5, "Ben": 0.9, "Cy": 0.7}


def start(store: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """A class server of its own (its own store; no teacher key from the environment)."""
    return e2e_server.start({"PRUNING_STORE_DIR": str(store), "PRUNING_TEACHER_KEY": None}, log_path)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"challenge-{name}.png"), full_page=True)


def uploader(page, label: str):
    return page.locator('[data-testid="stFileUploader"]').filter(has_text=label).locator('input[type="file"]')


def radio(page, group: str, option: str) -> None:
    page.locator('[data-testid="stRadio"]').filter(has_text=group).get_by_text(option, exact=True).click()
    wait_idle(page)


def attach(page, path: Path) -> None:
    """Put a file in the student's uploader and wait until it is listed (no wait_idle: the live
    leaderboard fragment on the page reruns every few seconds)."""
    uploader(page, "Your pruned model").set_input_files(str(path))
    page.locator('[data-testid="stFileChipName"]', has_text=path.name).wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stFileChipIconSpinner\"]')",
                           timeout=60_000)


def board_rows(page) -> list[list[str]]:
    table = page.locator('[data-testid="stTable"] table').first
    table.wait_for(timeout=60_000)
    return [[c.strip() for c in r.locator("td").all_inner_texts()]
            for r in table.locator("tbody tr").all()]


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_weights_path, tiny_data):
    d = tmp_path_factory.mktemp("challenge-files")
    model = tiny_model(tiny_weights_path)
    (d / "tiny.keras").write_bytes(keras_bytes(model))
    (d / "tiny.npz").write_bytes(npz_bytes(tiny_data))
    for name, level in LEVELS.items():
        (d / f"{name}.h5").write_bytes(pruned_bytes(model, level))
    (d / "evil.h5").write_bytes(b"\x89HDF\r\n\x1a\n but not HDF5 at all" * 30)
    return d


def test_class_challenge_end_to_end(context, files, tmp_path):
    store, log = tmp_path / "store", tmp_path / "streamlit.log"
    t0 = time.time()

    def stage(what: str) -> None:
        print(f"[{time.time() - t0:6.1f} s] {what}", flush=True)
    proc, url = start(store, log)
    stage("server up")
    try:
        teacher = context.new_page()
        teacher.goto(f"{url}/challenge_teacher", timeout=120_000)
        teacher.get_by_role("button", name="Create challenge").wait_for(timeout=120_000)
        radio(teacher, "Model", "Upload")
        uploader(teacher, "Model students start from").set_input_files(str(files / "tiny.keras"))
        wait_idle(teacher)
        radio(teacher, "Data", "Upload .npz")
        uploader(teacher, "Data (.npz").set_input_files(str(files / "tiny.npz"))
        wait_idle(teacher)
        wait = teacher.get_by_label("Seconds between submissions")
        wait.fill("0")
        wait.press("Enter")
        wait_idle(teacher)
        teacher.get_by_role("button", name="Create challenge").click()
        teacher.get_by_text("Challenge created.").wait_for(timeout=300_000)  # first run imports TF
        code = re.search(r"Join code: (\w{6})", teacher.get_by_text("Challenge created.").inner_text())[1]
        key = teacher.locator('[data-testid="stCode"]').first.inner_text().strip()
        assert len(key) >= 20
        shot(teacher, "teacher-created")
        stage("created")

        # three students, each in their own tab (session), submit at once
        students = {}
        for name in LEVELS:
            page = context.new_page()
            page.goto(f"{url}/challenge_student?code={code}", timeout=120_000)
            page.get_by_label("Your display name").fill(name)
            page.get_by_role("button", name="Join").click()
            page.get_by_text(f"Signed in as {name}").wait_for(timeout=60_000)
            attach(page, files / f"{name}.h5")
            students[name] = page
        for page in students.values():  # no waiting in between: the server scores them concurrently
            page.get_by_role("button", name="Submit").click()
        for name, page in students.items():
            page.get_by_text("Your submissions (1)").wait_for(timeout=60_000)
        shot(students["Ann"], "student-submitted")
        stage("three submitted")

        from pruning.challenge import Challenges

        hub = Challenges(store)  # the server's rows, read by a second process-like reader
        expected = hub.leaderboard(code)
        assert sorted(expected["name"]) == sorted(LEVELS) and list(expected["rank"]) == [1, 2, 3]
        subs = hub.submissions(code).set_index("name")
        for name, page in students.items():  # each sees their own numbers
            shown = page.locator('[data-testid="stMetric"]').filter(has_text="Sparsity") \
                .locator('[data-testid="stMetricValue"]').first.inner_text()
            assert shown == f"{100 * subs.loc[name, 'sparsity']:.2f} %"

        board = context.new_page()
        board.goto(f"{url}/leaderboard?code={code}", timeout=120_000)
        rows = board_rows(board)
        assert [r[1] for r in rows] == list(expected["name"]) and [r[0] for r in rows] == ["1", "2", "3"]
        assert [r[4] for r in rows] == [f"{s:.4f}" for s in expected["score"]]
        board.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
        board.wait_for_timeout(1500)  # the chart fades in
        shot(board, "leaderboard")
        stage("leaderboard")

        # a student cannot open the teacher view without the key
        ann = students["Ann"]
        ann.goto(f"{url}/challenge_teacher?code={code}", timeout=120_000)
        ann.get_by_role("tab", name="Manage").click()
        ann.get_by_text("Enter the teacher key").wait_for(timeout=60_000)
        ann.get_by_label("Teacher key").fill("guessing-the-key")
        ann.get_by_label("Teacher key").press("Enter")
        ann.get_by_text("Wrong teacher key").wait_for(timeout=60_000)
        assert ann.get_by_role("button", name="Close submissions").count() == 0
        assert ann.get_by_text(re.compile(r"^Every submission \(")).count() == 0
        shot(ann, "teacher-view-refused")
        stage("teacher view refused")

        # a hostile upload is refused, costs nothing, and the page keeps working
        cy = students["Cy"]
        attach(cy, files / "evil.h5")
        cy.get_by_role("button", name="Submit").click()
        cy.get_by_text("Refused, not counted").wait_for(timeout=60_000)
        assert "damaged or unreadable" in cy.locator('[data-testid="stAlert"]').filter(
            has_text="Refused").first.inner_text()
        assert cy.locator('[data-testid="stException"]').count() == 0
        shot(cy, "student-refused")
        stage("hostile refused")
        attach(cy, files / "Ben.h5")
        cy.get_by_role("button", name="Submit").click()
        try:
            cy.get_by_text("Your submissions (2)").wait_for(timeout=60_000)
        finally:
            shot(cy, "student-second")
        def cy_row() -> list[str]:
            return next(r for r in board_rows(board) if r[1] == "Cy")
        deadline = time.time() + 30  # the live board picks Cy's second file up without a reload
        while cy_row()[5] != "2" and time.time() < deadline:
            board.wait_for_timeout(1000)
        rows = board_rows(board)
        # Cy's second file is Ben's: the same score, so they share rank 1 and Ben (earlier) stays first
        assert [r[1] for r in rows] == ["Ben", "Cy", "Ann"] and [r[0] for r in rows] == ["1", "1", "3"]
        assert rows[0][4] == rows[1][4] and cy_row()[5] == "2"

        # the teacher sees every submission
        teacher.get_by_role("tab", name="Manage").click()
        teacher.get_by_role("button", name="Refresh").click()
        teacher.get_by_text("Every submission (4)").wait_for(timeout=60_000)
        shot(teacher, "teacher-manage")
        stage("teacher manage")
        before = hub.leaderboard(code)
        hub.close()
    except BaseException:
        for i, p in enumerate(context.pages):  # what each page showed when it failed
            shot(p, f"failure-{i}")
        raise
    finally:
        for p in context.pages:  # none left reconnecting to the stopped server
            p.close()
        stop(proc)

    proc, url = start(store, log)  # restart: the challenge and its submissions are still there
    try:
        page = context.new_page()
        page.goto(f"{url}/leaderboard?code={code}", timeout=120_000)
        rows = board_rows(page)
        assert [r[1] for r in rows] == list(before["name"])
        assert [r[4] for r in rows] == [f"{s:.4f}" for s in before["score"]]
        page.goto(f"{url}/challenge_teacher?code={code}", timeout=120_000)
        page.get_by_role("tab", name="Manage").click()
        page.get_by_label("Teacher key").fill(key)
        page.get_by_label("Teacher key").press("Enter")
        page.get_by_text("Every submission (4)").wait_for(timeout=60_000)
        shot(page, "after-restart")
        stage("after restart")
    finally:
        for p in context.pages:
            p.close()
        stop(proc)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]

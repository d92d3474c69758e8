"""The browser tests' server and Chromium.

The server is started once for all e2e files (they run on one test worker, see
``SAME_WORKER`` in tests/conftest.py). Chromium and its context are per file: Playwright's
sync API keeps an asyncio loop running in this thread while it is open, and a later test in
the same worker that calls ``asyncio.run`` (the load benchmark) would fail beside it.

Every test of a file opens its pages in one browser context: each page (tab) is its own
Streamlit session (the app keeps no cookies), and a fresh context would cost each page about
5 s of Chromium CPU to start its renderer and compile the app's scripts again (2 s in a
shared one, with one renderer process per site). Tests close the pages they open."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_server import CHROMIUM, TEST_LIMIT, VAL_LIMIT, start, stop


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The demo app on the bundled data; fails its last user if the server logged a traceback."""
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    proc, url = start({"PRUNING_VAL_LIMIT": str(VAL_LIMIT), "PRUNING_TEST_LIMIT": str(TEST_LIMIT),
                       "PRUNING_STORE_DIR": str(tmp_path_factory.mktemp("store")),
                       "TMPDIR": str(tmp_path_factory.mktemp("tmp"))},  # retraining checkpoints: its own
                      log)
    yield url
    stop(proc)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/install-browser"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
            "--process-per-site"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def context(browser):
    """The shared context: a 1400x1000 viewport that accepts downloads, and asks pages for
    reduced motion (fewer animation frames to draw while the app reruns)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                              reduced_motion="reduce")
    yield ctx
    ctx.close()

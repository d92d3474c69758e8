"""Real browser end to end: `streamlit run` on a free port, Debian's Chromium driven by Playwright.

Moves the sparsity slider and checks the accuracy text changes, downloads the .h5 and reloads
it (sparsity and accuracy as shown), runs two tabs (two sessions) at different sparsities that
each see their own numbers, and saves a screenshot of every page under test-artifacts/.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from e2e_server import VAL_LIMIT

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
PAGES = ["explore", "teach", "frontier", "shrink", "sensitivity", "retrain", "bring_your_own"]


def metric(page, label: str) -> str:
    """The value text of the st.metric whose label is ``label``."""
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$")))
    return box.locator('[data-testid="stMetricValue"]').first.inner_text().strip()


def wait_idle(page, timeout: float = 120) -> None:
    """Wait until the app has finished its rerun (no 'Running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout * 1000)


def percent(text: str) -> float:
    return float(text.replace("%", "").replace(",", "").strip()) / 100


def open_explore(context, url):
    page = context.new_page()
    page.goto(url + "/", timeout=120_000)
    page.get_by_text("Val accuracy", exact=True).first.wait_for(timeout=180_000)
    wait_idle(page)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
        ".some(e => e.innerText.includes('…'))", timeout=180_000)
    return page


METRIC_JS = """(args) => {
  const [label, old] = args;
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const l = m.querySelector('[data-testid="stMetricLabel"]');
    const v = m.querySelector('[data-testid="stMetricValue"]');
    if (l && v && l.innerText.trim() === label) return v.innerText.trim() !== old;
  }
  return false;
}"""


def set_slider(page, key: str) -> None:
    """Press ``key`` (End / Home / ArrowLeft …) on the sparsity slider; wait for the new numbers."""
    thumb = page.get_by_role("slider").first
    before = metric(page, "Sparsity")
    thumb.focus()
    thumb.press(key)
    # the app has rerun with the new value once the achieved sparsity it shows has changed
    page.wait_for_function(METRIC_JS, arg=["Sparsity", before], timeout=180_000)
    wait_idle(page)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
        ".some(e => e.innerText.includes('…'))", timeout=180_000)


def test_slider_download_and_two_sessions(server, context, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    a = open_explore(context, server)
    start_acc = metric(a, "Val accuracy")
    assert metric(a, "Sparsity").startswith("5")  # default 50 %
    a.screenshot(path=str(ARTIFACTS / "explore.png"), full_page=True)

    set_slider(a, "End")  # 99.9 %: the model collapses
    high_acc = metric(a, "Val accuracy")
    assert high_acc != start_acc and percent(high_acc) < percent(start_acc)
    assert percent(metric(a, "Sparsity")) > 0.99
    a.screenshot(path=str(ARTIFACTS / "explore-99.png"), full_page=True)

    # A second browser session, moved the other way, sees its own numbers.
    b = open_explore(context, server)
    set_slider(b, "Home")
    assert percent(metric(b, "Sparsity")) < 0.01
    assert percent(metric(b, "Val accuracy")) > 0.85
    assert metric(a, "Val accuracy") == high_acc  # b's session did not touch a's page
    set_slider(a, "ArrowLeft")  # a reruns with its own state: 99.8 %, not b's 0 %
    assert 0.99 < percent(metric(a, "Sparsity")) < 0.999
    assert percent(metric(a, "Val accuracy")) < 0.5

    # Download the legacy .h5 and reload it: same sparsity and accuracy as shown.
    shown_sparsity, shown_acc = percent(metric(b, "Sparsity")), percent(metric(b, "Val accuracy"))
    set_slider(b, "PageUp")
    shown_sparsity, shown_acc = percent(metric(b, "Sparsity")), percent(metric(b, "Val accuracy"))
    with b.expect_download(timeout=120_000) as dl:
        b.get_by_role("button", name=re.compile(r"^Download \.h5")).click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    assert path.name.endswith(".h5") and "global" in path.name

    from references import demo_pixels

    from pruning import load_fashion_mnist, load_model, total_sparsity
    from pruning.oneshot import Baseline

    model = load_model(path)
    base = Baseline.from_model(model)
    assert total_sparsity(base.arrays, base.kinds, "all") == pytest.approx(shown_sparsity, abs=5e-5)
    val = demo_pixels(load_fashion_mnist().val.x[:VAL_LIMIT])  # uint8 pixels / 255, as 'auto' feeds them
    acc = float(np.mean(model.predict(val, verbose=0).argmax(1) == load_fashion_mnist().val.y[:VAL_LIMIT]))
    assert acc == pytest.approx(shown_acc, abs=5e-5)
    a.close()
    b.close()


RUN_BUTTONS = {"frontier": r"^Run \d+ sweeps?$", "sensitivity": r"^Run sensitivity$",
               "shrink": r"^Shrink the model$"}


def test_every_page_renders_without_exception(server, context):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    for name in PAGES:
        page.goto(f"{server}/{name}", timeout=120_000)
        page.locator("h1").first.wait_for(timeout=180_000)
        wait_idle(page, 300)
        if name in RUN_BUTTONS:  # run the page's job so the screenshot shows its chart
            page.get_by_role("button", name=re.compile(RUN_BUTTONS[name])).click()
            page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=300_000)
            wait_idle(page, 300)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.get_by_text("Page not found").count() == 0, name  # each URL is a real page
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()

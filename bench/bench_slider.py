"""(4) Live slider: cached value, uncached exact value and subset estimate vs one forward pass."""

from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

from pruning.estimate import estimate_accuracy, subset_evaluator

from .common import Config, Result, bare_pass, clock, fmt_s, median_time, workbench

NAME = "slider"
TITLE = "4. Live slider: cached, exact and estimated values"
LEVELS = [0.5, 0.8, 0.9, 0.95, 0.97]


def page_runs(cfg: Config) -> dict:
    """Explore page in AppTest (bundled demo): a run after the slider moves to a new level, and
    the rerun after it moves back to a level evaluated before (median seconds)."""
    from streamlit.testing.v1 import AppTest

    store = tempfile.TemporaryDirectory(prefix="bench-store-")  # not the user's result store
    env = {"PRUNING_STORE_DIR": store.name}
    if cfg.val_limit is not None:
        env |= {"PRUNING_VAL_LIMIT": str(cfg.val_limit), "PRUNING_TEST_LIMIT": str(cfg.val_limit)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=900)
        at.run()
        at.switch_page("pages/explore.py").run()
        at.selectbox(key="method").set_value("global").run()

        def move(v: float) -> float:
            return clock(lambda: at.slider(key="sparsity").set_value(v).run())[0]

        levels = (50.0, 80.0, 90.0)
        new = [move(v) for v in levels]
        cached = [move(levels[i % len(levels)]) for i in range(max(3, 3 * cfg.repeats))]
        if at.exception or at.error:
            raise RuntimeError(f"the Explore page failed: {[e.message for e in at.exception]}"
                               f"{[e.value for e in at.error]}")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        store.cleanup()
    return {"new_level_s": statistics.median(new), "cached_rerun_s": statistics.median(cached)}


def run(cfg: Config) -> Result:
    wb = workbench(cfg)
    n_sub = 60 if cfg.quick else 500
    bare_pass(wb.val), wb.point("global", 0.5, with_test=False)
    subset_evaluator(wb, n_sub).evaluate(wb.baseline.arrays)  # warm-up (traces the subset fn)
    t_pass = median_time(lambda: bare_pass(wb.val), cfg.repeats)
    cache: dict = {}
    rows, covered, t_exact, t_est = [], 0, [], []
    for method in ("global", "layerwise"):
        for s in LEVELS:
            dt, point = clock(lambda: wb.point(method, s, with_test=False))
            t_exact.append(dt)
            cache[(method, "all", s)] = point
            dt, est = clock(lambda: estimate_accuracy(wb, method, s, n=n_sub))
            t_est.append(dt)
            exact = point.val.accuracy
            covered += exact in est
            rows.append((method, s, exact, est))
    t_cached = median_time(lambda: cache[("global", "all", 0.9)].val.accuracy, 1000)
    page = page_runs(cfg)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    figures = {"val_images": len(wb.val.split), "subset": n_sub, "pass_s": t_pass,
               "cached_s": t_cached, "exact_s": med(t_exact), "estimate_s": med(t_est),
               "exact_over_pass": med(t_exact) / t_pass, "estimate_over_pass": med(t_est) / t_pass,
               "coverage": f"{covered}/{len(rows)}", "page": page,
               "levels": [{"method": m, "target": s, "exact": e, "estimate": est.accuracy,
                           "low": est.low, "high": est.high} for m, s, e, est in rows]}
    lines = [f"One bare forward pass over {len(wb.val.split)} val images: {fmt_s(t_pass)} "
             "(median).", "",
             "| what the slider shows | median time | vs one forward pass |", "|---|---|---|",
             f"| cached value (dict lookup of an evaluated level) | {1e6 * t_cached:.2f} us | "
             f"{t_cached / t_pass:.1e}x |",
             f"| exact value, uncached (`Workbench.point`: prune + assign + pass + score) | "
             f"{fmt_s(med(t_exact))} | {med(t_exact) / t_pass:.3f}x |",
             f"| estimate on a stratified {n_sub}-image subset, 95 % Wilson interval | "
             f"{fmt_s(med(t_est))} | {med(t_est) / t_pass:.3f}x |",
             f"| Explore page rerun (AppTest), slider back on an evaluated level | "
             f"{fmt_s(page['cached_rerun_s'])} | {page['cached_rerun_s'] / t_pass:.3f}x |",
             f"| Explore page run (AppTest), slider on a new level: val + test accuracy, sizes, "
             f"verified .h5 | {fmt_s(page['new_level_s'])} | {page['new_level_s'] / t_pass:.3f}x |", "",
             "The page rows are whole Streamlit script runs of the Explore page in `AppTest` "
             f"(bundled demo model, {'the first %d val and test images' % cfg.val_limit if cfg.val_limit else 'full val and test splits'}), "
             "medians over the levels 50, 80 and 90 %.", "",
             f"The interval held the exact value at {covered} of {len(rows)} levels:", "",
             "| method | target | exact | estimate [95 % interval] |", "|---|---|---|---|"]
    lines += [f"| {m} | {100 * s:.0f} % | {100 * e:.2f} | {100 * est.accuracy:.2f} "
              f"[{100 * est.low:.2f}, {100 * est.high:.2f}] |" for m, s, e, est in rows]
    return Result(NAME, TITLE, figures, lines, True)

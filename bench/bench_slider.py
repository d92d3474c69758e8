"""(4) Live slider: cached value, uncached exact value and subset estimate vs one forward pass."""

from __future__ import annotations

from pruning.estimate import estimate_accuracy, subset_evaluator

from .common import Config, Result, bare_pass, clock, fmt_s, median_time, workbench

NAME = "slider"
TITLE = "4. Live slider: cached, exact and estimated values"
LEVELS = [0.5, 0.8, 0.9, 0.95, 0.97]


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
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    figures = {"val_images": len(wb.val.split), "subset": n_sub, "pass_s": t_pass,
               "cached_s": t_cached, "exact_s": med(t_exact), "estimate_s": med(t_est),
               "exact_over_pass": med(t_exact) / t_pass, "estimate_over_pass": med(t_est) / t_pass,
               "coverage": f"{covered}/{len(rows)}",
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
             f"{fmt_s(med(t_est))} | {med(t_est) / t_pass:.3f}x |", "",
             f"The interval held the exact value at {covered} of {len(rows)} levels:", "",
             "| method | target | exact | estimate [95 % interval] |", "|---|---|---|---|"]
    lines += [f"| {m} | {100 * s:.0f} % | {100 * e:.2f} | {100 * est.accuracy:.2f} "
              f"[{100 * est.low:.2f}, {100 * est.high:.2f}] |" for m, s, e, est in rows]
    return Result(NAME, TITLE, figures, lines, True)

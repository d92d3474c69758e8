"""(2) Time to frontier: adaptive sweep vs the seed's loop over the full 1 % grid (0..99 %).

Error = max over every integer sparsity of |interpolated adaptive accuracy - seed accuracy|,
in accuracy points. The seed loop's accuracies equal a 1 %-grid ``sweep`` (checked in 1).
"""

from __future__ import annotations

import numpy as np

from pruning.adaptive import adaptive_sweep, interpolate_curve

from .common import Config, Result, SeedLoop, clock, fmt_s, workbench

NAME = "frontier"
TITLE = "2. Time to frontier: adaptive sweep vs the seed's 1 %-grid loop"
RULES = ("difference", "curvature", "strict")


def run(cfg: Config) -> Result:
    wb = workbench(cfg)
    grid = [p / 100 for p in range(100)]
    seed = SeedLoop(wb)
    seed.level("global", 0.5), wb.val.evaluate(wb.baseline.arrays)  # warm-up
    figures: dict = {"val_images": len(wb.val.split), "methods": {}}
    lines = ["Seed loop: 100 levels (0..99 %), fresh `np.percentile` + `set_weights` + "
             "`model.evaluate` each. Adaptive: coarse 10 % grid + 99 %, bisection where "
             "neighbours differ by more than the tolerance (1 point).", "",
             "| method | rule | seed loop | adaptive | adaptive / seed | evaluations | "
             "max error (points) |", "|---|---|---|---|---|---|---|"]
    ok = True
    for method in ("global", "layerwise"):
        if cfg.seed_levels is None:
            t_seed, accs = clock(lambda: seed.run(method, grid))
        else:  # quick: time a few seed levels and scale up; the curve from our identical sweep
            t_few, _ = clock(lambda: seed.run(method, grid[::len(grid) // cfg.seed_levels]))
            t_seed = t_few * len(grid) / len(grid[::len(grid) // cfg.seed_levels])
            accs = wb.sweep(method, grid)["accuracy"].tolist()
        truth = np.array(accs)
        per: dict = {"seed_s": t_seed, "seed_extrapolated": cfg.seed_levels is not None}
        for rule in RULES:
            t_ad, df = clock(lambda: adaptive_sweep(wb, method, rule=rule))
            err = float(np.max(np.abs(interpolate_curve(df, grid) - truth)) * 100)
            per[rule] = {"adaptive_s": t_ad, "ratio": t_ad / t_seed, "evaluations": len(df),
                         "max_error_points": err}
            lines.append(f"| {method} | {rule} | {fmt_s(t_seed)} | {fmt_s(t_ad)} | "
                         f"{100 * t_ad / t_seed:.1f} % | {len(df)} | {err:.2f} |")
            ok &= err <= 1.0 + 1e-9 or cfg.quick  # quick: random weights, the target is not the point
        figures["methods"][method] = per
    lines += ["", "Target: within 1.0 point at every integer sparsity in <= 30 % of the seed "
              "loop's wall time. Evaluations = full-val forward passes (the seed loop does 100)."]
    return Result(NAME, TITLE, figures, lines, ok)

"""(2) Time to frontier: adaptive sweep vs the seed's loop over the full 1 % grid (0..99 %).

Error = max over every integer sparsity of |interpolated adaptive accuracy - seed accuracy|,
in accuracy points. The seed loop's accuracies equal a 1 %-grid ``sweep`` (checked in 1).
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np

from pruning.adaptive import adaptive_sweep, interpolate_curve
from pruning.evaluate import Score

from .common import Config, Result, SeedLoop, clock, fmt_s, native_bfloat16, workbench

NAME = "frontier"
TITLE = "2. Time to frontier: adaptive sweep vs the seed's 1 %-grid loop"
RULES = ("difference", "curvature", "strict")


class Replay:
    """A stand-in workbench answering from a measured curve (counts evaluations, no Keras)."""

    def __init__(self, accs) -> None:
        self.accs = list(accs)
        self.val = self

    def prune(self, method, sparsity, scope="all"):
        return SimpleNamespace(arrays=sparsity, sparsity=sparsity)

    def val_evaluator(self, precision="float32"):
        return self

    def evaluate(self, s):
        return Score(self.accs[int(round(100 * s))], 0.0, 0)


def run(cfg: Config) -> Result:
    wb = workbench(cfg)
    grid = [p / 100 for p in range(100)]
    seed = SeedLoop(wb)
    seed.level("global", 0.5), wb.val.evaluate(wb.baseline.arrays)  # warm-up
    default = inspect.signature(adaptive_sweep).parameters["rule"].default
    figures: dict = {"val_images": len(wb.val.split), "default_rule": default, "methods": {}}
    lines = ["Seed loop: 100 levels (0..99 %), a fresh `np.percentile` + `set_weights` + "
             "`model.evaluate` each. Adaptive (`adaptive_sweep`, tolerance 1 point): the 10 % "
             "grid + 99 %, then bisection (see `pruning/adaptive.py` for the rules). The default "
             f"rule ('{default}') is timed; the other rules are replayed on the seed loop's "
             "measured curve (identical numbers, see 1), so their time is evaluations x the "
             "timed run's mean time per evaluation (marked est.). `fill=True` (timed) returns every "
             "integer level: full passes at the coarse grid and where more than half of the images "
             "are unsettled, and in between only the unsettled images (prediction differs at the "
             "two ends or top-1/top-2 margin < 0.1) are run. `precision='bfloat16'` runs the same "
             "fill with every pass computed in bfloat16 (float32 classifier; twin model built and "
             f"traced inside the timed call; this CPU's native bfloat16: {native_bfloat16()}), so its "
             "errors include the bfloat16 drift.", "",
             "| method | rule | seed loop | adaptive | adaptive / seed | full passes | "
             "max error (points) | target met |", "|---|---|---|---|---|---|---|---|"]
    for method in ("global", "layerwise"):
        if cfg.seed_levels is None:
            t_seed, accs = clock(lambda: seed.run(method, grid))
        else:  # quick: time a few seed levels and scale up; the curve from our identical sweep
            few = grid[::len(grid) // cfg.seed_levels]
            t_seed = clock(lambda: seed.run(method, few))[0] * len(grid) / len(few)
            accs = wb.sweep(method, grid)["accuracy"].tolist()
        truth = np.array(accs)
        per: dict = {"seed_s": t_seed, "seed_extrapolated": cfg.seed_levels is not None,
                     "seed_curve": accs}
        t_ad, df = clock(lambda: adaptive_sweep(wb, method))
        t_fill, filled = clock(lambda: adaptive_sweep(wb, method, fill=True))
        t_bf, bf = clock(lambda: adaptive_sweep(wb, method, fill=True, precision="bfloat16"))
        per_eval = t_ad / len(df)
        variants = [(default, df, t_ad, True), ("fill=True", filled, t_fill, True),
                    ("fill=True, bfloat16", bf, t_bf, True)] + [
            (r, adaptive_sweep(Replay(accs), method, rule=r), None, False) for r in RULES if r != default]
        for rule, run_df, t, timed in variants:
            t = t if timed else per_eval * len(run_df)
            err = float(np.max(np.abs(interpolate_curve(run_df, grid) - truth)) * 100)
            met = err <= 1.0 + 1e-9 and t <= 0.3 * t_seed
            evals = run_df.attrs["evaluations"]
            extra = run_df.attrs.get("fill_passes")
            per[rule] = {"adaptive_s": t, "timed": timed, "ratio": t / t_seed, "evaluations": evals,
                         "fill_passes": extra, "max_error_points": err, "target_met": met,
                         "exact_levels": [int(round(100 * x)) for x, e in zip(
                             run_df["target"], run_df.get("exact", [True] * len(run_df))) if e]}
            work = f"{evals}" + (f" + {extra:.1f} in partial passes" if extra is not None else "")
            lines.append(f"| {method} | {rule} | {fmt_s(t_seed)} | {fmt_s(t)}{'' if timed else ' est.'} | "
                         f"{100 * t / t_seed:.1f} % | {work} | {err:.2f} | {'yes' if met else 'no'} |")
        figures["methods"][method] = per
    lines += ["", "Target: within 1.0 point at every integer sparsity in <= 30 % of the seed "
              "loop's wall time. Evaluations = full-val forward passes (the seed loop does 100)."]
    return Result(NAME, TITLE, figures, lines, True)

"""(1) Same-grid sweep overhead: ours vs bare forward passes vs the seed's loop.

Methods 1 (global) and 2 (layerwise) over 0..95 % step 5. The three are interleaved level
by level (ours, floor, seed), so a busy machine slows all three alike.
"""

from __future__ import annotations

from .common import Config, Result, SeedLoop, bare_pass, clock, fmt_s, same_counts, workbench

NAME = "sweep"
TITLE = "1. Same-grid sweep overhead (methods 1 and 2, 0..95 %)"


def run(cfg: Config) -> Result:
    wb = workbench(cfg)
    n = len(wb.val.split)
    grid = [p / 100 for p in range(0, 96, cfg.sweep_step)]
    seed = SeedLoop(wb)
    bare_pass(wb.val), wb.val.evaluate(wb.baseline.arrays), seed.level("global", 0.5)  # warm-up
    figures: dict = {"val_images": n, "levels": len(grid), "methods": {}}
    lines = [f"Val images: {n}; levels per method: {len(grid)} (0..95 % step {cfg.sweep_step}); "
             f"batch size {wb.val.batch_size} for all three. Times are totals over the grid.", "",
             "| method | ours (`sweep`) | floor (bare passes) | seed loop | ours / floor | "
             "seed / ours | identical accuracies |", "|---|---|---|---|---|---|---|"]
    ok = True
    for method in ("global", "layerwise"):
        t_ours = t_floor = t_seed = 0.0
        ours, seeds = [], []
        for s in grid:
            dt, df = clock(lambda: wb.sweep(method, [s]))
            t_ours += dt
            ours.append(float(df["accuracy"].iloc[0]))
            t_floor += clock(lambda: bare_pass(wb.val))[0]
            dt, acc = clock(lambda: seed.level(method, s))
            t_seed += dt
            seeds.append(acc)
        same = same_counts(ours, seeds, n)
        ok &= same
        figures["methods"][method] = {"ours_s": t_ours, "floor_s": t_floor, "seed_s": t_seed,
                                      "ours_over_floor": t_ours / t_floor,
                                      "seed_over_ours": t_seed / t_ours, "identical": same,
                                      "accuracy": ours}
        lines.append(f"| {method} | {fmt_s(t_ours)} | {fmt_s(t_floor)} | {fmt_s(t_seed)} | "
                     f"{t_ours / t_floor:.3f}x | {t_seed / t_ours:.3f}x | "
                     f"{'yes' if same else 'NO'} |")
    lines += ["", "Identical = the same number of correct images at every level (the seed's "
              "`model.evaluate` reports a float32 mean). Ours per level = mask from a sort done "
              "once + assign into the compiled model + one forward pass + NumPy scoring."]
    return Result(NAME, TITLE, figures, lines, ok)

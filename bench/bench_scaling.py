"""(7) Scaling: sweep time per level vs model width and vs validation size.

Random seeded weights (time does not depend on their values); three levels per config,
each config's floor (bare forward passes) measured in the same run beside it.
"""

from __future__ import annotations

from .common import Config, Result, bare_pass, clock, fmt_s, workbench

NAME = "scaling"
TITLE = "7. Scaling with model width and validation size"
GRID = [0.5, 0.8, 0.9]


def _measure(cfg: Config, width: float, val: int) -> dict:
    wb = workbench(cfg, val_limit=val, width=width, random=True)
    bare_pass(wb.val), wb.sweep("global", [0.1])  # warm-up
    t_sweep = t_floor = 0.0
    for s in GRID:  # interleaved, so load from other work hits both alike
        t_sweep += clock(lambda: wb.sweep("global", [s]))[0]
        t_floor += clock(lambda: bare_pass(wb.val))[0]
    return {"width": width, "val": len(wb.val.split), "params": wb.baseline.params,
            "per_level_s": t_sweep / len(GRID), "floor_per_pass_s": t_floor / len(GRID),
            "ratio": t_sweep / t_floor}


def run(cfg: Config) -> Result:
    widths = [0.25, 0.5] if cfg.quick else [0.5, 1.0, 2.0, 4.0]
    vals = [50, 100] if cfg.quick else [625, 1250, 2500, 5000]
    by_width = [_measure(cfg, w, 100 if cfg.quick else 1000) for w in widths]
    by_val = [_measure(cfg, 0.25 if cfg.quick else 1.0, v) for v in vals]
    lines = ["| width | params | val images | sweep per level | bare pass | per level / pass |",
             "|---|---|---|---|---|---|"]
    for r in by_width + by_val:
        lines.append(f"| {r['width']:g} | {r['params']:,} | {r['val']} | {fmt_s(r['per_level_s'])} | "
                     f"{fmt_s(r['floor_per_pass_s'])} | {r['ratio']:.3f}x |")
    ratios = sorted(r["ratio"] for r in by_width + by_val)
    lines += ["", "A sweep level costs what its forward pass costs: time grows about linearly "
              "with the number of val images and with the parameter count; per level / pass "
              f"ranges {ratios[0]:.2f}x to {ratios[-1]:.2f}x (median {ratios[len(ratios) // 2]:.2f}x) "
              "with sweep level and bare pass interleaved."]
    return Result(NAME, TITLE, {"by_width": by_width, "by_val": by_val}, lines, True)

"""(6) Memory: peak RSS of a 100-level vs a 10-level sweep, each in a fresh process.

The child (``python -m bench.bench_memory LEVELS [--quick]``) records its peak RSS after
setup and one warm-up evaluation, then again after the sweep, and the tracemalloc peak of
Python/NumPy allocations during the sweep.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from .common import Config, Result

NAME = "memory"
TITLE = "6. Memory: 100-level vs 10-level sweep"
ROOT = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(levels: list[int], quick: bool) -> list[dict]:
    """Sweeps of each size in turn in this process; peak RSS after each."""
    import tracemalloc

    from .common import workbench

    cfg = Config.make(quick)
    wb = workbench(cfg, val_limit=cfg.memory_val)
    wb.val.evaluate(wb.baseline.arrays)
    out = []
    for k in levels:
        before = _peak_mib()
        grid = [i / k * 0.99 for i in range(k)]
        tracemalloc.start()
        df = wb.sweep("global", grid)
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append({"levels": len(df), "rss_setup_mib": before, "rss_peak_mib": _peak_mib(),
                    "tracemalloc_peak_mib": traced / 2**20, "val_images": len(wb.val.split)})
    return out


def measure(levels: list[int], quick: bool) -> list[dict]:
    cmd = [sys.executable, "-m", "bench.bench_memory", *map(str, levels)] + (["--quick"] if quick else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(cfg: Config) -> Result:
    if cfg.quick:  # smoke test: in this process, the two sweeps in turn (the peak may only rise)
        small, big = child([10, 100], True)
    else:  # a fresh process each
        small, big = measure([10], False)[0], measure([100], False)[0]
    growth = big["rss_peak_mib"] - big["rss_setup_mib"]
    figures = {"10": small, "100": big, "extra_peak_100_vs_10_mib":
               big["rss_peak_mib"] - small["rss_peak_mib"]}
    where = "--quick: in the calling process, 10 then 100 levels" if cfg.quick else "each in a fresh process"
    lines = [f"Global sweeps on {big['val_images']} val images, {where} "
             "(peak RSS from `getrusage`, Python/NumPy peak from `tracemalloc`).", "",
             "| levels | peak RSS after setup | peak RSS after sweep | tracemalloc peak in sweep |",
             "|---|---|---|---|"]
    for r in (small, big):
        lines.append(f"| {r['levels']} | {r['rss_setup_mib']:.0f} MiB | {r['rss_peak_mib']:.0f} MiB | "
                     f"{r['tracemalloc_peak_mib']:.1f} MiB |")
    lines += ["", f"100 levels peak {big['rss_peak_mib'] - small['rss_peak_mib']:+.0f} MiB vs 10 "
              f"levels ({growth:+.0f} MiB over its own setup): each level's pruned arrays are "
              "assigned and dropped, only the result rows accumulate."]
    return Result(NAME, TITLE, figures, lines, True)


if __name__ == "__main__":
    print(json.dumps(child([int(a) for a in sys.argv[1:] if a.isdigit()], "--quick" in sys.argv)))

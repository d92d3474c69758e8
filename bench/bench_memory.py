"""(6) Memory: peak RSS of a 100-level vs a 10-level sweep, and of the app, each in a fresh process.

The sweep child (``python -m bench.bench_memory LEVELS [--quick]``) records its peak RSS after
setup and one warm-up evaluation, then again after the sweep, and the tracemalloc peak of
Python/NumPy allocations during the sweep. The app child (``python -m bench.bench_memory app
SESSIONS [--quick]``) opens app.py's first page (Explore, bundled demo model) in that many
``AppTest`` sessions, kept open like the tabs of a class, and records its resident memory
after the imports and after each session.
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
TITLE = "6. Memory: 100-level vs 10-level sweep, and the app"
APP_SESSIONS = 4  # sessions the app child opens (2 with --quick)
ROOT = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _status_mib(field: str = "VmRSS") -> float:
    """A memory line of /proc/self/status: ``VmRSS`` (resident now) or ``VmHWM`` (its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def app_child(sessions: int, quick: bool) -> dict:
    """Open app.py's first page in ``sessions`` AppTest sessions, all kept; RSS after each."""
    import gc

    if quick:  # a few images: the smoke test only checks that this runs
        os.environ.setdefault("PRUNING_VAL_LIMIT", "100")
        os.environ.setdefault("PRUNING_TEST_LIMIT", "100")
    from streamlit.testing.v1 import AppTest

    from pruning import ui  # TensorFlow, Keras, Streamlit: what every server holds

    imported = _status_mib()
    kept, after = [], []
    for _ in range(sessions):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900).run()
        if at.exception or at.error:
            raise RuntimeError(f"the app failed: {[e.value for e in list(at.exception) + list(at.error)]}")
        kept.append(at)
        gc.collect()
        after.append(_status_mib())
    peak = _status_mib("VmHWM")
    n_val, limit = len(ui.bundled_dataset().val), ui.limits()[0]  # the sessions' cached copy
    return {"imported_mib": imported, "after_session_mib": after, "peak_mib": peak,
            "val_images": n_val if limit is None else min(limit, n_val),
            "page": "Explore (first page), slider at its default"}


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


def measure(args: list[str], quick: bool):
    """The child's JSON answer (``python -m bench.bench_memory ARGS``, a fresh process)."""
    cmd = [sys.executable, "-m", "bench.bench_memory", *args] + (["--quick"] if quick else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env = {k: v for k, v in env.items() if k not in ("PRUNING_VAL_LIMIT", "PRUNING_TEST_LIMIT")}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(cfg: Config) -> Result:
    if cfg.quick:  # smoke test: in this process, the two sweeps in turn (the peak may only rise)
        small, big = child([10, 100], True)
    else:  # a fresh process each
        small, big = measure(["10"], False)[0], measure(["100"], False)[0]
    growth = big["rss_peak_mib"] - big["rss_setup_mib"]
    sessions = 2 if cfg.quick else APP_SESSIONS
    app = measure(["app", str(sessions)], cfg.quick)  # always a fresh process: it is the whole server
    after = app["after_session_mib"]
    per_session = (after[-1] - after[0]) / (len(after) - 1)
    figures = {"10": small, "100": big, "extra_peak_100_vs_10_mib":
               big["rss_peak_mib"] - small["rss_peak_mib"],
               "app": app | {"per_extra_session_mib": per_session}}
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
              "assigned and dropped, only the result rows accumulate.", "",
              f"The app: app.py's first page (Explore, bundled demo model, {app['val_images']:,} val "
              f"images) in {sessions} `AppTest` sessions kept open in one fresh process, as a "
              "Streamlit server holds its browser tabs (resident memory `VmRSS`, peak `VmHWM`).", "",
              "| state | resident memory |", "|---|---|",
              f"| TensorFlow, Keras, Streamlit and `pruning` imported | {app['imported_mib']:.0f} MiB |",
              f"| 1 session: demo model loaded, dense and slider level evaluated, .h5 built | "
              f"{after[0]:.0f} MiB |",
              f"| {sessions} sessions | {after[-1]:.0f} MiB |",
              f"| each further session | {per_session:+.0f} MiB |",
              f"| peak | {app['peak_mib']:.0f} MiB |", "",
              "Sessions share the dataset and the dense weights (`st.cache_resource`); each "
              "has its own Keras model and evaluators, which is what a further session adds."]
    return Result(NAME, TITLE, figures, lines, True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["app"]:
        print(json.dumps(app_child(int(sys.argv[2]), "--quick" in sys.argv)))
    else:
        print(json.dumps(child([int(a) for a in sys.argv[1:] if a.isdigit()], "--quick" in sys.argv)))

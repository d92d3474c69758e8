"""(8) What did not help: forward-pass variants against our default (tf.function, batch 1000).

XLA (``jit_compile=True``), other batch sizes, ``model.predict`` / ``model.evaluate``, and
thread settings / oneDNN off (these need a fresh process each, so they run as children:
``python -m bench.bench_tried child NAME [--quick]``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import numpy as np

from .common import Config, Result, clock, fmt_s, workbench

NAME = "tried"
TITLE = "8. Tried and did not help (forward pass over val)"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILDREN = {  # name -> environment for a fresh process
    "threads intra=1 inter=1": {"BENCH_INTRA": "1", "BENCH_INTER": "1"},
    "threads intra=2 inter=1": {"BENCH_INTRA": "2", "BENCH_INTER": "1"},
    "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}


def _variants(wb) -> dict:
    import tensorflow as tf

    model, split = wb.model, wb.val.split
    y = split.y

    def fn_pass(bs: int, jit: bool = False):
        f = tf.function(lambda x: model(x, training=False), jit_compile=jit, reduce_retracing=True)
        xs = [tf.constant(split.x[i:i + bs]) for i in range(0, len(split), bs)]
        return lambda: np.concatenate([f(x).numpy() for x in xs])

    out = {"tf.function batch 1000 (ours)": fn_pass(1000)}
    for bs in (100, 250, 2500, 5000):
        out[f"tf.function batch {bs}"] = fn_pass(bs)
    out["tf.function batch 1000, XLA jit_compile"] = fn_pass(1000, jit=True)
    out["model.predict batch 1000"] = lambda: model.predict(split.x, batch_size=1000, verbose=0)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out["model.evaluate batch 1000"] = lambda: model.evaluate(split.x, y, batch_size=1000, verbose=0)
    out["model.evaluate batch 32 (Keras default)"] = lambda: model.evaluate(split.x, y, verbose=0)
    return out


def _time_all(cfg: Config, names: list[str] | None = None) -> dict:
    wb = workbench(cfg)
    n = len(wb.val.split)
    variants = _variants(wb)
    ref = variants["tf.function batch 1000 (ours)"]().argmax(1)
    out, times = {}, {}
    chosen = {k: f for k, f in variants.items() if names is None or k in names}
    for name, f in chosen.items():
        res = f()  # warm-up / trace
        same = bool(np.array_equal(res.argmax(1), ref)) if isinstance(res, np.ndarray) else None
        out[name] = {"same_predictions": same, "val_images": n}
        times[name] = []
    for _ in range(cfg.repeats):  # interleaved rounds: drift in machine load hits all alike
        for name, f in chosen.items():
            times[name].append(clock(f)[0])
    for name in chosen:
        out[name]["s"] = statistics.median(times[name])
    return out


def child(name: str, quick: bool) -> dict:
    import tensorflow as tf

    if "BENCH_INTRA" in os.environ:  # must happen before TensorFlow runs any op
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["BENCH_INTRA"]))
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["BENCH_INTER"]))
    return _time_all(Config.make(quick), ["tf.function batch 1000 (ours)"])["tf.function batch 1000 (ours)"]


def run(cfg: Config) -> Result:
    timings = _time_all(cfg)
    base = timings["tf.function batch 1000 (ours)"]["s"]
    if cfg.quick:  # smoke test: the child's code in this process, settings not applied
        timings["default (child code, --quick, in-process)"] = child("default", True)
    for name in [] if cfg.quick else CHILDREN:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **CHILDREN[name]}
        cmd = [sys.executable, "-m", "bench.bench_tried", "child", name] + (["--quick"] if cfg.quick else [])
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        timings[name + " (fresh process)"] = json.loads(p.stdout.strip().splitlines()[-1])
    n = timings["tf.function batch 1000 (ours)"]["val_images"]
    lines = [f"Median of {cfg.repeats} interleaved rounds of full passes over {n} val images "
             "after a warm-up; ratio > 1 is slower than ours.", "",
             "| variant | time per pass | vs ours | same argmax as ours |", "|---|---|---|---|"]
    for name, r in timings.items():
        same = {True: "yes", False: "NO", None: "n/a"}[r["same_predictions"]]
        lines.append(f"| {name} | {fmt_s(r['s'])} | {r['s'] / base:.3f}x | {same} |")
    lines += ["", "Fresh-process rows run the default variant under other thread / oneDNN settings "
              "(TensorFlow reads them at start-up), compared with this process's default."]
    return Result(NAME, TITLE, {"timings": timings, "base_s": base}, lines, True)


if __name__ == "__main__":
    if sys.argv[1] == "child":
        print(json.dumps(child(sys.argv[2], "--quick" in sys.argv)))

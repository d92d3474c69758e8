"""Compute floor of a class moving the slider: the least time N exact new levels can take.

``python -m bench.bench_class_floor [--sessions 1 5 30] [--val-limit N] [--json F]``

An exact val figure for a new level is one forward pass of that level's own weights over
every val image; N sessions at N new levels are N passes, and no two can share work. This
counts the pass's multiply-adds (``pruning.macs``: convolutions and dense layers, a lower
bound, since biases, activations and pooling are left out), measures what this machine
computes (a large float32 matmul, the best case for its cores, and the real pass through
``pruning.evaluate.Evaluator``), and gives the floor for N sessions both ways:
N x FLOPs / matmul rate (the machine at its best) and N x measured pass time.
"""

from __future__ import annotations

import argparse
import json
import os

from bench.common import bare_pass, dataset, median_time


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The machine's best float32 rate: a large matmul through TensorFlow, median of repeats."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda: tf.linalg.matmul(a, b))
    f().numpy()
    return 2 * n ** 3 / median_time(lambda: f().numpy(), repeats) / 1e9


def measure(sessions: list[int], val_limit: int | None = None, model=None, split=None,
            repeats: int = 3) -> dict:
    """The floor figures for each session count (the bundled demo and its val split by default)."""
    from pruning.evaluate import Evaluator
    from pruning.macs import count_macs

    if model is None or split is None:
        from pruning.models import load_model

        model, split = load_model(), dataset().val  # scaled as the dashboard scales it
    split = split.head(val_limit)
    ev = Evaluator(model, split)
    bare_pass(ev)  # trace once
    pass_s = median_time(lambda: bare_pass(ev), repeats)
    macs = count_macs(model)
    flops = 2 * macs * len(split)
    peak = matmul_gflops()
    rows = [{"sessions": n, "floor_at_peak_s": n * flops / (peak * 1e9), "floor_measured_s": n * pass_s}
            for n in sessions]
    return {"macs_per_image": macs, "images": len(split), "gflop_per_pass": flops / 1e9,
            "pass_s": pass_s, "pass_gflops": flops / pass_s / 1e9, "matmul_gflops": peak,
            "cores": os.cpu_count(), "loadavg": list(os.getloadavg()), "rows": rows}


def markdown(r: dict) -> list[str]:
    lines = [f"One exact pass: {r['images']:,} images x {r['macs_per_image'] / 1e6:.2f} M multiply-adds "
             f"= {r['gflop_per_pass']:.1f} GFLOP in {r['pass_s']:.3f} s ({r['pass_gflops']:.0f} GFLOP/s; "
             f"a {r['cores']}-core float32 matmul reaches {r['matmul_gflops']:.0f} GFLOP/s; load "
             f"{r['loadavg'][0]:.1f}).", "",
             "| sessions at new levels | floor at the matmul rate (s) | floor at the measured pass (s) |",
             "|---:|---:|---:|"]
    lines += [f"| {x['sessions']} | {x['floor_at_peak_s']:.2f} | {x['floor_measured_s']:.2f} |" for x in r["rows"]]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 30])
    ap.add_argument("--val-limit", type=int, default=None)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    r = measure(args.sessions, args.val_limit)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    print("\n".join(markdown(r)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Batch-1 latency floor: what one call costs when the model does almost nothing.

``python -m bench.bench_latency_floor [--runs 300]``

Times, in the same alternating rounds, the bundled demo model and a one-layer model with the
same input (Flatten -> Dense(10)), through the Keras forward pass (compiled tf.function, as
``pruning.latency.keras_call``) and through LiteRT with every core's thread and with one.
dense / floor is the largest batch-1 speed-up any smaller model can show on that runtime:
the part of a call that does not shrink with the model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def measure(runs: int) -> dict:
    """{runtime: {"dense_ms", "floor_ms", "max_speedup"}} and the load average, one run."""
    import keras

    from pruning.latency import keras_call, litert_call, paired_medians, sample_batch
    from pruning.models import load_model
    from pruning.tflite import LiteRTModel, convert

    dense = load_model()
    floor = keras.Sequential([keras.Input(dense.input_shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(int(dense.output_shape[-1]), activation="softmax")])
    x = sample_batch(dense.input_shape[1:], 1)
    cores = os.cpu_count() or 1
    runtimes = {"keras": (keras_call(dense, x), keras_call(floor, x))}
    for name, threads in (("litert", cores), ("litert-1t", 1)):
        runtimes[name] = tuple(litert_call(LiteRTModel(convert(m, "tflite"), num_threads=threads), x)
                               for m in (dense, floor))
    ms = paired_medians([c for pair in runtimes.values() for c in pair], runs=runs, warmup=20)
    out = {name: {"dense_ms": ms[2 * i], "floor_ms": ms[2 * i + 1], "max_speedup": ms[2 * i] / ms[2 * i + 1]}
           for i, name in enumerate(runtimes)}
    return {"runtimes": out, "runs": runs, "cores": cores, "loadavg": list(os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    r = measure(args.runs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    print("| runtime | demo model ms | one-layer model ms | largest possible speed-up |\n|---|---:|---:|---:|")
    for name, v in r["runtimes"].items():
        print(f"| {name} | {v['dense_ms']:.3f} | {v['floor_ms']:.3f} | {v['max_speedup']:.2f}x |")
    la = r["loadavg"]
    print(f"\nmedian of {r['runs']} batch-1 calls each, alternating; load average {la[0]:.1f} / "
          f"{la[1]:.1f} / {la[2]:.1f} on {r['cores']} cores", file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

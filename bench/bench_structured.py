"""Structured pruning: physically smaller models, measured speed-up and accuracy.

``python -m bench.bench_structured [--quick] [--remove 0.5,0.6,0.7] [--epochs 6] [--train 55000]
[--zoo-epochs 3] [--zoo-train 20000] [--runs 20] [--markdown BENCHMARKS.md] [--json FILE]``

1. The bundled demo (``weights/fashion-mnist-dense.h5``): channels removed at each ratio
   (L1 importance, the same ratio per group), then fine-tuned (``--epochs``, cosine LR,
   distillation 0.5 from the dense model, best val epoch kept), against the dense model.
2. The ResNet-style and MobileNet-style models of ``bench.zoo``, trained here from scratch
   for ``--zoo-epochs`` (same seed, same images), then 50 % of their channels removed, with
   and without ``--zoo-ft-epochs`` of fine-tuning.

Latency on the CPU at batch 1 and 256: ``pruning.deploy.deployment_report`` when this build
has it (Keras and LiteRT, the median of ``--runs`` calls after 3 warm-up calls, small and
dense model timed in alternating order within the same rounds), else the same loop here
for Keras only.
Every figure is a ratio against the dense model measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .common import update_markdown  # noqa: E402

MARK = "structured"
BATCHES = (1, 256)


def _latency_tools():
    try:
        from pruning.deploy import deployment_report  # noqa: F401
        from pruning.latency import keras_call, paired_medians, sample_batch
        return keras_call, paired_medians, sample_batch, "pruning.deploy.deployment_report"
    except ImportError:
        pass
    import numpy as np
    import tensorflow as tf

    def keras_call(model, x):
        forward = tf.function(lambda t: model(t, training=False))
        xt = tf.constant(x)
        return lambda: forward(xt).numpy()

    def paired_medians(calls, runs=20, warmup=3):
        for _ in range(warmup):
            for c in calls:
                c()
        times = [[] for _ in calls]
        for r in range(runs):
            for i in (range(len(calls)) if r % 2 == 0 else reversed(range(len(calls)))):
                t0 = time.perf_counter()
                calls[i]()
                times[i].append(time.perf_counter() - t0)
        return [1000 * statistics.median(t) for t in times]

    def sample_batch(shape, batch, seed=0):
        return np.random.default_rng(seed).random((batch, *shape), dtype=np.float32)

    return keras_call, paired_medians, sample_batch, "bench-local paired median loop"


def latency(small, dense, runs: int) -> tuple[dict, int | None]:
    """({runtime: {batch: {ms, dense_ms, speedup}}}, MACs of ``small``), measured in one run.

    With ``pruning.deploy`` (this build's deployment report) both Keras and LiteRT (each
    model's float32 ``.tflite``) are timed; without it Keras only, by the loop above.
    """
    try:
        from pruning.deploy import deployment_report
    except ImportError:
        deployment_report = None
    if deployment_report is not None:
        rep = deployment_report(small, dense, None, runs=runs)
        return ({rt: {b: {"ms": ms, "dense_ms": rep["dense_latency_ms"][rt][b],
                          "speedup": rep["speedup"][rt][b]} for b, ms in per.items()}
                 for rt, per in rep["latency_ms"].items()}, rep["macs"])
    keras_call, paired_medians, sample_batch, _ = _latency_tools()
    shape = tuple(int(d) for d in dense.input_shape[1:])
    out = {}
    for b in BATCHES:
        x = sample_batch(shape, b)
        s, d = paired_medians([keras_call(small, x), keras_call(dense, x)], runs, 3)
        out[str(b)] = {"ms": s, "dense_ms": d, "speedup": d / s}
    return {"keras": out}, None


def macs(model) -> int | None:
    try:
        from pruning.deploy import count_macs
    except ImportError:
        return None
    return int(count_macs(model))


def _eval(model, split) -> float:
    from pruning.evaluate import Evaluator

    return Evaluator(model, split).evaluate().accuracy


def demo_rows(data, removes, training, runs: int, log) -> tuple[dict, list[dict]]:
    from pruning.models import load_model
    from pruning.structured import prune_structured
    from pruning.structured.finetune import finetune

    dense = load_model()
    base = {"params": int(dense.count_params()), "val": _eval(dense, data.val),
            "test": _eval(dense, data.test), "macs": macs(dense)}
    rows = []
    for r in removes:
        t0 = time.time()
        res = prune_structured(dense, r, "l1", "uniform")
        oneshot_test = _eval(res.model, data.test)
        log(f"demo remove {r}: {res.params:,} params, one-shot test {oneshot_test:.4f}; fine-tuning")
        tuned, run = finetune(res.model, data, training, teacher=dense)
        lat, small_macs = latency(tuned, dense, runs)
        row = {"remove": r, "params": res.params, "param_ratio": base["params"] / res.params,
               "macs": small_macs, "oneshot_test": oneshot_test, "val": run.val.accuracy,
               "test": run.test.accuracy, "epochs_run": run.epochs_run,
               "best_epoch": next((h["epoch"] for h in run.history if h.get("best")), None),
               "train_seconds": round(time.time() - t0, 1), "latency": lat}
        rows.append(row)
        log(f"  test {row['test']:.4f}, Keras speed-up b1 {lat['keras']['1']['speedup']:.2f}x "
            f"b256 {lat['keras']['256']['speedup']:.2f}x")
    return base, rows


def zoo_rows(data, dense_epochs: int, ft_training, runs: int, log) -> list[dict]:
    import keras

    from bench.zoo import mobilenet_style, resnet_style
    from pruning.structured import prune_structured
    from pruning.structured.finetune import finetune

    rows = []
    for name, build in (("ResNet-style", resnet_style), ("MobileNet-style", mobilenet_style)):
        keras.utils.set_random_seed(0)
        dense = build(data.input_shape, data.num_classes)
        dense.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        t0 = time.time()
        dense.fit(data.train.x, data.train.y, batch_size=128, epochs=dense_epochs, verbose=0)
        log(f"{name}: dense trained in {time.time() - t0:.0f}s")
        res = prune_structured(dense, 0.5, "l1", "uniform")
        oneshot = {"val": _eval(res.model, data.val), "test": _eval(res.model, data.test)}
        tuned, run = finetune(res.model, data, ft_training, teacher=dense)
        lat, _ = latency(tuned, dense, runs)
        row = {"model": name, "dense_params": int(dense.count_params()), "params": res.params,
               "dense_macs": macs(dense), "macs": macs(res.model),
               "dense_val": _eval(dense, data.val), "dense_test": _eval(dense, data.test),
               "oneshot_val": oneshot["val"], "oneshot_test": oneshot["test"],
               "tuned_val": run.val.accuracy, "tuned_test": run.test.accuracy,
               "epochs_run": run.epochs_run, "latency": lat}
        rows.append(row)
        log(f"  {row['params']:,}/{row['dense_params']:,} params, test dense {row['dense_test']:.4f} "
            f"one-shot {row['oneshot_test']:.4f} tuned {row['tuned_test']:.4f}")
    return rows


def _pct(v: float) -> str:
    return f"{100 * v:.2f}"


RUNTIMES = ("keras", "litert")


def _ms(lat: dict, runtime: str, b: str) -> str:
    x = lat.get(runtime, {}).get(b)
    if x is None:
        return "n/a"
    digits = 2 if min(x["ms"], x["dense_ms"]) >= 0.1 else 3
    return f"{x['ms']:.{digits}f} / {x['dense_ms']:.{digits}f} = **{x['speedup']:.2f}x**"


def _lat_cols(lat: dict) -> str:
    return " | ".join(_ms(lat, rt, b) for b in ("1", "256") for rt in RUNTIMES)


LAT_HEAD = ("batch 1 Keras ms (small / dense) | batch 1 LiteRT ms | batch 256 Keras ms | "
            "batch 256 LiteRT ms")


def report(base: dict, demo: list[dict], zoo: list[dict], args, when: str) -> list[str]:
    _, _, _, timer = _latency_tools()
    out = ["## 11. Structured pruning: a physically smaller model, measured speed and accuracy", "",
           f"_Ran at {when} on the shared 2-core machine (other jobs running beside it; latency "
           f"pairs are timed in alternating order in the same rounds, so load hits both). "
           f"Latency on the CPU: the Keras forward pass (compiled tf.function) and, with "
           f"`pruning.deploy`, each model's float32 `.tflite` in the LiteRT interpreter; median "
           f"of {args.runs} calls after 3 warm-up calls ({timer}). Data: {args.train:,} training "
           f"images, val {base['n_val']:,}, "
           f"test {base['n_test']:,}._", "",
           "Command:", "", "```bash",
           "nice -n 10 .venv/bin/python -m bench.bench_structured " + " ".join(args.argv_text), "```",
           "",
           f"**Demo model** (dense: {base['params']:,} params, val {_pct(base['val'])} %, test "
           f"{_pct(base['test'])} %). L1 importance, the same ratio in every group, then fine-tuned "
           f"{args.epochs} epochs (Adam, cosine LR from {args.lr:g}, distillation 0.5 from the dense "
           "model, best val epoch kept; batch 128).", "",
           "| removed | params | fewer params | MACs | one-shot test % | fine-tuned val % | test % "
           f"| vs dense | {LAT_HEAD} | fine-tune s |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in demo:
        mac = "n/a" if r["macs"] is None else f"{r['macs']:,} ({base['macs'] / r['macs']:.1f}x fewer)"
        out.append(f"| {100 * r['remove']:.0f} % | {r['params']:,} | {r['param_ratio']:.2f}x | {mac} | "
                   f"{_pct(r['oneshot_test'])} | {_pct(r['val'])} | {_pct(r['test'])} | "
                   f"{100 * (r['test'] - base['test']):+.2f} | {_lat_cols(r['latency'])} | "
                   f"{r['train_seconds']:.0f} |")
    out += ["", "Targets (>= 4x fewer parameters, within 1.0 point of dense test accuracy, and a "
            ">= 2.0x speed-up):"]
    accurate = [r for r in demo if r["param_ratio"] >= 4 and base["test"] - r["test"] <= 0.01]
    for b in ("1", "256"):
        for rt in RUNTIMES:
            if not any(rt in r["latency"] for r in demo):
                continue
            ok = [f"{100 * r['remove']:.0f} %" for r in accurate if r["latency"][rt][b]["speedup"] >= 2.0]
            if ok:
                out.append(f"- batch {b}, {rt}: **met** at {', '.join(ok)} removed")
            elif accurate:
                best = max(accurate, key=lambda r: r["latency"][rt][b]["speedup"])
                out.append(f"- batch {b}, {rt}: **not met** in this run; the fastest row with >= 4x "
                           f"fewer parameters within 1.0 point ({100 * best['remove']:.0f} % removed) "
                           f"runs {best['latency'][rt][b]['speedup']:.2f}x faster")
            else:
                out.append(f"- batch {b}, {rt}: **not met**: no row has >= 4x fewer parameters within "
                           "1.0 point of dense test accuracy at this epoch budget")
    if zoo:
        out += ["", f"**ResNet-style and MobileNet-style models** (`bench/zoo.py`), trained here for "
                f"{args.zoo_epochs} epochs on {args.zoo_train:,} images, then 50 % of every prunable "
                f"group removed (L1), with and without {args.zoo_ft_epochs} epochs of fine-tuning "
                "(same recipe as above).", "",
                "| model | params (small / dense) | test % dense | 50 % removed, no fine-tune | "
                f"fine-tuned | {LAT_HEAD} |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for z in zoo:
            out.append(f"| {z['model']} | {z['params']:,} / {z['dense_params']:,} | "
                       f"{_pct(z['dense_test'])} | "
                       f"{_pct(z['oneshot_test'])} | {_pct(z['tuned_test'])} | {_lat_cols(z['latency'])} |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke configuration")
    ap.add_argument("--remove", default="0.5,0.6,0.7")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--train", type=int, default=55_000)
    ap.add_argument("--val", type=int, default=5_000)
    ap.add_argument("--test", type=int, default=10_000)
    ap.add_argument("--zoo-epochs", type=int, default=3)
    ap.add_argument("--zoo-ft-epochs", type=int, default=2)
    ap.add_argument("--zoo-train", type=int, default=20_000)
    ap.add_argument("--no-zoo", action="store_true")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--markdown", help="rewrite this suite's section of BENCHMARKS.md")
    ap.add_argument("--json", help="write the figures here")
    argv = sys.argv[1:] if argv is None else argv
    args = ap.parse_args(argv)
    args.argv_text = [a for a in argv if a not in ("--markdown", "--json")
                      and not a.endswith((".md", ".json"))]
    if args.quick:
        args.remove, args.epochs, args.train, args.val, args.test = "0.5", 1, 512, 200, 200
        args.zoo_epochs, args.zoo_ft_epochs, args.zoo_train, args.runs = 1, 1, 256, 3
    from pruning.retrain import Training, limit

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    from .common import dataset

    full = dataset()  # as the demo model takes it
    data = limit(full, train=args.train, val=args.val, test=args.test)
    training = Training(epochs=args.epochs, learning_rate=args.lr, lr_schedule="cosine", distill=0.5,
                        patience=None)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    base, demo = demo_rows(data, [float(r) for r in args.remove.split(",")], training, args.runs, log)
    base.update({"n_val": len(data.val), "n_test": len(data.test)})
    zoo = []
    if not args.no_zoo:
        zoo_data = limit(full, train=args.zoo_train, val=args.val, test=args.test)
        zoo = zoo_rows(zoo_data, args.zoo_epochs, Training(epochs=args.zoo_ft_epochs, learning_rate=args.lr,
                                                           lr_schedule="cosine", distill=0.5, patience=None),
                       args.runs, log)
    lines = report(base, demo, zoo, args, when)
    print("\n".join(lines))
    if args.json:
        figures = {"dense": base, "demo": demo, "zoo": zoo}
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    if args.markdown:
        update_markdown(args.markdown, MARK, lines)
    return 0



if __name__ == "__main__":
    sys.exit(main())

"""Deployable files: pruned + int8 LiteRT size vs the dense .h5, and 2:4 vs unstructured at 50 %.

``python -m bench.bench_deploy [--quick] [--sparsity 90] [--epochs 4] [--train 55000]
[--nm-epochs 2] [--nm-train 10000] [--runs 20] [--markdown BENCHMARKS.md] [--json FILE]``

Part 1 (TF-MOT's "10x smaller with pruning + quantization" claim): the bundled demo model
is pruned (global magnitude over kernels to ``--sparsity``), masked-retrained for
``--epochs`` (cosine LR, dropout adjusted, distilled from the dense model), then exported
to every file variant. Each ``.tflite`` accuracy is that file's own, through the LiteRT
interpreter after a write and reload; sizes are bytes on disk (and gzip -9 of them, said
so wherever used); ratios are against the dense model's legacy ``.h5`` in the same run.
The deployment report (MACs, latency at batch 1 and 256, Keras and LiteRT, median of
``--runs`` after warm-up, pruned and dense interleaved) comes from the same process.

Part 2: 2:4 (and 4:8, 1x4 blocks) vs unstructured global magnitude at 50 % of the
kernels, one-shot and after the same masked-retraining budget, same seed and images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .common import update_markdown  # noqa: E402

MARK = "deploy"
ROOT = Path(__file__).resolve().parent.parent


def _training(epochs: int, distill: float):
    from pruning.retrain import Training

    return Training(epochs=epochs, patience=None, seed=0, lr_schedule="cosine",
                    adjust_dropout=True, distill=distill)


def part_files(data, sparsity: float, epochs: int, runs: int, log) -> dict:
    """Prune, retrain, export every variant; sizes and each file's own accuracy."""
    from pruning import Evaluator, Workbench, load_model
    from pruning.deploy import deployment_report
    from pruning.export import export_bytes, verified_export_bytes
    from pruning.quantize import keras_int8
    from pruning.retrain import retrain
    from pruning.tflite import TFLITE_FORMATS, verified_tflite

    dense = load_model()
    wb = Workbench(load_model(), data)
    t0 = time.time()
    start = wb.prune("global", sparsity, "kernels")
    res = retrain(wb.model, data, "masked", None, _training(epochs, 0.5), "kernels", start=start)
    log(f"retrained in {time.time() - t0:.0f}s: val {res.val.accuracy:.4f} test {res.test.accuracy:.4f}")
    pruned = wb.load(res.arrays)
    dense_h5 = len(export_bytes(dense, "h5"))
    rows = []

    def add(name, nbytes, val, test, how):
        rows.append({"file": name, "bytes": nbytes, "ratio": dense_h5 / nbytes, "val": val,
                     "test": test, "how": how})

    dv, dt = Evaluator(dense, data.val).evaluate().accuracy, Evaluator(dense, data.test).evaluate().accuracy
    add("dense .h5", dense_h5, dv, dt, "Keras")
    h5 = verified_export_bytes(pruned, "h5", res.arrays)
    import gzip

    add("pruned .h5", len(h5), res.val.accuracy, res.test.accuracy, "Keras")
    add("pruned .h5 + gzip", len(gzip.compress(h5, 9, mtime=0)), res.val.accuracy, res.test.accuracy, "Keras")
    q = keras_int8(pruned).model
    qv, qt = Evaluator(q, data.val).evaluate().accuracy, Evaluator(q, data.test).evaluate().accuracy
    kq = verified_export_bytes(q, "keras")
    add("pruned .keras, Keras int8 (Dense only)", len(kq), qv, qt, "Keras")
    for fmt in TFLITE_FORMATS:
        for sparse in (True, False):
            t1 = time.time()
            f = verified_tflite(pruned, fmt, data, sparse=sparse)
            tag = "sparse format" if sparse else "dense format"
            add(f"pruned {fmt} ({tag})", len(f.data),
                f.val.accuracy, f.test.accuracy, f"LiteRT, {f.delegate}")
            add(f"pruned {fmt} ({tag}) + gzip",
                len(gzip.compress(f.data, 9, mtime=0)), f.val.accuracy, f.test.accuracy,
                f"LiteRT, {f.delegate}")
            log(f"{fmt} {tag}: {len(f.data)} bytes, test {f.test.accuracy:.4f} ({time.time() - t1:.0f}s)")
    report = deployment_report(pruned, dense, data, runs=runs)
    return {"sparsity_kernels": res.pruned.sparsity_kernels, "sparsity_all": res.pruned.sparsity_all,
            "epochs": epochs, "train": len(data.train), "dense_val": dv, "dense_test": dt,
            "rows": rows, "report": report, "retrain_seconds": res.seconds}


def part_nm(data, epochs: int, log) -> list[dict]:
    """2:4, 4:8, 1x4 block and unstructured at 50 % of kernels: one-shot, then masked retraining."""
    from pruning import Workbench, load_model
    from pruning.patterns import nm_violations
    from pruning.retrain import retrain

    wb = Workbench(load_model(), data)
    out = []
    for label, method in (("unstructured (global)", "global"), ("2:4", "nm"), ("4:8", "nm8"),
                          ("1x4 blocks", "block")):
        t0 = time.time()
        point = wb.point(method, 0.5, "kernels")
        res = retrain(wb.model, data, "masked", None, _training(epochs, 0.0), "kernels", start=point.pruned)
        held = None
        if method in ("nm", "nm8"):
            n, m = (2, 4) if method == "nm" else (4, 8)
            held = sum(nm_violations(a, n, m) for a, k in zip(res.arrays, wb.baseline.kinds) if k == "kernel")
        out.append({"pattern": label, "method": method, "sparsity_kernels": res.pruned.sparsity_kernels,
                    "oneshot_val": point.val.accuracy, "oneshot_test": point.test.accuracy,
                    "val": res.val.accuracy, "test": res.test.accuracy, "violations": held,
                    "seconds": round(time.time() - t0, 1)})
        log(json.dumps(out[-1]))
    return out


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def report(files: dict, nm: list[dict], args) -> list[str]:
    r = files["report"]
    cmd = (f".venv/bin/python -m bench.bench_deploy --sparsity {args.sparsity:g} --epochs {args.epochs} "
           f"--train {args.train} --nm-epochs {args.nm_epochs} --nm-train {args.nm_train} "
           f"--runs {args.runs}{' --no-nm' if args.no_nm else ''} --markdown BENCHMARKS.md")
    out = ["## 12. Deployable files: pruned + int8 LiteRT size, and 2:4 vs unstructured", "",
           f"_Ran at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on the shared 2-core machine"
           f"{' (--quick: figures mean nothing)' if args.quick else ''}._", "",
           f"- Command: `{cmd}`",
           f"- Pruned model: global magnitude over kernels to {100 * files['sparsity_kernels']:.2f} % "
           f"({100 * files['sparsity_all']:.2f} % of all parameters), then masked retraining for "
           f"{files['epochs']} epochs over {files['train']:,} training images (cosine LR from 1e-3, "
           f"dropout adjusted, distilled 0.5 from the dense model, seed 0, "
           f"{files['retrain_seconds']:.0f} s).",
           f"- Dense model: val {100 * files['dense_val']:.2f} %, test {100 * files['dense_test']:.2f} %. "
           "Each .tflite row's accuracy is measured on that file through the LiteRT interpreter "
           "(ai-edge-litert 2.3.0) after writing and reloading it; full int8 is calibrated on 200 "
           "training images.", "",
           "| file | bytes | size | dense .h5 / file | val % | test % | test vs dense | measured with |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in files["rows"]:
        gap = 100 * (row["test"] - files["dense_test"])
        out.append(f"| {row['file']} | {row['bytes']:,} | {_mib(row['bytes'])} | {row['ratio']:.1f}x | "
                   f"{100 * row['val']:.2f} | {100 * row['test']:.2f} | {gap:+.2f} | {row['how']} |")
    ok = [row for row in files["rows"] if row["file"].startswith("pruned tflite-int8")
          and files["dense_test"] - row["test"] <= 0.01]
    plain = [row for row in ok if "gzip" not in row["file"]]
    best_plain = max(plain, key=lambda row: row["ratio"], default=None)
    best_any = max(ok, key=lambda row: row["ratio"], default=None)
    out += ["", "Target (pruned + int8 `.tflite` >= 10x smaller than the dense `.h5`, within 1.0 point "
            "of dense test accuracy):", ""]
    if best_plain:
        out.append(f"- Without compression: **{best_plain['file']}** is {best_plain['ratio']:.1f}x smaller "
                   f"({best_plain['test'] * 100:.2f} % test) -> {'met' if best_plain['ratio'] >= 10 else 'NOT met'}.")
    if best_any:
        out.append(f"- With gzip -9 on the file: **{best_any['file']}** is {best_any['ratio']:.1f}x "
                   f"smaller -> {'met' if best_any['ratio'] >= 10 else 'NOT met'}; toward 20x: "
                   f"{100 * min(1.0, best_any['ratio'] / 20):.0f} % of the way.")
    if not ok:
        out.append("- NOT met: no int8 file is within 1.0 point of dense test accuracy at this budget.")
    lat, dl, sp = r["latency_ms"], r["dense_latency_ms"], r["speedup"]
    out += ["", f"Deployment report of the same pruned model (median of {r['runs']} runs after "
            f"{r['warmup']} warm-up, pruned and dense interleaved; LiteRT runs each model's float32 "
            f".tflite with {r['threads']['litert']} threads, {r['litert_delegate'].get('model', '?')}):", "",
            "| | pruned | dense | speed-up |", "|---|---:|---:|---:|",
            f"| parameters / non-zeros | {r['params']:,} / {r['nonzeros']:,} | {r['dense_params']:,} | |",
            f"| multiply-adds per image (effective) | {r['effective_macs']:,} | {r['dense_macs']:,} | "
            f"{r['dense_macs'] / max(r['effective_macs'], 1):.2f}x fewer |"]
    for rt in lat:
        for b in lat[rt]:
            out.append(f"| {rt} latency, batch {b} | {lat[rt][b]:.2f} ms | {dl[rt][b]:.2f} ms | "
                       f"{sp[rt][b]:.2f}x |")
    out += ["", "Reading: unstructured zeros shrink the files (TFLite's sparse format or gzip) but "
            "not the time: Keras and LiteRT's CPU kernels multiply the zeros, so the measured "
            "speed-up stays near 1.0x while effective multiply-adds fall with the sparsity; a real "
            "speed-up needs physically smaller layers (structured pruning).", ""]
    if not nm:
        return out
    out += [f"2:4 vs unstructured at 50 % of the kernels (masked retraining, {args.nm_epochs} epochs over "
            f"{args.nm_train:,} training images, cosine LR, dropout adjusted, no distillation, seed 0):", "",
            "| pattern | kernel sparsity | one-shot val % | one-shot test % | retrained val % | "
            "retrained test % | groups breaking the pattern | s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in nm:
        v = "—" if row["violations"] is None else str(row["violations"])
        out.append(f"| {row['pattern']} | {100 * row['sparsity_kernels']:.2f} % | {100 * row['oneshot_val']:.2f} | "
                   f"{100 * row['oneshot_test']:.2f} | {100 * row['val']:.2f} | {100 * row['test']:.2f} | "
                   f"{v} | {row['seconds']} |")
    out += ["", "The first convolution has one input channel, so N:M keeps it whole (both peers pad "
            "a short group the same way); that is why N:M kernel sparsity is just under 50 %."]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny smoke configuration")
    ap.add_argument("--sparsity", type=float, default=90.0, help="percent of kernels pruned (part 1)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--train", type=int, default=55_000)
    ap.add_argument("--nm-epochs", type=int, default=2)
    ap.add_argument("--nm-train", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-nm", action="store_true", help="part 1 only (files and latency)")
    ap.add_argument("--markdown", help="rewrite this suite's section of BENCHMARKS.md")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.train, args.nm_epochs, args.nm_train, args.runs = 1, 512, 1, 512, 3
    from pruning.retrain import limit

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    from .common import dataset

    full = dataset()  # as the demo model takes it
    val, test = (500, 500) if args.quick else (None, None)
    files = part_files(limit(full, train=args.train, val=val, test=test), args.sparsity / 100,
                       args.epochs, args.runs, log)
    nm = [] if args.no_nm else part_nm(limit(full, train=args.nm_train, val=val, test=test),
                                       args.nm_epochs, log)
    lines = report(files, nm, args)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"files": files, "nm": nm}, indent=2, default=str))
    if args.markdown:
        update_markdown(args.markdown, MARK, lines)
    return 0



if __name__ == "__main__":
    sys.exit(main())

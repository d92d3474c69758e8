"""Training-step throughput: masked retraining vs plain ``fit`` vs TF-MOT's prune_low_magnitude.

``python -m bench.bench_retrain [--quick] [--tried] [--no-tfmot] [--markdown BENCHMARKS.md] [--json FILE]``

Same layer stack (the demo model, random weights), same batch size, same random data.
Keras 3 side (this process): plain ``model.fit``; ``MaskedModel`` (gradients masked, mask
re-applied after each update) at 90% kernel sparsity, compiled as retraining compiles it
(``pruning.retrain.STEPS_PER_EXECUTION`` steps per call) and at one step per call; the same
plus the per-batch hook that gradual pruning uses (one step per call, as gradual trains).
TF-MOT side (a worker subprocess with ``TF_USE_LEGACY_KERAS=1``, since
TF-MOT 0.8.1 needs Keras 2 / ``tf_keras``): plain ``tf_keras`` fit and ``prune_low_magnitude``
with ``ConstantSparsity(0.9)`` + ``UpdatePruningStep``. After a warm-up epoch each, all the
variants take turns epoch by epoch, across both processes (the worker trains one epoch per
request while this process waits, and the order reverses every round), so load from other work
hits them alike and every ratio, the cross-Keras ones included, is a median of same-round ratios.
Install TF-MOT for this benchmark only (see bench/requirements-retrain.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MARK = "retrain"


@dataclass(frozen=True)
class Setup:
    """Model, batch and timing of one benchmark run."""

    shape: tuple[int, int, int] = (28, 28, 1)
    classes: int = 10
    width: float = 1.0
    batch_size: int = 128
    steps: int = 40  # batches per timed epoch
    epochs: int = 8  # timed epochs per variant (+1 warm-up)
    sparsity: float = 0.9

    @classmethod
    def quick(cls) -> "Setup":
        return cls(shape=(12, 12, 1), classes=3, width=0.25, batch_size=16, steps=4, epochs=2)


def _data(s: Setup):
    import numpy as np

    rng = np.random.default_rng(0)
    n = s.batch_size * s.steps
    x = rng.random((n, *s.shape), dtype=np.float32)
    y = rng.integers(0, s.classes, size=n)
    return x, y


def _epoch_seconds(fit, keras_mod) -> float:
    """Wall time of one ``fit(callbacks)`` epoch, from Keras' own epoch callbacks."""
    class EpochTimer(keras_mod.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.t

    timer = EpochTimer()
    fit([timer])
    return timer.seconds


def _rounds(epochs: dict, s: Setup) -> dict[str, list[float]]:
    """Steps/s per variant and round; ``epochs[name]()`` trains one epoch and returns seconds.

    Variants take turns (A B C, then C B A, ...) so that drifting load hits all of them alike.
    """
    names = list(epochs)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for r in range(s.epochs):
        for name in (names if r % 2 == 0 else names[::-1]):
            rates[name].append(s.steps / epochs[name]())
    return rates


def _summary(rates: dict[str, list[float]], base: str) -> dict:
    """Median steps/s per variant and the median of its same-round ratios to ``base``."""
    out: dict = {name: statistics.median(r) for name, r in rates.items()}
    out["paired_ratio"] = {name: _paired(r, rates[base]) for name, r in rates.items()}
    return out


def _paired(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


TRIED = {"masked_xla": {"jit_compile": True}}


def keras3_fits(s: Setup, tried: bool = False) -> tuple[dict, dict]:
    """One-epoch trainers (plain fit, MaskedModel, MaskedModel + gradual hook), warmed up.

    ``masked`` runs as retraining's masked, freeze and IMP phases do (``STEPS_PER_EXECUTION``
    steps per compiled call), ``masked_gradual_hook`` as gradual pruning does (one step per call,
    masks updated by the hook), ``masked_1step`` is ``masked`` at one step per call.
    ``tried``: also MaskedModel compiled with XLA (``TRIED``).

    Returns the trainers (``fit(callbacks)``) and the (net, wrapper) pairs whose zeros are
    checked after timing.
    """
    import keras

    from pruning.masks import in_scope, keep_masks, magnitude_index
    from pruning.oneshot import Baseline
    from pruning.models import build_model
    from pruning.retrain import STEPS_PER_EXECUTION, BatchProgress, MaskedModel

    x, y = _data(s)

    def fresh():
        keras.utils.set_random_seed(0)
        return build_model(s.shape, s.classes, s.width)

    plain = fresh()
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    fits = {"plain": lambda cb: plain.fit(x, y, batch_size=s.batch_size, epochs=1, shuffle=False,
                                          verbose=0, callbacks=cb)}
    wrappers = {}
    variants = [("masked", False, {"steps_per_execution": STEPS_PER_EXECUTION}),
                ("masked_gradual_hook", True, {}), ("masked_1step", False, {})]
    variants += [(name, False, kw) for name, kw in TRIED.items()] if tried else []
    for name, hooked, kw in variants:
        net = fresh()
        kinds = Baseline.from_model(net).kinds
        wrapper = MaskedModel(net, in_scope(kinds, "kernels"))
        wrapper.set_masks(keep_masks(magnitude_index([v.numpy() for v in net.weights], kinds,
                                                     "kernels"), "global", s.sparsity))
        wrapper.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                        **kw)
        extra = [BatchProgress(lambda step: None, lambda b, step, loss: None)] if hooked else []
        fits[name] = (lambda cb, w=wrapper, extra=extra: w.fit(
            x, y, batch_size=s.batch_size, epochs=1, shuffle=False, verbose=0, callbacks=cb + extra))
        wrappers[name] = (net, wrapper)
    for fit in fits.values():  # warm-up: tracing
        fit([])
    return fits, wrappers


def zeros_held(wrappers: dict) -> dict[str, bool]:
    """Per wrapper: are all masked-out entries still exactly zero?"""
    import numpy as np

    out = {}
    for name, (net, wrapper) in wrappers.items():
        zeros = [np.all(v.numpy()[~m] == 0) for v, m in zip(net.weights, wrapper.masks()) if m is not None]
        out[f"{name}_zeros_held"] = bool(all(zeros))
    if "masked_xla" in wrappers:  # Keras quietly drops XLA, e.g. once op determinism is on
        out["masked_xla_in_effect"] = bool(wrappers["masked_xla"][1].jit_compile)
    return out


def tfmot_fits(s: Setup) -> tuple[dict, dict]:
    """Under TF_USE_LEGACY_KERAS=1: plain tf_keras fit and prune_low_magnitude, warmed up."""
    import tensorflow as tf
    import tf_keras as keras

    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as e:
        return {}, {"error": f"tensorflow-model-optimization not installed ({e})"}
    x, y = _data(s)

    def w(n: int) -> int:
        return max(1, int(round(n * s.width)))

    def build():
        tf.keras.utils.set_random_seed(0)
        reg = keras.regularizers.L2(1e-5)
        L = keras.layers
        return keras.Sequential([
            keras.Input(shape=s.shape),
            L.Conv2D(w(32), 3, padding="same", kernel_regularizer=reg), L.Activation("relu"),
            L.Conv2D(w(32), 3, padding="valid", kernel_regularizer=reg), L.Activation("relu"),
            L.MaxPooling2D(2), L.Dropout(0.25),
            L.Conv2D(w(64), 3, padding="same", kernel_regularizer=reg), L.Activation("relu"),
            L.Conv2D(w(64), 3, padding="valid", kernel_regularizer=reg), L.Activation("relu"),
            L.MaxPooling2D(2), L.Dropout(0.25), L.Flatten(),
            L.Dense(w(512)), L.Activation("relu"), L.Dropout(0.5),
            L.Dense(s.classes), L.Activation("softmax")])

    plain = build()
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    pruned = tfmot.sparsity.keras.prune_low_magnitude(
        build(), pruning_schedule=tfmot.sparsity.keras.ConstantSparsity(s.sparsity, 0, frequency=100))
    pruned.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    update = [tfmot.sparsity.keras.UpdatePruningStep()]
    fits = {
        "plain": lambda cb: plain.fit(x, y, batch_size=s.batch_size, epochs=1, shuffle=False,
                                      verbose=0, callbacks=cb),
        "prune_low_magnitude": lambda cb: pruned.fit(x, y, batch_size=s.batch_size, epochs=1,
                                                     shuffle=False, verbose=0, callbacks=cb + update),
    }
    for fit in fits.values():  # warm-up: tracing
        fit([])
    return fits, {"tfmot_version": getattr(tfmot, "__version__", "?")}


def serve(s: Setup) -> None:
    """Worker loop: build the TF-MOT side, then train one epoch per variant name read on stdin."""
    import tf_keras

    fits, info = tfmot_fits(s)
    print(json.dumps({**info, "variants": list(fits)}), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name not in fits:
            break
        print(json.dumps({"seconds": _epoch_seconds(fits[name], tf_keras)}), flush=True)


class TfmotWorker:
    """The TF-MOT side in a subprocess with Keras 2 (its own TensorFlow runtime), on request."""

    def __init__(self, s: Setup, timeout: float = 600) -> None:
        import tempfile

        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        root = Path(__file__).resolve().parent.parent
        self.timeout = timeout
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_retrain", "--serve", json.dumps(asdict(s))],
            cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True)
        self.info = self._read()

    def _read(self) -> dict:
        import select

        deadline = time.monotonic() + self.timeout
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            line = self.proc.stdout.readline() if ready else None
            if not line:
                self.close()
                self.stderr.seek(0)
                why = (f"timed out after {self.timeout:.0f} s" if line is None
                       else f"exit {self.proc.returncode}: {self.stderr.read().strip()[-300:]}")
                raise RuntimeError(f"TF-MOT worker failed ({why})")
            if line.startswith("{"):
                return json.loads(line)

    def epoch(self, name: str) -> float:
        """Seconds for one epoch of ``name``, trained in the worker while this process waits."""
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return self._read()["seconds"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def measure(s: Setup, tfmot: bool, tried: bool = False) -> tuple[dict, dict]:
    """Both sides' steps/s and ratios, the variants of both processes taking turns."""
    import keras

    worker, tm = None, {"error": "skipped (--no-tfmot)"}
    if tfmot:
        try:
            worker = TfmotWorker(s)
            tm = {"error": worker.info["error"]} if "error" in worker.info else {}
        except RuntimeError as e:
            tm = {"error": str(e)}
        if "error" in tm and worker is not None:
            worker.close()
            worker = None
    fits, wrappers = keras3_fits(s, tried)
    epochs = {name: (lambda fit=fit: _epoch_seconds(fit, keras)) for name, fit in fits.items()}
    if worker is not None:
        epochs.update({f"tfmot:{name}": (lambda name=name: worker.epoch(name))
                       for name in worker.info["variants"]})
    try:
        rates = _rounds(epochs, s)
    finally:
        if worker is not None:
            worker.close()
    k3 = _summary({n: r for n, r in rates.items() if not n.startswith("tfmot:")}, "plain")
    k3.update(zeros_held(wrappers))
    from pruning.retrain import STEPS_PER_EXECUTION

    k3["steps_per_execution"] = STEPS_PER_EXECUTION
    if worker is not None:
        tm = _summary({n[len("tfmot:"):]: r for n, r in rates.items() if n.startswith("tfmot:")}, "plain")
        tm["tfmot_version"] = worker.info["tfmot_version"]
        tm["paired_vs_keras3"] = {
            "masked_per_prune_low_magnitude": _paired(rates["masked"], rates["tfmot:prune_low_magnitude"]),
            "masked_1step_per_prune_low_magnitude": _paired(rates["masked_1step"],
                                                            rates["tfmot:prune_low_magnitude"]),
            "plain_per_tf_keras_plain": _paired(rates["plain"], rates["tfmot:plain"])}
    return k3, tm


def report(s: Setup, k3: dict, tm: dict, quick: bool) -> list[str]:
    """Markdown lines: steps/s per variant and the ratios."""
    lines = [f"- Model: the demo layer stack, input {s.shape}, {s.classes} classes, width "
             f"{s.width}; batch {s.batch_size}; {s.steps} steps per epoch; all variants, both "
             "processes, take turns epoch by epoch (order reversed every round), "
             f"{s.epochs} timed epochs each after a warm-up epoch; steps/s are medians, ratios "
             "are medians of same-round ratios to the plain fit of the same Keras; masks at "
             f"{s.sparsity:.0%} of the kernels.",
             "",
             "| variant | steps/s | vs its plain fit |",
             "| --- | ---: | ---: |",
             f"| Keras 3 plain `fit` | {k3['plain']:.1f} | 1.00 |",
             f"| Keras 3 `MaskedModel` (mask grads + re-apply), as masked / freeze / IMP train: "
             f"{k3['steps_per_execution']} steps per execution | {k3['masked']:.1f} | "
             f"{k3['paired_ratio']['masked']:.2f} |",
             f"| Keras 3 `MaskedModel` + gradual per-batch hook, as gradual trains: 1 step per "
             f"execution | {k3['masked_gradual_hook']:.1f} | "
             f"{k3['paired_ratio']['masked_gradual_hook']:.2f} |"]
    tried = {"masked_1step": "Keras 3 `MaskedModel`, 1 step per execution",
             "masked_xla": "Keras 3 `MaskedModel`, XLA (`jit_compile=True`), tried"}
    if not k3.get("masked_xla_in_effect", True):
        tried["masked_xla"] += " (Keras ran it without XLA here: op determinism was on)"
    lines += [f"| {label} | {k3[name]:.1f} | {k3['paired_ratio'][name]:.2f} |"
              for name, label in tried.items() if name in k3]
    if "error" in tm:
        lines.append(f"| TF-MOT | n/a | {tm['error']} |")
    else:
        lines += [f"| tf_keras (Keras 2) plain `fit` | {tm['plain']:.1f} | 1.00 |",
                  f"| TF-MOT {tm['tfmot_version']} `prune_low_magnitude` | "
                  f"{tm['prune_low_magnitude']:.1f} | {tm['paired_ratio']['prune_low_magnitude']:.2f} |",
                  ""]
        cross = tm.get("paired_vs_keras3")
        if cross:
            lines += [f"- `MaskedModel` / TF-MOT `prune_low_magnitude` steps per second: "
                      f"{cross['masked_per_prune_low_magnitude']:.2f} (median of same-round ratios; "
                      f"ratio of the medians {k3['masked'] / tm['prune_low_magnitude']:.2f}); "
                      "at 1 step per execution, as TF-MOT's per-batch `UpdatePruningStep` needs: "
                      f"{cross.get('masked_1step_per_prune_low_magnitude', float('nan')):.2f}.",
                      f"- Keras 3 plain / tf_keras plain steps per second: "
                      f"{cross['plain_per_tf_keras_plain']:.2f}: the two Keras versions differ by "
                      "this much before any pruning."]
        else:
            lines.append(f"- `MaskedModel` / TF-MOT steps per second: "
                         f"{k3['masked'] / tm['prune_low_magnitude']:.2f} (ratio of the medians).")
    held = [k for k in k3 if k.endswith("_zeros_held")]
    lines.append("- Pruned weights still exactly zero after timing: " + ", ".join(
        f"{k[:-len('_zeros_held')]} {'yes' if k3[k] else 'NO'}" for k in held) + ".")
    lines.append(f"- Load average (1/5/15 min) before: {k3['load'][0]}; after: {k3['load'][1]}. The machine is "
                 "shared with other work, so these timings are noisy; trust the ratios more than "
                 "the absolute figures, and rerun before drawing fine conclusions.")
    lines.append(f"- Reproduce: `.venv/bin/python -m bench.bench_retrain{' --quick' if quick else ''}"
                 f"{' --tried' if 'masked_xla' in k3 else ''}"
                 " --markdown BENCHMARKS.md` (CPU, TensorFlow "
                 f"{k3['tensorflow']}, Keras {k3['keras']}).")
    return lines


def update_markdown(path: Path, title: str, lines: list[str]) -> None:
    """Replace (or append) this benchmark's marked section; the rest of the file is kept."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"<!-- bench:{MARK} -->\n## {title}\n\n" + "\n".join(lines) + f"\n<!-- /bench:{MARK} -->"
    pattern = re.compile(rf"<!-- bench:{MARK} -->.*?<!-- /bench:{MARK} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else (
        text.rstrip("\n") + "\n\n" + block + "\n")
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_retrain", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny model, a few steps (smoke test)")
    ap.add_argument("--no-tfmot", action="store_true", help="skip the TF-MOT subprocess")
    ap.add_argument("--tried", action="store_true",
                    help="also time MaskedModel with XLA and with steps_per_execution=8")
    ap.add_argument("--markdown", type=Path, help="update this section of a Markdown file")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(Setup(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(args.serve).items()}))
        return 0
    s = Setup.quick() if args.quick else Setup()
    load0 = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    k3, tm = measure(s, tfmot=not args.no_tfmot, tried=args.tried)
    import keras
    import tensorflow as tf

    k3.update(load=[load0, " / ".join(f"{v:.2f}" for v in os.getloadavg())],
              tensorflow=tf.__version__, keras=keras.__version__)
    title = "5. Retraining throughput: masked step vs plain fit vs TF-MOT"
    lines = report(s, k3, tm, args.quick)
    lines.insert(0, f"_Ran at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
                 f"{' (--quick)' if args.quick else ''}._\n")
    print(f"## {title}\n\n" + "\n".join(lines), flush=True)
    if args.markdown:
        update_markdown(args.markdown, title, lines)
    if args.json:
        args.json.write_text(json.dumps({"setup": asdict(s), "keras3": k3, "tfmot": tm}, indent=2))
    return 0 if all(v for k, v in k3.items() if k.endswith("_zeros_held")) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Training-step throughput: masked retraining vs plain ``fit`` vs TF-MOT's prune_low_magnitude.

``python -m bench.bench_retrain [--quick] [--markdown BENCHMARKS.md] [--json FILE]``

Same layer stack (the demo model, random weights), same batch size, same random data.
Keras 3 side (one process): plain ``model.fit``; ``MaskedModel`` (gradients masked, mask
re-applied after each update) at 90% kernel sparsity; the same plus the per-batch hook that
gradual pruning uses. TF-MOT side (a subprocess with ``TF_USE_LEGACY_KERAS=1``, since TF-MOT
0.8.1 needs Keras 2 / ``tf_keras``): plain ``tf_keras`` fit and ``prune_low_magnitude`` with
``ConstantSparsity(0.9)`` + ``UpdatePruningStep``. Variants take turns epoch by epoch (after a warm-up epoch
each) so that load from other work hits them alike; ratios compare runs of the same process.
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
    epochs: int = 4  # timed epochs (+1 warm-up)
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


def _interleaved(fits: dict, s: Setup, keras_mod) -> dict:
    """Steps/s per variant, epochs taken in turns (A B C A B C ...) so load hits all alike.

    ``fits[name](callbacks)`` trains one epoch. Returns the median steps/s per variant and,
    per variant, the median of its per-round ratio to the first variant.
    """
    class EpochTimer(keras_mod.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.t

    for fit in fits.values():  # warm-up: tracing
        fit([])
    rates: dict[str, list[float]] = {name: [] for name in fits}
    for _ in range(s.epochs):
        for name, fit in fits.items():
            timer = EpochTimer()
            fit([timer])
            rates[name].append(s.steps / timer.seconds)
    first = next(iter(fits))
    out = {name: statistics.median(r) for name, r in rates.items()}
    out["paired_ratio"] = {name: statistics.median(a / b for a, b in zip(r, rates[first]))
                           for name, r in rates.items()}
    return out


def keras3_side(s: Setup) -> dict:
    """Plain fit, MaskedModel, MaskedModel + gradual hook (steps per second)."""
    import keras
    import numpy as np

    from pruning.masks import in_scope, keep_masks, magnitude_index
    from pruning.methods import Baseline
    from pruning.models import build_model
    from pruning.retrain import MaskedModel, _BatchHook

    x, y = _data(s)

    def fresh():
        keras.utils.set_random_seed(0)
        return build_model(s.shape, s.classes, s.width)

    plain = fresh()
    plain.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    fits = {"plain": lambda cb: plain.fit(x, y, batch_size=s.batch_size, epochs=1, shuffle=False,
                                          verbose=0, callbacks=cb)}
    wrappers = {}
    for name, hooked in (("masked", False), ("masked_gradual_hook", True)):
        net = fresh()
        kinds = Baseline.from_model(net).kinds
        wrapper = MaskedModel(net, in_scope(kinds, "kernels"))
        wrapper.set_masks(keep_masks(magnitude_index([v.numpy() for v in net.weights], kinds,
                                                     "kernels"), "global", s.sparsity))
        wrapper.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        extra = [_BatchHook(lambda step: None, lambda b, step, loss: None)] if hooked else []
        fits[name] = (lambda cb, w=wrapper, extra=extra: w.fit(
            x, y, batch_size=s.batch_size, epochs=1, shuffle=False, verbose=0, callbacks=cb + extra))
        wrappers[name] = (net, wrapper)
    out = _interleaved(fits, s, keras)
    for name, (net, wrapper) in wrappers.items():
        zeros = [np.all(v.numpy()[~m] == 0) for v, m in zip(net.weights, wrapper.masks()) if m is not None]
        out[f"{name}_zeros_held"] = bool(all(zeros))
    return out


def tfmot_side(s: Setup) -> dict:
    """Runs under TF_USE_LEGACY_KERAS=1: plain tf_keras fit and prune_low_magnitude."""
    import tensorflow as tf
    import tf_keras as keras

    try:
        import tensorflow_model_optimization as tfmot
    except ImportError as e:
        return {"error": f"tensorflow-model-optimization not installed ({e})"}
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
    out = _interleaved({
        "plain": lambda cb: plain.fit(x, y, batch_size=s.batch_size, epochs=1, shuffle=False,
                                      verbose=0, callbacks=cb),
        "prune_low_magnitude": lambda cb: pruned.fit(x, y, batch_size=s.batch_size, epochs=1,
                                                     shuffle=False, verbose=0, callbacks=cb + update),
    }, s, keras)
    out["tfmot_version"] = getattr(tfmot, "__version__", "?")
    return out


def run_tfmot(s: Setup, timeout: float = 600) -> dict:
    """``tfmot_side`` in a subprocess with Keras 2 (its own TensorFlow runtime)."""
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "bench.bench_retrain", "--worker", json.dumps(asdict(s))]
    try:
        p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"TF-MOT worker timed out after {timeout:.0f} s"}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"error": f"TF-MOT worker failed (exit {p.returncode}): {p.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def report(s: Setup, k3: dict, tm: dict, quick: bool) -> list[str]:
    """Markdown lines: steps/s per variant and the ratios."""
    lines = [f"- Model: the demo layer stack, input {s.shape}, {s.classes} classes, width "
             f"{s.width}; batch {s.batch_size}; {s.steps} steps per epoch; variants take turns "
             f"epoch by epoch, {s.epochs} timed epochs each after a warm-up epoch; steps/s are "
             "medians, ratios are medians of same-round ratios to the plain fit of the same "
             f"Keras; masks at {s.sparsity:.0%} of the kernels.",
             "",
             "| variant | steps/s | vs its plain fit |",
             "| --- | ---: | ---: |",
             f"| Keras 3 plain `fit` | {k3['plain']:.1f} | 1.00 |",
             f"| Keras 3 `MaskedModel` (mask grads + re-apply) | {k3['masked']:.1f} | "
             f"{k3['paired_ratio']['masked']:.2f} |",
             f"| Keras 3 `MaskedModel` + gradual per-batch hook | {k3['masked_gradual_hook']:.1f} | "
             f"{k3['paired_ratio']['masked_gradual_hook']:.2f} |"]
    if "error" in tm:
        lines.append(f"| TF-MOT | n/a | {tm['error']} |")
    else:
        lines += [f"| tf_keras (Keras 2) plain `fit` | {tm['plain']:.1f} | 1.00 |",
                  f"| TF-MOT {tm['tfmot_version']} `prune_low_magnitude` | "
                  f"{tm['prune_low_magnitude']:.1f} | {tm['paired_ratio']['prune_low_magnitude']:.2f} |",
                  "", f"- `MaskedModel` / TF-MOT steps per second: "
                  f"{k3['masked'] / tm['prune_low_magnitude']:.2f} (across processes run one "
                  "after the other, so noisier than the same-Keras ratios)"]
    lines.append(f"- Pruned weights still exactly zero after timing: masked "
                 f"{'yes' if k3['masked_zeros_held'] else 'NO'}, with hook "
                 f"{'yes' if k3['masked_gradual_hook_zeros_held'] else 'NO'}.")
    lines.append(f"- Load average (1/5/15 min) before: {k3['load'][0]}; after: {k3['load'][1]}. The machine is "
                 "shared with other work, so these timings are noisy; trust the ratios more than "
                 "the absolute figures, and rerun before drawing fine conclusions.")
    lines.append(f"- Reproduce: `.venv/bin/python -m bench.bench_retrain{' --quick' if quick else ''}"
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
    ap.add_argument("--markdown", type=Path, help="update this section of a Markdown file")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        s = Setup(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(args.worker).items()})
        print(json.dumps(tfmot_side(s)), flush=True)
        return 0
    s = Setup.quick() if args.quick else Setup()
    load0 = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    tm = {"error": "skipped (--no-tfmot)"} if args.no_tfmot else run_tfmot(s)
    k3 = keras3_side(s)
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
    return 0 if k3["masked_zeros_held"] and k3["masked_gradual_hook_zeros_held"] else 1


if __name__ == "__main__":
    sys.exit(main())

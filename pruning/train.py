"""Reproducible training of a dense (uncompressed) preset model; writes weights + sidecar."""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from .data import Dataset
from .evaluate import Evaluator
from .export import write_legacy_h5
from .inputs import ensure_fitted
from .models import build_preset


def train_dense(data: Dataset, preset: str = "fashion-mnist", epochs: int = 30,
                batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0,
                patience: int = 6, verbose: int = 2) -> tuple[keras.Model, dict]:
    """Train a preset from scratch with Adam; keep the best-val-accuracy epoch.

    Deterministic given ``seed`` (op determinism on). Returns the model and a summary dict.
    """
    if data.train is None:
        raise ValueError("training needs a train split")
    keras.utils.set_random_seed(seed)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    model = build_preset(preset)
    data = ensure_fitted(data, model)  # the bundled uint8 pixels -> 0..1 ('auto' scaling)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with tempfile.TemporaryDirectory() as d:
        best = str(Path(d) / "best.weights.h5")
        callbacks = [
            keras.callbacks.ModelCheckpoint(best, monitor="val_accuracy", save_best_only=True,
                                            save_weights_only=True),
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2,
                                              min_lr=1e-5),
        ]
        t0 = time.time()
        hist = model.fit(data.train.x, data.train.y, batch_size=batch_size, epochs=epochs,
                         validation_data=(data.val.x, data.val.y), callbacks=callbacks,
                         shuffle=True, verbose=verbose)
        model.load_weights(best)
    ev = Evaluator(model, data.val)
    summary = {
        "preset": preset,
        "epochs_run": len(hist.history["loss"]),
        "best_epoch": int(np.argmax(hist.history["val_accuracy"])) + 1,
        "val_accuracy": ev.evaluate().accuracy,
        "train_seconds": round(time.time() - t0, 1),
        "seed": seed, "batch_size": batch_size, "learning_rate": learning_rate,
        "keras_version": keras.__version__, "python": platform.python_version(),
    }
    if data.test is not None:
        summary["test_accuracy"] = Evaluator(model, data.test).evaluate().accuracy
    return model, summary


def save_trained(model: keras.Model, summary: dict, out: str | Path, command: str) -> Path:
    """Write legacy .h5 weights and a JSON sidecar (accuracies, epochs, command)."""
    out = Path(out)
    write_legacy_h5(model, out)
    sidecar = out.with_suffix(".json")
    sidecar.write_text(json.dumps({**summary, "command": command, "weights": out.name}, indent=2) + "\n")
    return sidecar

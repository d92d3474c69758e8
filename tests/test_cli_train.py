"""``python -m pruning train``: a short run of the dense preset, checked with plain Keras."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pruning.models import build_preset
from references import ONE_IMAGE, keras_accuracy


def test_train_writes_weights_whose_val_accuracy_the_sidecar_reports(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for part, n in (("train", 256), ("val", 64)):  # class k: a bright 7x7 square in cell k of a 4x3 grid
        y = rng.integers(0, 10, n)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(y):
            r, c = 7 * (k // 4), 7 * (k % 4)
            x[i, r:r + 7, c:c + 7] = 255
        arrays[f"x_{part}"], arrays[f"y_{part}"] = x, y
    np.savez(tmp_path / "data.npz", **arrays)
    out = tmp_path / "dense.h5"
    run = subprocess.run([sys.executable, "-m", "pruning", "train", "--data", str(tmp_path / "data.npz"),
                          "--epochs", "2", "--out", str(out), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    res = json.loads(run.stdout)
    sidecar = json.loads((tmp_path / "dense.json").read_text())
    assert res["sidecar"] == str(tmp_path / "dense.json") and sidecar["weights"] == "dense.h5"
    assert sidecar["command"] == f"python -m pruning train --data {tmp_path / 'data.npz'} --epochs 2 --out {out}"
    assert sidecar["epochs_run"] == 2
    model = build_preset("fashion-mnist")
    model.load_weights(out)
    x, y = arrays["x_val"][..., None].astype(np.float32) / 255, arrays["y_val"]
    ref = keras_accuracy(model, model.get_weights(), x, y)
    assert sidecar["val_accuracy"] == pytest.approx(ref, abs=ONE_IMAGE / 64 + 1e-12)

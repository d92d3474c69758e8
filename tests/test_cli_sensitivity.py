"""``python -m pruning sensitivity`` on a slice of the bundled demo model."""

import json

import numpy as np
import pytest
from cli_helpers import SLICE, run

from pruning.data import load_fashion_mnist
from pruning.models import load_model
from references import ONE_IMAGE, demo_pixels, keras_accuracy


def test_sensitivity_json_and_table(capsys):
    code, out, err = run(capsys, "sensitivity", "--sparsity", "90,0,50", "--layers", "dense,conv2d",
                         "--scope", "kernels", "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and res["scope"] == "kernels" and res["levels"] == [0.0, 0.5, 0.9]
    assert res["layers"] == ["conv2d", "dense"]  # model order, whatever order they were asked in
    assert [(r["layer"], r["target"]) for r in res["rows"]] == [
        (layer, t) for layer in ("conv2d", "dense") for t in (0.0, 0.5, 0.9)]
    by = {(r["layer"], r["target"]): r for r in res["rows"]}
    assert by["conv2d", 0.0]["accuracy"] == by["dense", 0.0]["accuracy"] == res["dense_accuracy"]
    # conv2d's kernel alone at 90 %, by NumPy and plain Keras: the rest of the model stays dense
    model = load_model()
    weights = model.get_weights()
    k = weights[0]
    weights[0] = np.where(np.abs(k) < np.percentile(np.abs(k), 90), 0, k).astype(k.dtype)
    val = load_fashion_mnist().val
    ref = keras_accuracy(model, weights, demo_pixels(val.x[:300]), val.y[:300])
    assert by["conv2d", 0.9]["accuracy"] == pytest.approx(ref, abs=ONE_IMAGE / 300 + 1e-12)
    kept = np.count_nonzero(weights[0]) / k.size
    assert by["conv2d", 0.9]["sparsity"] == pytest.approx(1 - kept, abs=1e-12)
    assert "sensitivity [" in err and "6/6" in err  # progress on stderr, ends at every row
    code, out, _ = run(capsys, "sensitivity", "--sparsity", "0,90", "--layers", "dense_1", "--json", *SLICE)
    rows = {r["target"]: r["accuracy"] for r in json.loads(out)["rows"]}
    code, text, _ = run(capsys, "sensitivity", "--sparsity", "0,90", "--layers", "dense_1", *SLICE)
    assert code == 0 and "with only that layer pruned" in text
    table = text.splitlines()
    assert table[1].split() == ["0%", "90%"]  # one column per level, in percent
    assert table[2].split() == ["dense_1", f"{100 * rows[0.0]:.2f}", f"{100 * rows[0.9]:.2f}"]

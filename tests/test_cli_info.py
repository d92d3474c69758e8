"""``python -m pruning info`` on a slice of the bundled demo model and Fashion-MNIST."""

import json

import pytest
from cli_helpers import SLICE, run

from pruning.data import load_fashion_mnist
from pruning.models import bundled_weights, load_model
from references import ONE_IMAGE, demo_pixels, keras_accuracy


def test_bundled_weights_and_sidecar_exist():
    path = bundled_weights()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert path.stat().st_size > 1_000_000
    assert sidecar["test_accuracy"] >= 0.92 and "command" in sidecar and sidecar["epochs_run"] >= 1


def test_info_json(capsys):
    code, out, _ = run(capsys, "info", "--json", *SLICE)
    info = json.loads(out)
    model = load_model()
    weights = model.get_weights()
    assert code == 0 and info["params"] == sum(a.size for a in weights) == 889_834
    assert info["preset"] == "fashion-mnist"  # the bundled weights went into that architecture
    assert info["arrays"] == len(weights) == 12
    assert info["val_size"] == 300 and info["test_size"] == 300
    data = load_fashion_mnist()
    for split in ("val", "test"):  # the dense accuracies by plain Keras on the same images
        ref = keras_accuracy(model, weights, demo_pixels(getattr(data, split).x[:300]),
                             getattr(data, split).y[:300])
        assert info[f"{split}_accuracy"] == pytest.approx(ref, abs=ONE_IMAGE / 300 + 1e-12)
    zeros = sum(a.size - int((a != 0).sum()) for a in weights) / info["params"]
    assert info["sparsity_all"] == pytest.approx(zeros, abs=1e-12)

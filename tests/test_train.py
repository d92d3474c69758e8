"""``pruning.train``: the sidecar and weights that ``save_trained`` writes; refusals.

The training run itself is exercised through ``python -m pruning train`` in a subprocess
(``test_cli_train.py``): ``train_dense`` switches TensorFlow to deterministic ops for the
whole process, which the other tests must not inherit.
"""

import json

import h5py
import numpy as np
import pytest

from pruning.data import Dataset, to_split
from pruning.train import save_trained, train_dense
from tiny_fixtures import make_tiny_arrays


def test_save_trained_writes_legacy_weights_and_a_sidecar(tmp_path, tiny_model):
    summary = {"preset": "tiny", "val_accuracy": 0.5, "epochs_run": 3}
    out = tmp_path / "dense.h5"
    sidecar = save_trained(tiny_model, summary, out, "python -m pruning train --out dense.h5")
    assert sidecar == tmp_path / "dense.json"
    meta = json.loads(sidecar.read_text())
    assert meta == {**summary, "command": "python -m pruning train --out dense.h5", "weights": "dense.h5"}
    with h5py.File(out) as f:  # the Keras 2 layout the seed's load_weights reads
        names = [n.decode() for n in f.attrs["layer_names"]]
        assert names == [layer.name for layer in tiny_model.layers]
        stored = [f[layer.name][w.decode()][()] for layer in tiny_model.layers
                  for w in f[layer.name].attrs["weight_names"]]
    for got, want in zip(stored, tiny_model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_train_dense_needs_a_train_split():
    x, y = make_tiny_arrays(20, 0)
    with pytest.raises(ValueError, match="train split"):
        train_dense(Dataset("val only", 3, val=to_split(x, y, "val", 3)), epochs=1)

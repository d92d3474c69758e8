"""``python -m pruning inspect``: counts read back against the file's arrays via h5py."""

import json

import h5py
import numpy as np
import pytest
from cli_helpers import run

from pruning.export import write_legacy_h5
from references import prune_layerwise


def test_inspect_counts_every_array_of_a_legacy_file(capsys, tmp_path, tiny_model):
    weights = tiny_model.get_weights()
    kinds = ["kernel" if a.ndim > 1 else "bias" for a in weights]
    tiny_model.set_weights(prune_layerwise(weights, kinds, 0.6))
    path = write_legacy_h5(tiny_model, tmp_path / "tiny-pruned.h5")
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    info = json.loads(out)
    ref = {}

    def keep(name, obj):  # returns None: visititems goes on through the whole file
        if isinstance(obj, h5py.Dataset):
            ref[name] = obj[()]

    with h5py.File(path) as f:  # the file itself, not through the tool's reader
        f.visititems(keep)
    assert code == 0 and len(info["arrays"]) == len(ref) == len(weights)
    counts = sorted((a["size"], a["zeros"], tuple(a["shape"])) for a in info["arrays"])
    assert counts == sorted((v.size, v.size - np.count_nonzero(v), v.shape) for v in ref.values())
    total = sum(v.size for v in ref.values())
    assert info["params"] == total
    zeros = sum(v.size - np.count_nonzero(v) for v in ref.values())
    assert info["sparsity_all"] == pytest.approx(zeros / total)


def test_inspect_with_a_preset_refuses_a_file_of_another_architecture(capsys, tiny_files):
    code, out, err = run(capsys, "inspect", str(tiny_files.start), "--preset", "fashion-mnist")
    assert code == 1 and out == "" and err.startswith("error: ")


def test_inspect_reads_a_keras_archive(capsys, tiny_files, tiny_model):
    code, out, _ = run(capsys, "inspect", str(tiny_files.keras), "--json")
    info = json.loads(out)
    assert code == 0 and info["params"] == sum(a.size for a in tiny_model.get_weights())

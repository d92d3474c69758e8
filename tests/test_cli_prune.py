"""``python -m pruning prune``: the written file holds NumPy's pruning of the dense weights."""

import json

import numpy as np
import pytest
from cli_helpers import SLICE, run

from pruning.models import build_preset, load_model
from references import prune_layerwise


def test_prune_writes_a_file_inspect_reads_back(capsys, tmp_path):
    out_file = tmp_path / "p.h5"
    code, out, _ = run(capsys, "prune", "--method", "layerwise", "--sparsity", "70",
                       "--scope", "kernels", "--out", str(out_file), "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and out_file.exists() and res["format"] == "h5"
    assert res["bytes"] == out_file.stat().st_size
    dense = load_model().get_weights()
    kinds = ["kernel" if a.ndim > 1 else "bias" for a in dense]
    want = prune_layerwise(dense, kinds, 0.7, "kernels")
    written = build_preset("fashion-mnist")
    written.load_weights(out_file)  # what the seed's model.load_weights reads
    for got, ref in zip(written.get_weights(), want, strict=True):
        np.testing.assert_array_equal(got, ref)
    kernels = [a for a, k in zip(want, kinds) if k == "kernel"]
    zeros = sum(a.size - np.count_nonzero(a) for a in kernels) / sum(a.size for a in kernels)
    assert res["sparsity_kernels"] == pytest.approx(zeros, abs=1e-12)
    code, out, _ = run(capsys, "inspect", str(out_file), "--json")
    info = json.loads(out)
    assert info["sparsity_kernels"] == pytest.approx(res["sparsity_kernels"])
    code, out, _ = run(capsys, "inspect", str(out_file), "--preset", "fashion-mnist", "--json")
    assert json.loads(out)["arrays"][0]["name"] == "conv2d/kernel"


def test_out_suffix_picks_the_format(capsys, tmp_path):
    for name, fmt in (("p.weights.h5", "weights.h5"), ("p.keras", "keras")):
        code, out, _ = run(capsys, "prune", "--method", "global", "--sparsity", "50",
                           "--out", str(tmp_path / name), "--json", "--val-limit", "50", "--test-limit", "10")
        assert code == 0 and json.loads(out)["format"] == fmt and (tmp_path / name).exists()

"""End-to-end CLI on a small slice of the bundled demo model and Fashion-MNIST."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pruning.cli import main
from pruning.models import bundled_weights

SLICE = ["--val-limit", "300", "--test-limit", "300"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bundled_weights_and_sidecar_exist():
    path = bundled_weights()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert path.stat().st_size > 1_000_000
    assert sidecar["test_accuracy"] >= 0.92 and "command" in sidecar and sidecar["epochs_run"] >= 1


def test_info_json(capsys):
    code, out, _ = run(capsys, "info", "--json", *SLICE)
    info = json.loads(out)
    assert code == 0 and info["params"] == 889_834 and info["arrays"] == 12
    assert info["val_size"] == 300 and 0.85 < info["val_accuracy"] <= 1.0
    assert info["sparsity_all"] < 0.01


def test_sweep_json_shape_and_frontier(capsys):
    code, out, err = run(capsys, "sweep", "--method", "global", "--sparsity", "0:90:30", "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and res["method"] == "global" and res["scope"] == "all"
    assert [p["target"] for p in res["points"]] == [0.0, 0.3, 0.6, 0.9]
    for p in res["points"]:
        assert set(p) == {"target", "sparsity", "sparsity_model", "accuracy", "loss", "score"}
        assert p["sparsity_model"] == pytest.approx(p["sparsity"])  # the demo has no other arrays
        assert 0 <= p["sparsity"] <= 1 and 0 <= p["accuracy"] <= 1
        assert abs(p["sparsity"] - p["target"]) < 0.01
    assert res["points"][0]["accuracy"] == res["baseline"]["accuracy"]
    assert res["best"] is not None and res["best"]["score"] == max(
        p["score"] for p in res["points"] if p["score"] is not None)
    assert res["frontier"] and all(f in res["points"] for f in res["frontier"])
    assert "sweep global" in err  # progress bar on stderr
    assert res["input_scale"] == "1/255" and res["input_scale_requested"] == "auto"
    assert res["output_kind"] == "softmax" and res["never_pruned"] == []


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
    assert by["conv2d", 0.9]["sparsity"] == pytest.approx(0.9, abs=0.01)
    assert by["conv2d", 0.9]["accuracy"] < res["dense_accuracy"]
    assert "sensitivity [" in err and "6/6" in err  # progress on stderr, ends at every row
    code, out, _ = run(capsys, "sensitivity", "--sparsity", "0,90", "--layers", "dense_1", *SLICE)
    assert code == 0 and "dense_1" in out and "90%" in out and "with only that layer pruned" in out


def test_prune_writes_a_file_inspect_reads_back(capsys, tmp_path):
    out_file = tmp_path / "p.h5"
    code, out, _ = run(capsys, "prune", "--method", "layerwise", "--sparsity", "70",
                       "--scope", "kernels", "--out", str(out_file), "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and out_file.exists() and res["format"] == "h5"
    assert res["sparsity"] == pytest.approx(0.7, abs=0.001)
    code, out, _ = run(capsys, "inspect", str(out_file), "--json")
    info = json.loads(out)
    assert info["sparsity_kernels"] == pytest.approx(res["sparsity_kernels"])
    kernels = [a for a in info["arrays"] if a["kind"] == "kernel"]
    assert all(a["sparsity"] == pytest.approx(0.7, abs=0.01) for a in kernels)
    assert all(a["sparsity"] < 0.5 for a in info["arrays"] if a["kind"] == "bias")
    code, out, _ = run(capsys, "inspect", str(out_file), "--preset", "fashion-mnist", "--json")
    assert json.loads(out)["arrays"][0]["name"] == "conv2d/kernel"


@pytest.mark.parametrize("argv, message", [
    (["prune", "--method", "global", "--sparsity", "50", "--out", "x.onnx"], "cannot tell the format"),
    (["prune", "--method", "global", "--sparsity", "50", "--out", "x.h5", "--format", "keras"], "needs a name ending in .keras"),
    (["sweep", "--method", "global", "--sparsity", "0:200:50"], "percent in 0..100"),
    (["inspect", "missing.h5"], "no such file"),
    (["sensitivity", "--layers", "conv9", "--val-limit", "50"], "unknown layer(s) ['conv9']; choose from"),
    (["info", "--model", "missing.h5"], "no such file"),
    (["info", "--data", "nowhere.npz"], "no such file"),
])
def test_bad_values_exit_1_with_a_message(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == "" and message in err and "Traceback" not in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "--method", "random"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["prune", "--method", "global", "--sparsity", "150", "--out", "x.h5"])
    assert e.value.code == 2


def test_python_m_pruning_entry_point(tmp_path):
    npz = tmp_path / "val.npz"
    from pruning.data import load_fashion_mnist
    val = load_fashion_mnist().val
    np.savez(npz, x_val=(val.x[:200] * 255).round().astype(np.uint8), y_val=val.y[:200])
    out = subprocess.run([sys.executable, "-m", "pruning", "sweep", "--method", "layerwise",
                          "--sparsity", "50", "--data", str(npz), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert len(res["points"]) == 1 and res["points"][0]["target"] == 0.5

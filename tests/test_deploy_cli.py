"""CLI: prune / sweep --method nm, retrain --method masked keeping the pattern, export, report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pruning.cli import main
from pruning.patterns import nm_violations

SLICE = ["--val-limit", "200", "--test-limit", "200"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def kernels(path):
    from pruning.models import load_model, weight_arrays

    return [w.array for w in weight_arrays(load_model(path)) if w.kind == "kernel"]


@pytest.fixture(scope="module")
def nm_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("nm") / "nm24.h5"
    assert main(["prune", "--method", "nm", "--pattern", "2:4", "--out", str(out), "--json", *SLICE]) == 0
    return out


def test_prune_nm_writes_an_exact_2_4_file(nm_file):
    ks = kernels(nm_file)
    assert all(nm_violations(k, 2, 4) == 0 for k in ks)
    assert any(nm_violations(k, 1, 4) > 0 for k in ks)  # not sparser than asked


def test_prune_nm_reports_the_pattern(capsys, tmp_path):
    code, out, _ = run(capsys, "prune", "--method", "nm", "--pattern", "4:8", "--out",
                       str(tmp_path / "p.h5"), "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and res["pattern"] == "4:8" and res["target"] == 0.5
    assert all(nm_violations(k, 4, 8) == 0 for k in kernels(tmp_path / "p.h5"))


def test_masked_retraining_keeps_the_pattern(capsys, nm_file, tmp_path):
    out = tmp_path / "re.h5"
    code, text, err = run(capsys, "retrain", "--method", "masked", "--from", str(nm_file), "--epochs", "1",
                          "--train-limit", "256", "--no-store", "--out", str(out), "--json", *SLICE)
    assert code == 0, err
    before, after = kernels(nm_file), kernels(out)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))  # it did train
    assert all(nm_violations(k, 2, 4) == 0 for k in after)


def test_sweep_nm_levels_are_patterns(capsys):
    code, out, _ = run(capsys, "sweep", "--method", "nm", "--scope", "kernels", "--no-store", "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and [p["target"] for p in res["points"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [p["pattern"] for p in res["points"]] == ["4:4", "3:4", "2:4", "1:4", "0:4"]


@pytest.mark.parametrize("argv,message", [
    (["prune", "--method", "nm", "--pattern", "2-4", "--out", "x.h5"], "write it as N:M"),
    (["prune", "--method", "nm", "--pattern", "2:4", "--sparsity", "60", "--out", "x.h5"], "the pattern sets"),
    (["prune", "--method", "block", "--out", "x.h5"], "needs --sparsity"),
    (["prune", "--method", "global", "--pattern", "2:4", "--sparsity", "50", "--out", "x.h5"], "only with --method nm"),
])
def test_bad_nm_requests_exit_1_with_a_message(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err


def test_export_measures_the_written_file(capsys, nm_file, tmp_path):
    from pruning.data import load_fashion_mnist
    from pruning.inputs import ensure_fitted
    from pruning.models import load_model
    from pruning.tflite import LiteRTModel

    out = tmp_path / "m.tflite"
    code, text, err = run(capsys, "export", str(nm_file), "--format", "tflite", "--out", str(out),
                          "--json", *SLICE)
    res = json.loads(text)
    assert code == 0, err
    assert res["bytes"] == out.stat().st_size
    val = ensure_fitted(load_fashion_mnist(), load_model()).val.head(200)  # pixels / 255, as 'auto'
    assert res["accuracy"] == LiteRTModel(path=out).evaluate(val).accuracy
    assert 0.5 < res["test_accuracy"] <= 1.0


@pytest.mark.parametrize("argv,message", [
    (["export", "nope.h5", "--format", "tflite", "--out", "x.tflite"], "no such file"),
    (["report", "nope.h5"], "no such file"),
])
def test_export_and_report_refuse_bad_requests(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err


def test_export_needs_a_tflite_name(capsys, nm_file):
    code, _, err = run(capsys, "export", str(nm_file), "--format", "tflite", "--out", "x.h5")
    assert code == 1 and ".tflite" in err


def test_report_json_has_the_contract_keys(capsys, nm_file):
    code, out, err = run(capsys, "report", str(nm_file), "--batches", "1", "--json")
    r = json.loads(out)
    assert code == 0, err
    for key in ("params", "nonzeros", "macs", "effective_macs", "sizes", "latency_ms",
                "dense_latency_ms", "speedup"):
        assert key in r
    assert r["effective_macs"] < r["macs"] and r["runs"] >= 20
    assert {"h5", "keras", "gzip", "tflite", "tflite-int8", "tflite-int8-full"} <= set(r["sizes"])
    assert r["speedup"]["keras"]["1"] == pytest.approx(
        r["dense_latency_ms"]["keras"]["1"] / r["latency_ms"]["keras"]["1"])

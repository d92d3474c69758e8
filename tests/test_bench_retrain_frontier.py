"""Smoke test of bench/bench_retrain_frontier.py on its tiny configuration (our side only)."""

import json

import pytest

from bench import bench_retrain_frontier as B
from pruning.data import load_fashion_mnist
from pruning.frontier import challenge_score
from pruning.models import load_model
from references import ONE_IMAGE, demo_pixels, keras_accuracy


def test_quick_run_reports_every_method_and_level(tmp_path, capsys):
    md, js = tmp_path / "BENCHMARKS.md", tmp_path / "rows.json"
    md.write_text("# Benchmarks\n\nkeep me\n")
    assert B.main(["--quick", "--no-tfmot", "--markdown", str(md), "--json", str(js)]) == 0
    out = json.loads(js.read_text())
    rows, dense = out["rows"], out["dense"]
    assert {(r["method"], r["target"]) for r in rows} == {
        (m, t) for m in ("masked", "gradual") for t in (0.5, 0.9)}
    for r in rows:  # each retrained model really holds its target (kernel scope)
        assert abs(r["sparsity_kernels"] - r["target"]) < 1e-3
        correct = r["test_accuracy"] * dense["n_test"]  # a count of test images, not any number
        assert abs(correct - round(correct)) < 1e-6
        assert r["score"] == pytest.approx(challenge_score(r["sparsity_all"], r["val_accuracy"]), nan_ok=True)
    # the dense figures every ratio is taken against, by plain Keras on the same images
    data = load_fashion_mnist()
    model = load_model()
    assert dense["n_test"] == 200 and dense["n_val"] == 200
    assert dense["test"] == pytest.approx(keras_accuracy(model, model.get_weights(), demo_pixels(data.test.x[:200]),
                                                         data.test.y[:200]), abs=ONE_IMAGE / 200 + 1e-12)
    text = md.read_text()
    assert "keep me" in text and text.count("<!-- bench:retrain-frontier -->") == 1
    assert "TF-MOT: not run (skipped (--no-tfmot))" in text
    assert "Retraining quality" in capsys.readouterr().out


def test_schedule_ends_on_a_pruning_step():
    s = B._schedule(10_000, 2, 128)
    assert s["end_step"] % s["frequency"] == 0 and s["end_step"] <= s["total_steps"]

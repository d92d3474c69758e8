"""Smoke test of bench/bench_retrain_frontier.py on its tiny configuration (our side only)."""

import json

from bench import bench_retrain_frontier as B


def test_quick_run_reports_every_method_and_level(tmp_path, capsys):
    md, js = tmp_path / "BENCHMARKS.md", tmp_path / "rows.json"
    md.write_text("# Benchmarks\n\nkeep me\n")
    assert B.main(["--quick", "--no-tfmot", "--markdown", str(md), "--json", str(js)]) == 0
    rows = json.loads(js.read_text())["rows"]
    assert {(r["method"], r["target"]) for r in rows} == {
        (m, t) for m in ("masked", "gradual") for t in (0.5, 0.9)}
    for r in rows:  # each retrained model really holds its target (kernel scope)
        assert abs(r["sparsity_kernels"] - r["target"]) < 1e-3 and 0 <= r["test_accuracy"] <= 1
    text = md.read_text()
    assert "keep me" in text and text.count("<!-- bench:retrain-frontier -->") == 1
    assert "TF-MOT: not run (skipped (--no-tfmot))" in text
    assert "Retraining quality" in capsys.readouterr().out


def test_schedule_ends_on_a_pruning_step():
    s = B._schedule(10_000, 2, 128)
    assert s["end_step"] % s["frequency"] == 0 and s["end_step"] <= s["total_steps"]

"""Smoke test of bench/bench_structured.py on its tiny configuration (demo part only)."""

import json

from bench import bench_structured as B


def test_quick_run_writes_its_section_and_figures(tmp_path):
    md, js = tmp_path / "BENCHMARKS.md", tmp_path / "fig.json"
    md.write_text("# Benchmarks\n\nkeep me\n")
    assert B.main(["--quick", "--no-zoo", "--markdown", str(md), "--json", str(js)]) == 0
    fig = json.loads(js.read_text())
    row = fig["demo"][0]
    assert abs(row["params"] * row["param_ratio"] - fig["dense"]["params"]) < 1e-6 and row["remove"] == 0.5
    for b in ("1", "256"):  # both models timed in the same rounds, the ratio is theirs
        lat = row["latency"]["keras"][b]
        assert abs(lat["speedup"] - lat["dense_ms"] / lat["ms"]) < 1e-9
    text = md.read_text()
    assert "keep me" in text and text.count("<!-- bench:structured -->") == 1
    assert "python -m bench.bench_structured --quick --no-zoo" in text


def test_latency_floor_times_both_models_in_one_run(tmp_path):
    from bench import bench_latency_floor as F

    js = tmp_path / "floor.json"
    assert F.main(["--runs", "3", "--json", str(js)]) == 0
    r = json.loads(js.read_text())
    assert set(r["runtimes"]) == {"keras", "litert", "litert-1t"} and r["runs"] == 3
    for v in r["runtimes"].values():
        assert v["dense_ms"] > 0 and v["floor_ms"] > 0
        assert abs(v["max_speedup"] - v["dense_ms"] / v["floor_ms"]) < 1e-9

"""Smoke test of bench/bench_retrain.py on its tiny configuration (Keras 3 side only)."""

import json

from bench import bench_retrain


def test_bench_retrain_quick_writes_its_section_and_keeps_the_rest(tmp_path, capsys):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\n<!-- bench:sweep -->\n## Sweep\nkeep me\n<!-- /bench:sweep -->\n")
    out = tmp_path / "fig.json"
    code = bench_retrain.main(["--quick", "--no-tfmot", "--markdown", str(md), "--json", str(out)])
    assert code == 0
    figs = json.loads(out.read_text())
    k3 = figs["keras3"]
    assert k3["plain"] > 0 and k3["masked"] > 0 and k3["masked_gradual_hook"] > 0
    assert k3["masked_zeros_held"] and k3["masked_gradual_hook_zeros_held"]
    assert figs["tfmot"] == {"error": "skipped (--no-tfmot)"}
    text = md.read_text()
    assert "keep me" in text and text.count("<!-- bench:retrain -->") == 1
    assert "MaskedModel" in text and "noisy" in text and "bench.bench_retrain --quick" in text
    # a second run replaces the section instead of appending another
    bench_retrain.update_markdown(md, "T", ["x"])
    assert md.read_text().count("<!-- bench:retrain -->") == 1 and "keep me" in md.read_text()
    assert "Retraining throughput" in capsys.readouterr().out


def test_bench_report_shows_tfmot_ratios():
    s = bench_retrain.Setup.quick()
    k3 = {"plain": 100.0, "masked": 80.0, "masked_gradual_hook": 75.0, "masked_zeros_held": True,
          "paired_ratio": {"plain": 1.0, "masked": 0.8, "masked_gradual_hook": 0.75},
          "masked_gradual_hook_zeros_held": True, "load": ["1", "1"], "tensorflow": "t", "keras": "k"}
    tm = {"plain": 200.0, "prune_low_magnitude": 50.0, "tfmot_version": "0.8.1",
          "paired_ratio": {"plain": 1.0, "prune_low_magnitude": 0.25}}
    text = "\n".join(bench_retrain.report(s, k3, tm, quick=True))
    assert "| 0.80 |" in text and "| 0.25 |" in text and "TF-MOT steps per second: 1.60" in text

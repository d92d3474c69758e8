"""Smoke test of bench/bench_retrain.py on its tiny configuration (Keras 3 side only)."""

import json

from bench import bench_retrain


def test_bench_retrain_quick_writes_its_section_and_keeps_the_rest(tmp_path, capsys):
    md = tmp_path / "BENCHMARKS.md"
    md.write_text("# Benchmarks\n\n<!-- bench:sweep -->\n## Sweep\nkeep me\n<!-- /bench:sweep -->\n")
    out = tmp_path / "fig.json"
    code = bench_retrain.main(["--quick", "--no-tfmot", "--tried", "--markdown", str(md), "--json", str(out)])
    assert code == 0
    figs = json.loads(out.read_text())
    k3 = figs["keras3"]
    assert k3["plain"] > 0 and k3["masked"] > 0 and k3["masked_gradual_hook"] > 0
    assert k3["masked_zeros_held"] and k3["masked_gradual_hook_zeros_held"]
    assert k3["masked_1step"] > 0 and k3["masked_xla"] > 0  # --tried adds XLA
    assert k3["masked_xla_zeros_held"] and k3["masked_1step_zeros_held"] and k3["steps_per_execution"] == 8
    assert isinstance(k3["masked_xla_in_effect"], bool)  # said in the table when Keras dropped XLA
    assert figs["tfmot"] == {"error": "skipped (--no-tfmot)"}
    text = md.read_text()
    assert "keep me" in text and text.count("<!-- bench:retrain -->") == 1
    assert "MaskedModel" in text and "noisy" in text and "bench.bench_retrain --quick --tried" in text
    assert "XLA (`jit_compile=True`), tried" in text
    # a second run replaces the section instead of appending another
    bench_retrain.update_markdown(md, "T", ["x"])
    assert md.read_text().count("<!-- bench:retrain -->") == 1 and "keep me" in md.read_text()
    assert "Retraining throughput" in capsys.readouterr().out


KERAS3 = {"plain": 100.0, "masked": 80.0, "masked_gradual_hook": 75.0, "masked_zeros_held": True,
          "steps_per_execution": 8, "paired_ratio": {"plain": 1.0, "masked": 0.8, "masked_gradual_hook": 0.75},
          "masked_gradual_hook_zeros_held": True, "load": ["1", "1"], "tensorflow": "t", "keras": "k"}


def test_bench_report_shows_tfmot_ratios():
    s = bench_retrain.Setup.quick()
    k3 = KERAS3
    tm = {"plain": 200.0, "prune_low_magnitude": 50.0, "tfmot_version": "0.8.1",
          "paired_ratio": {"plain": 1.0, "prune_low_magnitude": 0.25}}
    text = "\n".join(bench_retrain.report(s, k3, tm, quick=True))
    assert "| 0.80 |" in text and "| 0.25 |" in text and "TF-MOT steps per second: 1.60" in text


def test_rounds_take_turns_in_reversing_order_and_ratios_are_paired():
    s = bench_retrain.Setup(steps=10, epochs=4)
    calls = []
    seconds = {"a": iter([1.0, 2.0, 1.0, 2.0]), "b": iter([2.0, 4.0, 2.0, 4.0])}

    def epoch(name):
        calls.append(name)
        return next(seconds[name])

    rates = bench_retrain._rounds({"a": lambda: epoch("a"), "b": lambda: epoch("b")}, s)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert rates == {"a": [10.0, 5.0, 10.0, 5.0], "b": [5.0, 2.5, 5.0, 2.5]}
    summary = bench_retrain._summary(rates, "a")
    # every round b is half as fast as a, although their medians (7.5 vs 3.75) pool slow and fast rounds
    assert summary["paired_ratio"] == {"a": 1.0, "b": 0.5}
    assert summary["a"] == 7.5 and summary["b"] == 3.75


def test_bench_report_prefers_the_paired_cross_process_ratio():
    s = bench_retrain.Setup.quick()
    k3 = KERAS3
    tm = {"plain": 90.0, "prune_low_magnitude": 70.0, "tfmot_version": "0.8.1",
          "paired_ratio": {"plain": 1.0, "prune_low_magnitude": 0.78},
          "paired_vs_keras3": {"masked_per_prune_low_magnitude": 1.07, "plain_per_tf_keras_plain": 1.12,
                               "masked_1step_per_prune_low_magnitude": 1.01}}
    text = "\n".join(bench_retrain.report(s, k3, tm, quick=True))
    assert ("`prune_low_magnitude` steps per second: 1.07 (median of same-round ratios; ratio of the "
            "medians 1.14); at 1 step per execution, as TF-MOT's per-batch `UpdatePruningStep` "
            "needs: 1.01") in text
    assert "Keras 3 plain / tf_keras plain steps per second: 1.12" in text

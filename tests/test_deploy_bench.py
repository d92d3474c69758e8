"""The deployment benchmark's verdicts follow its figures (met / NOT met, gzip said apart)."""

from __future__ import annotations

import argparse

from bench.bench_deploy import report

DENSE_H5 = 3_600_000


def figures(test_by_file: dict[str, tuple[int, float]]) -> dict:
    rows = [{"file": "dense .h5", "bytes": DENSE_H5, "ratio": 1.0, "val": 0.94, "test": 0.935, "how": "Keras"}]
    rows += [{"file": f, "bytes": b, "ratio": DENSE_H5 / b, "val": t, "test": t, "how": "LiteRT"}
             for f, (b, t) in test_by_file.items()]
    lat = {"keras": {"1": 1.0, "256": 100.0}}
    rep = {"runs": 20, "warmup": 3, "threads": {"litert": 2}, "litert_delegate": {"model": "XNNPack"},
           "params": 10, "nonzeros": 2, "dense_params": 10, "effective_macs": 5, "dense_macs": 20,
           "latency_ms": lat, "dense_latency_ms": lat, "speedup": {"keras": {"1": 1.0, "256": 1.0}}}
    return {"report": rep, "rows": rows, "sparsity_kernels": 0.9, "sparsity_all": 0.9, "epochs": 3,
            "train": 100, "retrain_seconds": 1.0, "dense_val": 0.94, "dense_test": 0.935}


ARGS = argparse.Namespace(sparsity=90.0, epochs=3, train=100, nm_epochs=1, nm_train=100, runs=20,
                          quick=False, no_nm=True)


def test_met_without_compression_only_when_the_plain_file_is_10x_and_within_a_point():
    text = "\n".join(report(figures({"pruned tflite-int8 (sparse format)": (300_000, 0.93),
                                     "pruned tflite-int8 (dense format) + gzip": (170_000, 0.93)}), [], ARGS))
    assert "Without compression: **pruned tflite-int8 (sparse format)** is 12.0x smaller" in text
    assert "-> met." in text and "gzip -9 on the file: **pruned tflite-int8 (dense format) + gzip** is 21.2x" in text


def test_not_met_when_too_far_below_dense_or_too_big():
    text = "\n".join(report(figures({"pruned tflite-int8 (sparse format)": (300_000, 0.92)}), [], ARGS))
    assert "NOT met: no int8 file is within 1.0 point" in text
    text = "\n".join(report(figures({"pruned tflite-int8 (sparse format)": (420_000, 0.934)}), [], ARGS))
    assert "8.6x smaller (93.40 % test) -> NOT met." in text

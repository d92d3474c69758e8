"""Sweeps, the workbench and the one compiled forward function."""

import numpy as np
import pytest

from pruning.evaluate import Evaluator, score_probabilities
from pruning.rows import COLUMNS


def test_sweep_rows_match_single_points(tiny_workbench):
    wb = tiny_workbench
    grid = [0.0, 0.3, 0.6, 0.9]
    calls = []
    df = wb.sweep("layerwise", grid, scope="kernels", progress=lambda i, n, row: calls.append((i, n)))
    assert list(df.columns) == COLUMNS and len(df) == 4 and calls[-1] == (4, 4)
    assert (df["method"] == "layerwise").all() and (df["scope"] == "kernels").all()
    for row in df.itertuples():
        p = wb.point("layerwise", row.target, "kernels", with_test=False)
        assert p.val.accuracy == row.accuracy and p.pruned.sparsity == row.sparsity
        assert row.sparsity == pytest.approx(row.target, abs=0.02)
    assert df["accuracy"].iloc[0] == wb.dense()["val"].accuracy


def test_sweep_evaluates_like_keras_evaluate(tiny_workbench):
    wb = tiny_workbench
    wb.model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    pruned = wb.prune("global", 0.93)  # damaged enough that the loss is far from zero
    ours = wb.evaluate(pruned, with_test=False).val
    loss, acc = wb.model.evaluate(wb.data.val.x, wb.data.val.y, verbose=0, batch_size=1000)
    assert ours.accuracy == pytest.approx(acc, abs=1e-6) and ours.loss > 0.01
    assert ours.loss == pytest.approx(loss - sum(float(l) for l in wb.model.losses), rel=1e-3, abs=1e-6)


def test_forward_function_is_traced_once(tiny_workbench):
    wb = tiny_workbench
    for s in (0.1, 0.5, 0.9):
        wb.point("global", s)
    assert wb.val._forward.experimental_get_tracing_count() == 1


def test_test_split_is_reported_not_used(tiny_workbench):
    wb = tiny_workbench
    p = wb.point("global", 0.5)
    assert p.test is not None and p.test.n == len(wb.data.test)
    assert wb.sweep("global", [0.5], with_test=True)["test_accuracy"].iloc[0] == p.test.accuracy


def test_score_probabilities():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    s = score_probabilities(p, np.array([0, 1, 1]))
    assert s.accuracy == pytest.approx(2 / 3)
    assert s.loss == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4])))


def test_workbench_refuses_mismatched_data(tiny_model):
    from pruning.data import Dataset, to_split
    from pruning.models import ModelError
    from pruning.workbench import Workbench

    wrong = Dataset("w", 3, val=to_split(np.zeros((4, 28, 28, 1)), np.zeros(4, int), "val"))
    with pytest.raises(ModelError, match=r"shape \(12, 12, 1\).*\(28, 28, 1\)"):
        Workbench(tiny_model, wrong)
    many = Dataset("m", 7, val=to_split(np.zeros((4, 12, 12, 1)), np.arange(4) + 3, "val"))
    with pytest.raises(ModelError, match="predicts 3 classes"):
        Workbench(tiny_model, many)


def test_evaluator_with_limit_uses_first_samples(tiny_model, tiny_data):
    ev = Evaluator(tiny_model, tiny_data.val.head(50), batch_size=16)
    assert ev.evaluate().n == 50 and len(ev._x) == 4

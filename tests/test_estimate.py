"""Subset estimates for the live slider: stratified draws and Wilson intervals."""

import numpy as np
import pytest

from pruning.estimate import estimate_accuracy, stratified_indices, subset_evaluator, wilson_interval
from references import ONE_IMAGE, keras_accuracy, prune_layerwise, wilson


def test_stratified_indices_keep_class_shares_and_are_seeded():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    idx = stratified_indices(y, 100, seed=3)
    assert len(idx) == len(set(idx)) == 100 and np.all(np.diff(idx) > 0)
    assert np.bincount(y[idx]).tolist() == [50, 30, 20]
    np.testing.assert_array_equal(idx, stratified_indices(y, 100, seed=3))
    assert not np.array_equal(idx, stratified_indices(y, 100, seed=4))
    assert len(stratified_indices(y, 5000)) == 1000  # capped at the population
    with pytest.raises(ValueError, match="at least 1"):
        stratified_indices(y, 0)


def test_wilson_interval_reference_values():
    # Wilson 95 % for 81/100 worked by hand: centre 0.79854, half-width 0.07633
    low, high = wilson_interval(81, 100)
    assert low == pytest.approx(0.72219, abs=1e-4) and high == pytest.approx(0.87488, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    # finite population: narrower, and a point when the sample is the population
    narrow = wilson_interval(81, 100, population=200)
    assert narrow[0] > low and narrow[1] < high
    assert wilson_interval(81, 100, population=100) == (0.81, 0.81)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=1.5)


@pytest.mark.parametrize("sparsity", [0.5, 0.97])
def test_interval_contains_the_exact_value(tiny_workbench, sparsity):
    wb = tiny_workbench
    est = estimate_accuracy(wb, "layerwise", sparsity, n=60, seed=0)
    exact = wb.point("layerwise", sparsity, with_test=False).val.accuracy
    assert est.n == 60 and est.population == 200 and not est.exact
    # the same 60 images through plain Keras, and the interval from the Wilson formula
    idx = stratified_indices(wb.val.split.y, 60, seed=0)
    x, y = wb.val.split.x[idx], wb.val.split.y[idx]
    pruned = prune_layerwise(wb.baseline.arrays, wb.baseline.kinds, sparsity)
    subset = keras_accuracy(wb.model, pruned, x, y)
    assert est.accuracy == pytest.approx(subset, abs=ONE_IMAGE / 60 + 1e-12)
    correct = round(60 * est.accuracy)
    assert (est.low, est.high) == pytest.approx(wilson(correct, 60, population=200), abs=1e-12)
    assert exact in est


def test_subset_of_everything_is_exact_and_evaluators_are_cached(tiny_workbench):
    wb = tiny_workbench
    est = estimate_accuracy(wb, "global", 0.9, n=10_000)
    assert est.exact and est.low == est.high == est.accuracy
    assert est.accuracy == wb.point("global", 0.9, with_test=False).val.accuracy
    assert subset_evaluator(wb, 50) is subset_evaluator(wb, 50)
    assert subset_evaluator(wb, 50) is not subset_evaluator(wb, 50, seed=1)

"""Per-layer sensitivity: the split-model fast path gives exactly the naive numbers."""

import numpy as np
import pandas as pd
import pytest

from pruning.sensitivity import COLUMNS, layer_sensitivity, layer_sensitivity_naive, prunable_layers

LEVELS = [0.0, 0.3, 0.6, 0.9, 0.99, 1.0]


@pytest.mark.parametrize("scope", ["all", "kernels"])
def test_fast_equals_naive_exactly(tiny_workbench, scope):
    fast = layer_sensitivity(tiny_workbench, LEVELS, scope)
    naive = layer_sensitivity_naive(tiny_workbench, LEVELS, scope)
    assert list(fast.columns) == COLUMNS
    assert len(fast) == 6 * len(LEVELS)  # 4 convs + 2 dense layers
    # same batches through the same ops, only split in two: bit-identical, no tolerance
    pd.testing.assert_frame_equal(fast, naive, check_exact=True)
    assert fast["accuracy"].max() - fast["accuracy"].min() > 0.3  # a wiped layer really hurts


@pytest.mark.parametrize("cache_bytes", [0, 40_000])
def test_every_cut_point_gives_the_same_rows(tiny_workbench, cache_bytes):
    # 0 bytes: no prefix cached (cut at the input); 40 kB: only the small late activations fit
    ref = layer_sensitivity(tiny_workbench, [0.5, 0.95])
    other = layer_sensitivity(tiny_workbench, [0.5, 0.95], cache_bytes=cache_bytes)
    pd.testing.assert_frame_equal(ref, other, check_exact=True)


def test_row_matches_an_independent_np_percentile_reference(tiny_workbench):
    wb = tiny_workbench
    df = layer_sensitivity(wb, [0.7], layers=["dense"])
    arrays = list(wb.baseline.arrays)
    for i, name in enumerate(wb.baseline.names):
        if name.startswith("dense/"):
            t = np.percentile(np.abs(arrays[i]), 70)
            arrays[i] = np.where(np.abs(arrays[i]) < t, 0, arrays[i])
    want = wb.val.evaluate(arrays)
    assert df["accuracy"].iloc[0] == want.accuracy
    assert df["loss"].iloc[0] == want.loss
    pruned = [a for a, n in zip(arrays, wb.baseline.names) if n.startswith("dense/")]
    zeros = sum(a.size - np.count_nonzero(a) for a in pruned)
    assert df["sparsity"].iloc[0] == zeros / sum(a.size for a in pruned)


def test_level_zero_is_the_dense_model_and_model_is_left_dense(tiny_workbench):
    wb = tiny_workbench
    dense = wb.dense()["val"]
    df = layer_sensitivity(wb, [0.0, 0.99])
    assert (df[df.target == 0.0]["accuracy"] == dense.accuracy).all()
    for v, a in zip(wb.model.weights, wb.baseline.arrays):
        np.testing.assert_array_equal(v.numpy(), a)


def test_kernels_scope_leaves_biases_and_progress_reports_every_row(tiny_workbench):
    seen = []
    df = layer_sensitivity(tiny_workbench, [0.5, 1.0], "kernels",
                           progress=lambda done, total, row: seen.append((done, total, row["layer"])))
    assert [d for d, _, _ in seen] == list(range(1, len(df) + 1))
    assert all(t == len(df) for _, t, _ in seen)
    assert (df[df.target == 1.0]["sparsity"] == 1.0).all()
    names = [la.name for la in prunable_layers(tiny_workbench, "kernels")]
    assert list(dict.fromkeys(df["layer"])) == names


def test_bad_arguments_are_refused(tiny_workbench):
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\].*did you mean 0.5"):
        layer_sensitivity(tiny_workbench, [50])
    with pytest.raises(ValueError, match="unknown layer"):
        layer_sensitivity(tiny_workbench, [0.5], layers=["nope"])
    with pytest.raises(ValueError, match="unknown scope"):
        layer_sensitivity(tiny_workbench, [0.5], scope="biases")


@pytest.mark.parametrize("naive", [False, True])
def test_tick_moves_between_rows_and_ends_at_one(tiny_model, tiny_data, naive):
    from pruning.workbench import Workbench

    wb = Workbench(tiny_model, tiny_data, batch_size=64)  # 200 val images: 4 batches
    ticks, rows = [], []
    run = layer_sensitivity_naive if naive else layer_sensitivity
    df = run(wb, [0.5, 0.9], "all", lambda d, t, row: rows.append(len(ticks)),
             tick=lambda done, layer: ticks.append((done, layer)))
    fractions = [d for d, _ in ticks]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert [layer for _, layer in ticks][0] == df["layer"].iloc[0]
    assert set(layer for _, layer in ticks) == set(df["layer"])
    if not naive:  # the bar moves with every batch, before the layer's rows finish together
        assert rows[0] == 4 and len(ticks) == 4 * df["layer"].nunique()

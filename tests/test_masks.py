"""Mask maths on hand-made arrays, checked against a plain np.percentile reference
(``tests/references.py``)."""

import numpy as np
import pytest

from pruning.masks import (apply_masks, array_sparsity, check_sparsity, keep_masks,
                           magnitude_index, percentile_sorted, prune_arrays, total_sparsity)
from pruning.oneshot import Baseline, OneShotPruner
from references import prune_global, prune_layerwise

KINDS = ["kernel", "bias", "kernel", "bias"]


def random_arrays(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(np.float32) for s in [(3, 3, 1, 4), (4,), (36, 5), (5,)]]


@pytest.mark.parametrize("scope", ["all", "kernels"])
@pytest.mark.parametrize("s", [0.0, 0.05, 0.333, 0.5, 0.87, 0.95, 0.999])
def test_global_and_layerwise_match_percentile_reference(scope, s):
    arrays = random_arrays(1)
    got_g = prune_arrays(arrays, KINDS, "global", s, scope)
    got_l = prune_arrays(arrays, KINDS, "layerwise", s, scope)
    for g, r in zip(got_g, prune_global(arrays, KINDS, s, scope)):
        np.testing.assert_array_equal(g, r)
    for g, r in zip(got_l, prune_layerwise(arrays, KINDS, s, scope)):
        np.testing.assert_array_equal(g, r)


def test_percentile_from_sorted_equals_numpy_on_ties_and_dtypes():
    rng = np.random.default_rng(0)
    for i in range(3000):
        n = int(rng.integers(1, 200))
        a = np.abs(rng.normal(size=n)).astype(np.float32 if i % 2 else np.float64)
        if i % 3 == 0:
            a = np.round(a, 1)  # many ties
        s = float(rng.choice([rng.random(), round(rng.random(), 2), 0.0, 1.0]))
        ref = np.percentile(a, 100 * s)
        got = percentile_sorted(np.sort(a), s)
        assert got == ref and got.dtype == ref.dtype


def test_ties_make_achieved_differ_from_target():
    arrays = [np.array([1, 1, 1, 1, 2], np.float32)]
    # The 50th percentile is 1 and nothing is strictly below it: the seed's rule prunes nothing.
    out = prune_arrays(arrays, ["kernel"], "global", 0.5)
    assert total_sparsity(out, ["kernel"]) == 0.0
    out = prune_arrays(arrays, ["kernel"], "global", 0.9)  # threshold 1.6: all four 1s go
    assert total_sparsity(out, ["kernel"]) == pytest.approx(0.8)


def test_zero_and_full_sparsity():
    arrays = random_arrays(2)
    same = prune_arrays(arrays, KINDS, "global", 0.0)
    for a, b in zip(arrays, same):
        np.testing.assert_array_equal(a, b)
    for method in ("global", "layerwise"):
        gone = prune_arrays(arrays, KINDS, method, 1.0)
        assert all(np.count_nonzero(a) == 0 for a in gone)
        kept_bias = prune_arrays(arrays, KINDS, method, 1.0, scope="kernels")
        np.testing.assert_array_equal(kept_bias[1], arrays[1])
        assert np.count_nonzero(kept_bias[0]) == 0


def test_one_weight_survives_at_99_99_percent():
    # float64: in float32 the interpolated threshold 9999.0001 rounds down to 9999.0 and
    # two weights survive, exactly as np.percentile on float32 weights would decide.
    a = np.random.default_rng(3).permutation(np.arange(1, 10_001, dtype=np.float64)).reshape(100, 100)
    out = prune_arrays([a], ["kernel"], "global", 0.9999)
    assert np.count_nonzero(out[0]) == 1 and out[0].max() == 10_000


def test_scope_kernels_never_touches_biases_and_counts_kernels_only():
    arrays = random_arrays(4)
    out = prune_arrays(arrays, KINDS, "global", 0.6, scope="kernels")
    assert out[1] is arrays[1] and out[3] is arrays[3]
    kern = total_sparsity(out, KINDS, "kernels")
    assert kern == pytest.approx(0.6, abs=0.02)
    assert total_sparsity(out, KINDS, "all") < kern  # biases dilute the all-parameter figure


def test_layerwise_small_bias_loses_entries_like_the_seed_says():
    # A 5-entry output bias at 60%: 3 of 5 entries are zeroed by the layer-wise method.
    bias = np.array([0.5, -0.1, 0.3, 0.05, -0.9], np.float32)
    out = prune_arrays([np.ones((10, 5), np.float32) * 2, bias], ["kernel", "bias"], "layerwise", 0.6)
    assert np.count_nonzero(out[1] == 0) == 3


def test_inputs_are_never_modified():
    arrays = random_arrays(5)
    for a in arrays:
        a.setflags(write=False)
    before = [a.copy() for a in arrays]
    prune_arrays(arrays, KINDS, "layerwise", 0.7)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


def test_masks_are_boolean_and_shaped_like_weights():
    arrays = random_arrays(6)
    masks = keep_masks(magnitude_index(arrays, KINDS, "kernels"), "global", 0.5)
    assert masks[1] is None and masks[3] is None
    for a, m in zip(arrays, masks):
        if m is not None:
            assert m.dtype == bool and m.shape == a.shape
    out = apply_masks(arrays, masks)
    assert all(np.all(o[~m] == 0) for o, m in zip(out, masks) if m is not None)


def test_pruner_sorts_once_per_scope():
    arrays = random_arrays(7)
    pruner = OneShotPruner(Baseline(tuple(f"a{i}" for i in range(4)), tuple(KINDS), tuple(arrays)))
    first = pruner.index("all")
    for s in (0.1, 0.5, 0.9):
        pruner.prune("global", s)
        pruner.prune("layerwise", s)
    assert pruner.index("all") is first
    p = pruner.prune("global", 0.5, "kernels")
    assert p.sparsity == pytest.approx(p.sparsity_kernels)
    assert [r.zeros for r in p.per_array] == [int(np.sum(a == 0)) for a in p.arrays]


def test_pruners_of_one_baseline_share_its_read_only_sort():
    """Sessions each own a pruner of one shared baseline: the sort is done once for all of
    them, cannot be written to, is not pickled, and prunes as the percentile reference."""
    import pickle

    arrays = random_arrays(9)
    base = Baseline(tuple(f"a{i}" for i in range(4)), tuple(KINDS), tuple(arrays))
    a, b = OneShotPruner(base), OneShotPruner(base)
    assert a.index("all") is b.index("all") and a.index("kernels") is not a.index("all")
    with pytest.raises(ValueError, match="read-only"):
        a.index("all").sorted_global[0] = 1.0
    got = b.prune("global", 0.6).arrays
    for g, w in zip(got, prune_global(arrays, KINDS, 0.6, "all")):
        np.testing.assert_array_equal(g, w)
    from pruning.patterns import pattern_masks

    want = apply_masks(arrays, pattern_masks(arrays, KINDS, "nm", 0.5))  # ranks computed afresh
    for g, w in zip(b.prune("nm", 0.5).arrays, want):
        np.testing.assert_array_equal(g, w)
    assert a.prune("nm", 0.5).arrays[0] is not None and base._derived.keys() >= {("nm", 4)}
    assert pickle.loads(pickle.dumps(base))._derived == {}


@pytest.mark.parametrize("bad", [-0.1, 1.5, 95, float("nan")])
def test_bad_sparsity_is_rejected_with_the_range(bad):
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\]"):
        check_sparsity(bad)


def test_bad_method_and_scope_name_the_choices():
    arrays = random_arrays(8)
    with pytest.raises(ValueError, match="global, layerwise"):
        prune_arrays(arrays, KINDS, "random", 0.5)
    with pytest.raises(ValueError, match="all, kernels"):
        prune_arrays(arrays, KINDS, "global", 0.5, scope="biases")


def test_array_sparsity_counts():
    rows = array_sparsity([np.array([0, 1, 0, 2.0])], ["kernel"], ["x/kernel"])
    assert rows[0].zeros == 2 and rows[0].sparsity == 0.5 and rows[0].name == "x/kernel"

"""N:M and block masks against plain-loop references in TFLite's kernel layout, and the
pattern kept exactly through the one-shot pruner and masked retraining."""

from __future__ import annotations

import numpy as np
import pytest

from pruning.patterns import (block_mask, nm_mask, nm_of, nm_violations, parse_pattern,
                              pattern_masks, pattern_method)


def tflite_rows(kernel: np.ndarray) -> np.ndarray:
    """TF-MOT's rearrangement: Dense (in, out) -> (out, in); Conv (h, w, in, out) -> (out*h*w, in)."""
    if kernel.ndim == 2:
        return kernel.T
    t = np.transpose(kernel, (3, 0, 1, 2))
    return t.reshape(-1, t.shape[-1])


def from_tflite_rows(rows: np.ndarray, shape) -> np.ndarray:
    if len(shape) == 2:
        return rows.T
    h, w, i, o = shape
    return np.transpose(rows.reshape(o, h, w, i), (1, 2, 3, 0))


def nm_reference(kernel: np.ndarray, n: int, m: int) -> np.ndarray:
    """Loop over every group of m input channels; keep the n largest |w| (lower index on ties)."""
    rows = tflite_rows(kernel)
    keep = np.zeros(rows.shape, bool)
    for r in range(rows.shape[0]):
        for c in range(0, rows.shape[1], m):
            group = np.abs(rows[r, c:c + m])
            best = sorted(range(len(group)), key=lambda j: (-group[j], j))[:n]
            for j in best:
                keep[r, c + j] = True
    return from_tflite_rows(keep, kernel.shape)


def block_reference(kernel: np.ndarray, s: float, bh: int, bw: int) -> np.ndarray:
    """Blocks over the (out positions, in channels) view scored by mean |w|; percentile rule."""
    rows = np.abs(tflite_rows(kernel))
    # the module orders rows (h, w, out); TF-MOT orders (out, h, w): blocks of 1 row are the same
    assert bh == 1
    scores, where = [], []
    for r in range(rows.shape[0]):
        for c in range(0, rows.shape[1], bw):
            scores.append(rows[r, c:c + bw].mean())
            where.append((r, c))
    t = np.percentile(np.array(scores), 100 * s)
    keep = np.zeros(rows.shape, bool)
    for sc, (r, c) in zip(scores, where):
        keep[r, c:c + bw] = not sc < t
    return from_tflite_rows(keep, kernel.shape)


KERNELS = [(3, 3, 8, 5), (3, 3, 10, 6), (2, 2, 3, 4), (16, 7), (9, 6)]


@pytest.mark.parametrize("shape", KERNELS)
@pytest.mark.parametrize("n,m", [(2, 4), (4, 8), (1, 4), (3, 8)])
def test_nm_mask_equals_the_loop_reference_and_holds_the_pattern(shape, n, m):
    k = np.random.default_rng(sum(shape) + n).normal(size=shape).astype(np.float32)
    got = nm_mask(k, n, m)
    np.testing.assert_array_equal(got, nm_reference(k, n, m))
    pruned = np.where(got, k, 0)
    assert nm_violations(pruned, n, m) == 0
    assert nm_violations(k, n, m) > 0 or shape[-2] <= n
    rows = tflite_rows(pruned)
    full = rows.shape[1] // m * m  # whole groups hold exactly n non-zeros
    assert np.all((rows[:, :full].reshape(rows.shape[0], -1, m) != 0).sum(-1) == n)


def test_nm_ties_keep_the_lower_channel_like_top_k():
    k = np.ones((4, 1), np.float32)  # Dense in=4, out=1: one group of equal weights
    np.testing.assert_array_equal(nm_mask(k, 2, 4)[:, 0], [True, True, False, False])


def test_first_conv_with_one_input_channel_keeps_it():
    k = np.random.default_rng(0).normal(size=(3, 3, 1, 8))
    assert nm_mask(k, 2, 4).all()


@pytest.mark.parametrize("shape", [(3, 3, 8, 5), (16, 7), (3, 3, 10, 2)])
@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.9, 1.0])
def test_block_mask_equals_the_loop_reference(shape, s):
    k = np.random.default_rng(len(shape)).normal(size=shape)
    if s == 1.0:
        assert not block_mask(k, s).any()
        return
    np.testing.assert_array_equal(block_mask(k, s, (1, 4)), block_reference(k, s, 1, 4))


def test_block_mask_zeroes_whole_blocks():
    k = np.random.default_rng(1).normal(size=(3, 3, 8, 6))
    rows = tflite_rows(np.where(block_mask(k, 0.5), k, 0))
    nz = (rows.reshape(rows.shape[0], -1, 4) != 0).sum(-1)
    assert set(np.unique(nz)) <= {0, 4} and (nz == 0).mean() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("text,match", [
    ("2-4", "write it as N:M"), ("two:four", "write it as N:M"), ("5:4", "cannot exceed"),
    ("2:3", "M = 4 or 8"), ("", "write it as N:M")])
def test_bad_patterns_say_what_is_wrong(text, match):
    with pytest.raises(ValueError, match=match):
        parse_pattern(text)


def test_patterns_map_to_methods_and_back():
    assert parse_pattern(" 2:4 ") == (2, 4)
    assert pattern_method(2, 4) == ("nm", 0.5) and pattern_method(4, 8) == ("nm8", 0.5)
    assert nm_of("nm", 0.5) == (2, 4) and nm_of("nm8", 0.5) == (4, 8)
    assert nm_of("nm", 0.75) == (1, 4) and nm_of("nm", 0.0) == (4, 4) and nm_of("nm", 1.0) == (0, 4)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_ratio_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match=r"fraction in \[0, 1\]"):
        pattern_masks([np.ones((4, 4))], ["kernel"], "nm", bad)
    with pytest.raises(ValueError, match="unknown pattern method"):
        pattern_masks([np.ones((4, 4))], ["kernel"], "nm3", 0.5)


def test_pruner_prunes_every_kernel_to_2_4_and_leaves_biases(tiny_model):
    from pruning.oneshot import Baseline, OneShotPruner

    base = Baseline.from_model(tiny_model)
    pruned = OneShotPruner(base).prune("nm", 0.5)
    for a, kind, orig in zip(pruned.arrays, base.kinds, base.arrays):
        if kind == "kernel":
            assert nm_violations(a, 2, 4) == 0
            np.testing.assert_array_equal(a, np.where(nm_reference(orig, 2, 4), orig, 0))
        else:
            np.testing.assert_array_equal(a, orig)
    kernels = [a for a, k in zip(pruned.arrays, base.kinds) if k == "kernel"]
    zeros = sum(a.size - np.count_nonzero(a) for a in kernels) / sum(a.size for a in kernels)
    assert pruned.sparsity_kernels == pytest.approx(zeros)
    assert 0.45 < zeros <= 0.5  # the first conv has one input channel and stays dense


def test_pattern_survives_masked_retraining(tiny_model, tiny_data):
    from pruning.oneshot import Baseline, OneShotPruner
    from pruning.retrain import Training, limit, retrain

    base = Baseline.from_model(tiny_model)
    data = limit(tiny_data, train=128, val=100, test=100)
    for method, (n, m) in (("nm", (2, 4)), ("nm8", (4, 8))):
        start = OneShotPruner(base).prune(method, 0.5)
        res = retrain(tiny_model, data, "masked", None,
                      Training(epochs=2, batch_size=32, patience=None, seed=0), start=start)
        moved = any(not np.array_equal(a, b) for a, b in zip(res.arrays, start.arrays))
        assert moved, "retraining changed no weight: the test would prove nothing"
        for a, kind in zip(res.arrays, base.kinds):
            if kind == "kernel":
                assert nm_violations(a, n, m) == 0

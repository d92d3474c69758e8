"""Teaching views: the computations against plain NumPy references, the figures' traces."""

from __future__ import annotations

import numpy as np
import pytest

from pruning import teaching as T
from pruning import teaching_plots as P
from pruning.masks import magnitude_index

NAMES = ["conv/kernel", "conv/bias", "dense/kernel", "dense/bias"]
KINDS = ["kernel", "bias", "kernel", "bias"]


@pytest.fixture()
def arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.normal(size=(3, 3, 2, 8)).astype(np.float32), rng.normal(size=8).astype(np.float32),
            rng.normal(size=(300, 10)).astype(np.float32), np.zeros(10, np.float32)]


def test_global_threshold_is_the_percentile_and_the_counts_split_there(arrays):
    idx = magnitude_index(arrays, KINDS, "all")
    h = T.one_shot_histogram(idx, arrays, NAMES, "global", 0.37, bins=40)
    mags = np.concatenate([np.abs(a).ravel() for a in arrays])
    t = np.percentile(mags, 37)
    assert h.thresholds == (("all in scope", pytest.approx(float(t))),)
    assert h.total == mags.size
    assert h.pruned.sum() + h.zeros_pruned == np.sum(mags < t)
    assert h.zeros_pruned == 10 and h.zeros_kept == 0  # the zero biases lie below any t > 0
    ref_kept = np.histogram(np.maximum(mags[(mags >= t) & (mags > 0)], h.edges[0]), h.edges)[0]
    np.testing.assert_array_equal(h.kept, ref_kept)
    # the axis starts at the 0.1 % quantile of |w| > 0; smaller ones sit in the first bin
    assert h.edges[0] == np.quantile(mags[mags > 0], 0.001) and h.edges[-1] == mags.max()
    assert h.pruned[0] == np.sum((mags > 0) & (mags < h.edges[1]) & (mags < t))
    np.testing.assert_allclose(np.diff(np.log(h.edges)), np.log(h.edges[-1] / h.edges[0]) / 40,
                               rtol=1e-6)
    assert h.pruned_share == pytest.approx(np.mean(mags < t))
    assert h.pruned_mass == pytest.approx(mags[mags < t].sum() / mags.sum(), rel=1e-5)
    assert h.pruned_mass < h.pruned_share  # the small ones go: little of the total size


def test_layerwise_draws_each_arrays_own_percentile(arrays):
    idx = magnitude_index(arrays, KINDS, "kernels")
    h = T.one_shot_histogram(idx, arrays, NAMES, "layerwise", 0.6)
    want = {n: float(np.percentile(np.abs(a), 60)) for n, a, k in zip(NAMES, arrays, KINDS)
            if k == "kernel"}
    assert dict(h.thresholds) == pytest.approx(want)
    assert h.total == arrays[0].size + arrays[2].size  # biases are outside the kernels scope
    one = T.one_shot_histogram(idx, arrays, NAMES, "layerwise", 0.6, array=2)
    assert one.thresholds == (("dense/kernel", pytest.approx(want["dense/kernel"])),)
    assert one.pruned.sum() == np.sum(np.abs(arrays[2]) < want["dense/kernel"])
    with pytest.raises(ValueError, match="not pruned in this scope"):
        T.one_shot_histogram(idx, arrays, NAMES, "layerwise", 0.6, array=1)


def test_full_sparsity_draws_no_line_and_prunes_everything(arrays):
    idx = magnitude_index(arrays, KINDS, "all")
    h = T.one_shot_histogram(idx, arrays, NAMES, "global", 1.0)
    assert h.thresholds == () and h.pruned_share == 1.0


def test_kept_masks_from_pruned_weights(arrays):
    pruned = [np.where(np.abs(a) > 0.5, a, 0) for a in arrays]
    keep = T.kept_masks(arrays, pruned, [True, False, True, False])
    assert keep[1] is None and keep[3] is None
    np.testing.assert_array_equal(keep[2], np.abs(arrays[2]) > 0.5)
    h = T.magnitude_histogram(arrays, keep, NAMES)
    assert h.thresholds == () and h.total == arrays[0].size + arrays[2].size


def test_mask_grid_dense_is_out_by_in_and_conv_is_the_window_mean(arrays):
    dense_keep = np.abs(arrays[2]) > 0.4
    g = T.mask_grid(dense_keep, 100, 400)
    np.testing.assert_array_equal(g.kept, dense_keep.T.astype(float))
    assert not g.averaged and (g.rows, g.cols) == (10, 300)
    conv_keep = np.abs(arrays[0]) > 0.4
    ref = np.array([[conv_keep[:, :, i, o].mean() for i in range(2)] for o in range(8)])
    np.testing.assert_allclose(T.mask_grid(conv_keep).kept, ref)
    assert T.mask_grid(np.array([True, False])).kept.shape == (1, 2)
    big = T.mask_grid(dense_keep, 4, 128)
    assert (big.row_step, big.col_step, big.kept.shape) == (3, 3, (4, 100))
    np.testing.assert_allclose(big.kept[1, 2], dense_keep.T[3:6, 6:9].mean())


def test_block_mean_against_a_loop():
    rng = np.random.default_rng(0)
    g = rng.random((23, 50))
    out = T.block_mean(g, 5, 12)  # blocks of 5 x 5 cells, smaller at the far edges
    assert out.shape == (5, 10)
    for r in range(5):
        for c in range(10):
            assert out[r, c] == pytest.approx(g[5 * r:5 * r + 5, 5 * c:5 * c + 5].mean())


def test_filter_images_conv_dense_and_not_images(arrays):
    f = T.filter_images(NAMES, KINDS, arrays, [a * 0 for a in arrays], (12, 12, 2))
    assert f.dense.shape == (8, 3, 3) and "averaged over 2 input channels" in f.what
    np.testing.assert_allclose(f.dense[5], arrays[0][:, :, :, 5].mean(axis=2))
    assert not f.pruned.any() and f.removed.all()
    mlp = [np.arange(4 * 5 * 1 * 3, dtype=float).reshape(20, 3), np.zeros(3)]
    f = T.filter_images(["d/kernel", "d/bias"], ["kernel", "bias"], mlp, mlp, (4, 5, 1))
    np.testing.assert_array_equal(f.dense[1], mlp[0][:, 1].reshape(4, 5))
    assert T.filter_images(["d/kernel"], ["kernel"], [np.zeros((7, 3))], [np.zeros((7, 3))],
                           (7,)) is None  # tabular input: no picture
    assert T.filter_images(["e/embeddings"], ["other"], [np.zeros((9, 4))], [np.zeros((9, 4))],
                           (5,)) is None


def test_confusion_matrix_and_per_class_accuracy_against_loops():
    rng = np.random.default_rng(1)
    y, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    y[y == 3] = 2  # class 3 has no samples
    cm = T.confusion_matrix(y, pred, 4)
    ref = np.zeros((4, 4), int)
    for a, b in zip(y, pred):
        ref[a, b] += 1
    np.testing.assert_array_equal(cm, ref)
    acc = T.per_class_accuracy(y, pred, 4)
    for k in range(3):
        assert acc[k] == pytest.approx(np.mean(pred[y == k] == k))
    assert np.isnan(acc[3])
    with pytest.raises(ValueError, match="0..3"):
        T.confusion_matrix(np.array([4]), np.array([0]), 4)


def test_flipped_predicted_and_names():
    y = np.array([0, 1, 2, 1, 0])
    dense = np.array([0, 1, 1, 1, 0])
    pruned = np.array([0, 2, 1, 1, 1])
    np.testing.assert_array_equal(T.flipped(y, dense, pruned), [1, 4])
    np.testing.assert_array_equal(T.flipped(y, dense, pruned, limit=1), [1])
    np.testing.assert_array_equal(T.predicted_classes(np.array([[0.2, 0.8], [0.9, 0.1]])), [1, 0])
    np.testing.assert_array_equal(T.predicted_classes(np.array([[0.7], [0.2]])), [1, 0])
    assert T.class_names(("cat", "dog"), 3) == ["cat", "dog", "class 2"]


def test_mosaic_places_each_tile():
    imgs = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    m = T.mosaic(imgs, cols=2)
    assert m.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(m[3:5, 4:7], imgs[3])
    assert np.isnan(m[2]).all() and np.isnan(m[6:, 4:]).all()


def test_figures_have_the_expected_traces(arrays):
    idx = magnitude_index(arrays, KINDS, "all")
    h = T.one_shot_histogram(idx, arrays, NAMES, "global", 0.5)
    fig = P.histogram_figure(h, "t")
    names = [t.name for t in fig.data]
    assert names[0].startswith("Pruned") and names[1].startswith("Kept")
    line = [t for t in fig.data if t.name.startswith("Threshold")]
    assert len(line) == 1 and list(line[0].x) == [h.thresholds[0][1]] * 2
    assert fig.layout.xaxis.type == "log" and len(fig.layout.shapes) == 1  # the shaded share
    lw = P.histogram_figure(T.one_shot_histogram(idx, arrays, NAMES, "layerwise", 0.5), "t")
    assert len([t for t in lw.data if t.name.startswith("Threshold")]) == 3  # zero-bias line dropped
    f = T.filter_images(NAMES, KINDS, arrays, arrays, (12, 12, 2))
    assert [t.name for t in P.filters_figure(f).data] == ["Dense", "Pruned model", "Removed"]
    y, p = np.array([0, 1, 1]), np.array([0, 0, 1])
    cm = T.confusion_matrix(y, p, 2)
    assert [t.name for t in P.confusion_figure(["a", "b"], cm, cm).data] == ["Dense", "Pruned model"]
    bars = P.class_accuracy_figure(["a", "b"], np.array([1.0, 0.5]), np.array([1.0, 0.0])).data
    assert list(bars[1].y) == [100.0, 0.0]
    strip = P.flipped_figure(np.zeros((3, 4, 4, 1)), ["a"] * 3, ["b"] * 3)
    assert len(strip.data) == 3 and strip.layout.annotations[0].text == "a<br>→ b"
    assert P.mask_figure(T.mask_grid(arrays[2] > 0), "dense/kernel", "unit", "input").data[0].z.shape \
        == (10, 150)  # 300 inputs averaged in pairs


def test_display_images_and_worst_classes():
    u8 = np.array([[[[0], [255]]]], dtype=np.uint8)
    np.testing.assert_array_equal(T.display_images(u8), [[[[0.0], [1.0]]]])
    std = np.array([[[[-2.0], [2.0]]], [[[0.25], [0.5]]]])
    np.testing.assert_array_equal(T.display_images(std), [[[[0.0], [1.0]]], [[[0.25], [0.5]]]])
    dense, pruned = np.array([0.9, 0.9, 0.8, np.nan]), np.array([0.9, 0.1, 0.7, np.nan])
    np.testing.assert_array_equal(T.worst_classes(dense, pruned, 2), [1, 2])
    np.testing.assert_array_equal(T.worst_classes(dense, pruned, 9), [0, 1, 2, 3])


def test_biggest_new_confusion_against_a_loop():
    rng = np.random.default_rng(2)
    dense, pruned = rng.integers(0, 20, (5, 5)), rng.integers(0, 20, (5, 5))
    best = max(((pruned[i, j] - dense[i, j], i, j) for i in range(5) for j in range(5) if i != j))
    assert T.biggest_new_confusion(dense, pruned) == (best[1], best[2], best[0])
    assert T.biggest_new_confusion(pruned, pruned) is None


def test_what_breaks_against_direct_counts():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 5, 300)
    dense = np.where(rng.random(300) < 0.9, y, rng.integers(0, 5, 300))
    pruned = np.where(rng.random(300) < 0.6, dense, rng.integers(0, 5, 300))
    b = T.what_breaks(y, dense, pruned, ("a", "b"), 5, limit=3)
    assert b.classes == ("a", "b", "class 2", "class 3", "class 4") and b.n == 300
    assert b.accuracy == pytest.approx(np.mean(pruned == y))
    assert b.dense_accuracy == pytest.approx(np.mean(dense == y))
    for k in range(5):
        assert b.per_class[k] == pytest.approx(np.mean(pruned[y == k] == k))
    assert set(b.turned_wrong) == {i for i in range(300) if dense[i] == y[i] != pruned[i]}
    assert set(b.turned_right) == {i for i in range(300) if pruned[i] == y[i] != dense[i]}
    drops = b.dense_per_class - b.per_class
    assert list(b.shown) == sorted(np.argsort(-drops)[:3]) and b.worst == int(np.argmax(drops))
    assert b.confusion.sum() == 300


def test_teaching_modules_need_neither_tensorflow_nor_streamlit():
    import subprocess
    import sys

    code = ("import sys, pruning.teaching, pruning.teaching_plots; "
            "print('tensorflow' in sys.modules, 'streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

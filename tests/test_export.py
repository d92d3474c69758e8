"""Exports of pruned models: every format reloads bit-identical with the stated sparsity."""

import gzip

import numpy as np
import pytest

from pruning.export import (FORMATS, SUFFIX, export_bytes, file_name, model_sizes, reload_check,
                            write_weights)
from pruning.masks import total_sparsity
from pruning.models import load_model_bytes


@pytest.mark.parametrize("fmt", FORMATS)
def test_pruned_export_reloads_with_same_weights_and_sparsity(tmp_path, tiny_workbench, fmt):
    wb = tiny_workbench
    pruned = wb.prune("global", 0.8)
    path = write_weights(wb.load(pruned.arrays), tmp_path / f"p{SUFFIX[fmt]}", fmt)
    back = reload_check(path, wb.model).get_weights()
    for a, b in zip(pruned.arrays, back):
        np.testing.assert_array_equal(a, b)
    assert total_sparsity(back, wb.baseline.kinds) == pruned.sparsity
    # the same bytes through the upload path give the same accuracy as shown before export
    from pruning.evaluate import Evaluator
    again = load_model_bytes(path.read_bytes(), path.name) if fmt == "keras" else None
    if again is not None:
        assert Evaluator(again, wb.data.val).evaluate().accuracy == wb.evaluate(pruned).val.accuracy


def test_sizes_are_honest(tiny_workbench):
    wb = tiny_workbench
    dense = wb.sizes(wb.prune("global", 0.0))
    sparse = wb.sizes(wb.prune("global", 0.9))
    assert dense.params == sparse.params == wb.baseline.params
    assert sparse.nonzeros == pytest.approx(0.1 * dense.params, abs=2)
    raw = export_bytes(wb.load(wb.prune("global", 0.9).arrays), "h5")
    assert sparse.h5_bytes == len(raw)
    assert sparse.gzip_bytes == len(gzip.compress(raw, 9, mtime=0))
    assert sparse.gzip_bytes < dense.gzip_bytes  # zeros compress


def test_file_name_says_method_and_sparsity():
    assert file_name("global", 0.9, "h5") == "pruned-global-90.0pct.h5"
    assert file_name("layerwise", 0.955, "weights.h5").endswith("-95.5pct.weights.h5")
    assert file_name("masked", 0.97, "keras").endswith(".keras")


def test_wrong_suffix_is_refused(tmp_path, tiny_model):
    with pytest.raises(ValueError, match=".weights.h5"):
        write_weights(tiny_model, tmp_path / "x.h5", "weights.h5")
    with pytest.raises(ValueError, match="unknown format"):
        write_weights(tiny_model, tmp_path / "x.h5", "onnx")


def test_failed_write_leaves_nothing_behind(tmp_path, tiny_model, monkeypatch):
    import pruning.export as ex

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(ex.h5py, "File", broken)
    with pytest.raises(OSError, match="disk full"):
        write_weights(tiny_model, tmp_path / "x.h5", "h5")
    assert list(tmp_path.iterdir()) == []

"""Concurrent sessions: many Workbenches in threads, one shared read-only Baseline.

Every thread must get exactly what a lone, sequential run gets (accuracy, sparsity, the
pruned arrays themselves), and the shared baseline must come out unchanged and read-only.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest


def build_tiny():
    """The conftest's tiny architecture (not imported: tests/app has its own conftest)."""
    from pruning.models import build_model

    return build_model((12, 12, 1), 3, width=0.25)


# 12 sessions, each at its own method / scope / sparsity
CONFIGS = [(m, sc, s) for m, sc, s in [
    ("global", "all", 0.5), ("global", "all", 0.8), ("global", "all", 0.93),
    ("global", "kernels", 0.6), ("global", "kernels", 0.9), ("global", "kernels", 0.97),
    ("layerwise", "all", 0.4), ("layerwise", "all", 0.85), ("layerwise", "all", 0.95),
    ("layerwise", "kernels", 0.7), ("layerwise", "kernels", 0.92), ("layerwise", "kernels", 0.99),
]]
GRID = [0.0, 0.5, 0.9]


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _run(wb, method: str, scope: str, sparsity: float) -> dict:
    p = wb.point(method, sparsity, scope, with_test=False)
    df = wb.sweep(method, GRID, scope)
    return {"accuracy": p.val.accuracy, "loss": p.val.loss, "sparsity": p.pruned.sparsity,
            "sparsity_all": p.pruned.sparsity_all, "digest": _digest(p.pruned.arrays),
            "sweep": df[["target", "sparsity", "accuracy"]].to_dict("records")}


@pytest.fixture(scope="module")
def shared(tiny_weights_path):
    from pruning.oneshot import Baseline
    from pruning.models import load_weights_into

    return Baseline.from_model(load_weights_into(build_tiny(), tiny_weights_path))


def test_threads_match_lone_runs(shared, tiny_data, tiny_weights_path):
    from pruning.models import load_weights_into
    from pruning.workbench import Workbench

    before = [a.copy() for a in shared.arrays]
    lone_wb = Workbench(load_weights_into(build_tiny(), tiny_weights_path), tiny_data, baseline=shared)
    lone = {cfg: _run(lone_wb, *cfg) for cfg in CONFIGS}
    # the configurations really differ, so a mix-up between threads would show
    assert len({r["digest"] for r in lone.values()}) == len(CONFIGS)
    assert len({r["accuracy"] for r in lone.values()}) >= 4

    barrier = threading.Barrier(len(CONFIGS))
    seen_models = set()

    def session(cfg):
        # each session loads its own model, as a dashboard session does
        wb = Workbench(load_weights_into(build_tiny(), tiny_weights_path), tiny_data, baseline=shared)
        seen_models.add(id(wb.model))
        barrier.wait(timeout=60)  # all prune and evaluate at the same moment
        return _run(wb, *cfg)

    with ThreadPoolExecutor(max_workers=len(CONFIGS)) as pool:
        got = dict(zip(CONFIGS, pool.map(session, CONFIGS)))

    assert len(seen_models) == len(CONFIGS)
    for cfg in CONFIGS:
        g, ref = got[cfg], lone[cfg]
        assert g["digest"] == ref["digest"], cfg
        assert g["accuracy"] == ref["accuracy"], cfg
        assert g["sparsity"] == ref["sparsity"] and g["sparsity_all"] == ref["sparsity_all"], cfg
        assert g["loss"] == pytest.approx(ref["loss"], rel=1e-6, abs=1e-7), cfg
        assert g["sweep"] == ref["sweep"], cfg

    assert len(shared.arrays) == len(before)
    for a, b in zip(shared.arrays, before):
        assert not a.flags.writeable
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="read-only"):
        shared.arrays[0][...] = 0

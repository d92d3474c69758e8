"""The first number of a new slider level: interpolated between exact neighbours any session
computed (no forward pass), and the warm thread's cue to fill levels only while sessions idle."""

from __future__ import annotations

import threading

import pytest


def test_neighbour_estimate_interpolates_exact_neighbours_and_never_computes(tiny_workbench):
    from pruning.ui import caches
    from pruning.ui.session import Bench
    from pruning.ui.shared import RESULTS

    b = Bench("tiny", "tiny", tiny_workbench, None, None)
    exact = {}
    for s in (0.72, 0.725, 0.73):
        exact[s] = caches.point_val(b.key, "global", "all", s, _pruned=b.prune("global", s, "all"),
                                    _bench=b)["accuracy"]
    want = tiny_workbench.val.evaluate(tiny_workbench.prune("global", 0.72, "all").arrays).accuracy
    assert exact[0.72] == want  # the shared value is the workbench's own pass
    computed = RESULTS.computed
    near = caches.neighbour_estimate(b.key, "global", "all", 0.722)
    assert near["levels"] == (0.72, 0.725)
    assert near["accuracy"] == pytest.approx(exact[0.72] + 0.4 * (exact[0.725] - exact[0.72]))
    assert near["low"] == min(exact[0.72], exact[0.725]) and near["high"] == max(exact[0.72], exact[0.725])
    assert caches.neighbour_estimate(b.key, "global", "all", 0.728)["levels"] == (0.725, 0.73)
    assert caches.neighbour_estimate(b.key, "global", "all", 0.735) is None  # nothing above
    assert caches.neighbour_estimate(b.key, "layerwise", "all", 0.722) is None  # other method
    assert caches.neighbour_estimate(b.key, "nm", "all", 0.722) is None  # patterns: steps
    assert caches.neighbour_estimate(("other",) + b.key[1:], "global", "all", 0.722) is None
    assert RESULTS.computed == computed  # peeks only


def test_warm_fill_waits_while_a_session_computes():
    from pruning.ui import caches
    from pruning.ui.shared import RESULTS

    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(10)
        return 1

    t = threading.Thread(target=RESULTS.get, args=(("slow-key",), slow))
    t.start()
    started.wait(10)
    assert not caches.idle_for(0.0)  # a computation is in flight
    release.set()
    t.join(10)
    assert caches.idle_for(0.0)
    caches._asked()  # a session asked just now
    assert not caches.idle_for(30.0)

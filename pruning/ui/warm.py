"""Warm the demo at server start: its dense scores and the common slider levels, computed
once in a server thread into the shared results (``ui.shared.RESULTS``), so the first
students on the demo find their numbers ready instead of all computing them at once.

The common levels first, then every integer level of M1 and M2 (5 % steps first), one
forward pass at a time and only while no session has asked for anything for a moment
(``caches.idle_for``): students never queue behind it, and once it is done the first number
of any new slider level is interpolated between two exact neighbours at no cost
(``caches.neighbour_estimate``)."""

from __future__ import annotations

import os
import sys
import threading
import time

import streamlit as st

WARM_ENV = "PRUNING_WARM"  # "0" turns warming off (tests)
WARM_THREAD = "warm-demo"  # its requests do not count as session activity
WARM_DONE = "pruning: demo warmed,"  # the server log line when warming is done
WARM_LEVELS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]
FILL_LEVELS = sorted({p / 100 for p in range(100)} - set(WARM_LEVELS),
                     key=lambda v: (round(100 * v) % 5 != 0, v))  # 5 % steps first
QUIET_S = 1.5  # fill a level only after sessions asked nothing for this long


def _warm(mid: str, base, data, levels: list[float], fill: list[float] = ()) -> None:
    from ..models import build_preset
    from ..workbench import Workbench
    from .caches import dense_h5_size, dense_scores, idle_for, point_val
    from .session import DEMO_DATA, Bench, limits

    t0 = time.monotonic()
    try:
        model = build_preset("fashion-mnist")
        model.set_weights(list(base.arrays))
        vl, tl = limits()
        wb = Workbench(model, data, val_limit=vl, test_limit=tl, baseline=base)
        b = Bench(mid, DEMO_DATA, wb, vl, tl)
        dense_scores(b.key, _bench=b)
        dense_h5_size(b)
        todo = [(m, s) for m in ("global", "layerwise") for s in levels]
        todo += [(m, s) for s in fill for m in ("global", "layerwise")]
        for method, s in todo:
            while not idle_for(QUIET_S):  # sessions first: never compete with a student's pass
                time.sleep(0.25)
            point_val(b.key, method, "all", s, _pruned=b.prune(method, s, "all"), _bench=b)
    except Exception:  # warming is an optimisation: a page computes what is missing
        return
    print(f"{WARM_DONE} {2 * (len(levels) + len(fill))} levels in {time.monotonic() - t0:.0f} s",
          file=sys.stderr, flush=True)  # the server log says when every level is ready


@st.cache_resource(show_spinner=False)
def warm_demo() -> threading.Thread | None:
    """Start warming once per server process (a daemon thread); None when turned off."""
    from .session import bundled_dataset, demo_baseline

    if os.environ.get(WARM_ENV, "1").strip() == "0":
        return None
    try:
        mid, base = demo_baseline()
        data = bundled_dataset()
    except Exception:  # no demo weights: nothing to warm
        return None
    t = threading.Thread(target=_warm, args=(mid, base, data, WARM_LEVELS, FILL_LEVELS), name=WARM_THREAD,
                         daemon=True)
    t.start()
    return t

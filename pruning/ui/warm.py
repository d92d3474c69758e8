"""Warm the demo at server start: its dense scores and the common slider levels, computed
once in a server thread into the shared results (``ui.shared.RESULTS``), so the first
students on the demo find their numbers ready instead of all computing them at once."""

from __future__ import annotations

import os
import threading

import streamlit as st

WARM_ENV = "PRUNING_WARM"  # "0" turns warming off (tests)
WARM_LEVELS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]


def _warm(mid: str, base, data, levels: list[float]) -> None:
    from ..models import build_preset
    from ..workbench import Workbench
    from .caches import dense_scores, point_val
    from .session import DEMO_DATA, Bench, limits

    try:
        model = build_preset("fashion-mnist")
        model.set_weights(list(base.arrays))
        vl, tl = limits()
        wb = Workbench(model, data, val_limit=vl, test_limit=tl, baseline=base)
        b = Bench(mid, DEMO_DATA, wb, vl, tl)
        dense_scores(b.key, _bench=b)
        for method in ("global", "layerwise"):
            for s in levels:
                point_val(b.key, method, "all", s, _pruned=b.prune(method, s, "all"), _bench=b)
    except Exception:  # warming is an optimisation: a page computes what is missing
        return


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
    t = threading.Thread(target=_warm, args=(mid, base, data, WARM_LEVELS), name="warm-demo",
                         daemon=True)
    t.start()
    return t

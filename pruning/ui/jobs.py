"""Heavy work: the server-wide slots it takes and the one-shot sweeps run on a bench."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Iterator

import pandas as pd
import streamlit as st

from ..frontier import DEFAULT_FLOOR
from ..masks import METHODS
from ..units import fraction
from ..patterns import NM_GROUPS, PATTERN_METHODS
from .caches import result_store
from .session import Bench
HEAVY = threading.Semaphore(int(os.environ.get("PRUNING_HEAVY_SLOTS", "2")))



@contextlib.contextmanager
def heavy_slot(wait_message: str = "The server is busy with other sweeps; waiting for a free "
               "slot…") -> Iterator[None]:
    """Hold one of the ``HEAVY`` slots; says so on the page while waiting."""
    if not HEAVY.acquire(blocking=False):
        note = st.info(wait_message, icon="⏳")
        HEAVY.acquire()
        note.empty()
    try:
        yield
    finally:
        HEAVY.release()


def run_sweep(b: Bench, method: str, grid: list[float], scope: str,
              progress: Callable[[int, int, dict], None] | None = None) -> pd.DataFrame:
    """A one-shot sweep on this session's bench; levels already in the on-disk store are
    served from it and each new level is committed as it finishes (when the store is there).
    """
    try:
        from ..store import default_dir, resumable_sweep

        store = result_store(str(default_dir()))
    except (ImportError, OSError, ValueError) as e:  # no store: plain sweep, still cached in memory
        if not isinstance(e, ImportError):
            st.warning(f"The result store is not available ({e}); results are kept in memory only.")
        with b.lock:
            return b.wb.sweep(method, grid, scope, DEFAULT_FLOOR, progress)
    with b.lock:
        return resumable_sweep(b.wb, store, method, grid, scope, DEFAULT_FLOOR, progress)


def run_adaptive(b: Bench, method: str, scope: str, top: float,
                 progress: Callable[[int, int, dict], None] | None = None) -> pd.DataFrame:
    """Every whole percent from 0 to ``top`` by the adaptive fill (``pruning.adaptive``):
    full evaluations where accuracy moves, the levels between filled from the images that
    may change there (rows with ``exact`` False). In memory only: filled rows are not
    exact, so they never enter the on-disk store of exact levels."""
    from ..adaptive import adaptive_sweep

    if method in PATTERN_METHODS:  # N:M has M + 1 levels, block no fill model: every level exactly
        m = NM_GROUPS.get(method)
        grid = ([k / m for k in range(m + 1) if k / m <= top + 1e-9] if m else
                [p / 100 for p in range(round(100 * top) + 1)])
        return run_sweep(b, method, grid, scope, progress).assign(exact=True)
    with b.lock:
        return adaptive_sweep(b.wb, method, scope, hi=top, fill=True, progress=progress,
                              floor=DEFAULT_FLOOR)


def adaptive_top(top_pct: float) -> float:
    """The adaptive sweep's last level: ``top_pct`` down to a whole percent, at most 99 %."""
    return fraction(min(99.0, float(int(top_pct + 1e-9))))


def methods_available(patterns: bool = True) -> list[str]:
    """One-shot methods every page can run: 'global', 'layerwise' and (``patterns``) the
    semi-structured 'nm', 'nm8', 'block'."""
    return list(METHODS) + (list(PATTERN_METHODS) if patterns else [])

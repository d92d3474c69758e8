"""The method selectbox and sparsity slider (+ number box) Explore and "Why it works" share.

Both pages draw the same widgets under the same keys ('method', 'sparsity'; app.py keeps
their state across pages), so moving the slider on one page moves the other's views too.
The number box beside the slider ('sparsity_box') holds the same value: typing 72.5 moves
the slider and dragging the slider rewrites the box.
"""

from __future__ import annotations

import os
import time

import streamlit as st

from ..labels import method_label
from .retrain import explore_methods

METHOD_HELP = ("M1 ranks |w| over the whole model; M2 prunes every array to the same sparsity. "
               "The retraining methods show a finished run (Retrain page).")
SPARSITY_HELP = "Target share of zeroed weights, counted in the sidebar's scope."
BOX_HELP = "Type a level (percent, 0.1 steps); the slider follows."
SETTLE_ENV = "PRUNING_SETTLE_S"  # how long a run waits for the next key press (default 0.35 s)


def _box_changed() -> None:
    st.session_state["sparsity"] = round(float(st.session_state["sparsity_box"]), 1)


def pruning_controls() -> tuple[str, float]:
    """Draw the method selectbox, the sparsity slider and its number box (percent);
    returns (method, percent) once the controls have settled (``settle``)."""
    ss = st.session_state
    ss.setdefault("method", "global")
    ss.setdefault("sparsity", 50.0)
    if ss.get("sparsity_box") != ss["sparsity"]:  # the slider moved: the box follows
        ss["sparsity_box"] = ss["sparsity"]
    left, mid, right = st.columns([1, 2, 0.6], vertical_alignment="bottom")
    method = left.selectbox("Method", explore_methods(), format_func=method_label, key="method",
                            help=METHOD_HELP)
    pct = mid.slider("Sparsity (%)", min_value=0.0, max_value=99.9, step=0.1, key="sparsity",
                     format="%.1f %%", help=SPARSITY_HELP)
    right.number_input("Sparsity (%) box", min_value=0.0, max_value=99.9, step=0.1, format="%.1f",
                       key="sparsity_box", on_change=_box_changed, help=BOX_HELP,
                       label_visibility="collapsed")
    settle()
    return method, float(pct)


def settle(seconds: float | None = None) -> None:
    """Debounce: wait ``seconds`` (env ``PRUNING_SETTLE_S``, default 0.35 s), then touch the page.

    A key press while this run waits makes Streamlit request a rerun; the next element this
    run sends then ends it (Streamlit stops a script run at its next element once a rerun
    is requested), so ten quick presses cost ten cheap waits and one computation, at the
    level the user settled on.
    """
    if seconds is None:
        try:
            seconds = float(os.environ.get(SETTLE_ENV, "0.35"))
        except ValueError:
            seconds = 0.35
    wait = seconds
    if wait > 0:
        time.sleep(wait)
    st.empty()

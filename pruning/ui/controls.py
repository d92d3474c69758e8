"""The method selectbox and sparsity slider Explore and "Why it works" share.

Both pages draw the same widgets under the same keys ('method', 'sparsity'; app.py keeps
their state across pages), so moving the slider on one page moves the other's views too.
"""

from __future__ import annotations

import streamlit as st

from ..labels import method_label
from .retrain import explore_methods

METHOD_HELP = ("M1 ranks |w| over the whole model; M2 prunes every array to the same sparsity. "
               "The retraining methods show a finished run (Retrain page).")
SPARSITY_HELP = "Target share of zeroed weights, counted in the sidebar's scope."


def pruning_controls() -> tuple[str, float]:
    """Draw the method selectbox and the sparsity slider (percent); returns (method, percent)."""
    st.session_state.setdefault("method", "global")
    st.session_state.setdefault("sparsity", 50.0)
    left, right = st.columns([1, 2])
    method = left.selectbox("Method", explore_methods(), format_func=method_label, key="method",
                            help=METHOD_HELP)
    pct = right.slider("Sparsity (%)", min_value=0.0, max_value=99.9, step=0.1, key="sparsity",
                       format="%.1f %%", help=SPARSITY_HELP)
    return method, float(pct)

"""Retrain: prune, then retrain with the pruned weights held at zero (seed methods 3 and 4)."""

import streamlit as st

from pruning import ui

ui.require_shell()
st.title("Retrain")
st.caption("Retraining after pruning wins back accuracy: freeze-layer (M3), masked-gradient (M4), "
           "gradual pruning and iterative magnitude pruning.")
try:
    from pruning import retrain  # noqa: F401
except ImportError:
    st.info("Retraining is not available yet (pruning.retrain is still being written). "
            "Explore and Frontier cover the one-shot methods M1 and M2.")
    st.stop()

st.info("Retraining methods are available from the command line for now; a launcher is coming.")

"""The Retrain page's settings, tied to the server-owned run this session started last.

A run is found by its settings (``ui.run_id``). When a student leaves Retrain while a run
trains, Streamlit may drop the page's widget values on the way (a page switch that lands
while a script run is still going, as on a busy class server), and the page would come
back with its defaults and no longer find the run. So the session remembers its run, and
on return any setting that was lost is put back from that run while it still trains.
"""

from __future__ import annotations

import streamlit as st

from .background import background_run
from .retrain import TRAINING_OPTIONS
from .session import Bench

MY_RUN = "_rt_my_run"  # session key: id of the last server-owned run this session started


def remember_run(run_id: str) -> None:
    """Note ``run_id`` as this session's run (call when starting or joining it)."""
    st.session_state[MY_RUN] = run_id


def restore_run_settings(b: Bench) -> bool:
    """Put back every Retrain setting missing from the session state from this session's
    run, if that run still trains on this bench; settings the user has set stay as they
    are. Call before the page's widgets; True when a value was put back."""
    r = background_run(st.session_state.get(MY_RUN, ""))
    if r is None or not r.running or r.info["key"] != b.key:
        return False
    info = r.info
    values = {"rt_method": info["method"], "rt_sparsity": round(100 * info["target"], 1),
              "rt_epochs": int(info["epochs"]), "rt_train": int(info["n_train"])}
    values.update({f"rt_{k}": v for k, v in info["options"].items() if k in TRAINING_OPTIONS})
    missing = {k: v for k, v in values.items() if k not in st.session_state}
    for k, v in missing.items():
        st.session_state[k] = v
    return bool(missing)

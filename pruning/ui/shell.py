"""The app shell: the page frame, the shared sidebar and what it selected."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Iterator

import streamlit as st

from ..frontier import DEFAULT_FLOOR
from ..inputs import INPUT_SCALES, SCALE_LABELS
from ..labels import SCOPE_LABELS
from .display import PROJECTOR_KEY, page_style
from .session import (DEMO_DATA, DEMO_DATA_LABEL, DEMO_MODEL, DEMO_MODEL_LABEL, limits,
                      user_data, user_models)



_SHELL = threading.local()


@contextlib.contextmanager
def shell() -> Iterator[None]:
    """Marks this script run as going through app.py (page config, sidebar, navigation)."""
    _SHELL.active = True
    try:
        yield
    finally:
        _SHELL.active = False


def require_shell() -> None:
    """Run the page through app.py when Streamlit started the page file on its own.

    A ``pages/`` folder beside app.py makes Streamlit run its first script run (and
    every AppTest run) in the old pages-directory mode, which executes the page file
    without app.py (no page config, no sidebar). Then this switches that mode off, runs
    app.py in place (its st.navigation runs this page again, inside the shell) and stops
    the outer run; no rerun, so button clicks of this run are kept.
    """
    if getattr(_SHELL, "active", False):
        return
    import runpy

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    PagesManager.uses_pages_directory = False
    ctx = get_script_run_ctx()
    main = ctx.pages_manager.main_script_path if ctx is not None else None
    if main is None:
        return
    runpy.run_path(str(main), run_name="__main__")
    st.stop()



@dataclass(frozen=True)
class Selection:
    """What the sidebar selected: model and data ids, scope ('all'/'kernels'), floor."""

    model_id: str
    data_id: str
    scope: str
    floor: float
    input_scale: str = "auto"


def _model_options() -> dict[str, str]:
    opts = {DEMO_MODEL: DEMO_MODEL_LABEL}
    opts.update({k: v.label for k, v in user_models().items()})
    return opts


def _data_options() -> dict[str, str]:
    opts = {DEMO_DATA: DEMO_DATA_LABEL}
    opts.update({k: v.label for k, v in user_data().items()})
    return opts


def _keep(key: str, options: dict[str, Any], default: Any) -> None:
    """Keep a sidebar choice valid (an upload can disappear) and apply pending picks."""
    pending = st.session_state.pop(f"_pending_{key}", None)
    if pending in options:
        st.session_state[key] = pending
    elif st.session_state.get(key) not in options:
        st.session_state[key] = default


def sidebar() -> Selection:
    """The shared sidebar: model, data, scope, accuracy floor. Returns the selection."""
    ss = st.session_state
    mopts, dopts = _model_options(), _data_options()
    _keep("model", mopts, DEMO_MODEL)
    _keep("data", dopts, DEMO_DATA)
    ss.setdefault("scope", SCOPE_LABELS["all"])
    ss.setdefault("floor", 100 * DEFAULT_FLOOR)
    ss.setdefault("input_scale", "auto")
    with st.sidebar:
        st.selectbox("Model", list(mopts), format_func=mopts.__getitem__, key="model",
                     help="The bundled demo, or weights you uploaded on Bring your own "
                          "(the cmu-10605 preset needs your own weights file).")
        st.selectbox("Data", list(dopts), format_func=dopts.__getitem__, key="data",
                     help="Validation data chooses; test data is only reported.")
        st.selectbox("Input scaling", list(INPUT_SCALES), key="input_scale",
                     format_func=lambda k: "Auto (detected)" if k == "auto" else SCALE_LABELS[k],
                     help="How the stored inputs are scaled before the model sees them. Auto: "
                          "x / 255 for 8-bit pixels (0..255) unless the model has its own "
                          "Rescaling or Normalization layer; otherwise as stored. The scaling "
                          "applied is shown below.")
        st.radio("Scope", list(SCOPE_LABELS.values()), key="scope",
                 help="Which arrays are pruned and counted in the sparsity: all parameters "
                      "(kernels and biases, the seed's count) or kernels only.")
        st.number_input("Accuracy floor (%)", 0.0, 100.0, step=1.0, key="floor",
                        help="The challenge score counts only points above this val accuracy.")
        st.toggle("Projector display", key=PROJECTOR_KEY,
                  help="Large dark type, high-contrast axis numbers and taller charts for a "
                       "classroom projector.")
        vl, tl = limits()
        if vl or tl:
            st.caption(f"Evaluation limited to {vl or 'all'} val / {tl or 'all'} test images.")
    page_style()
    scope = {v: k for k, v in SCOPE_LABELS.items()}[ss["scope"]]
    return Selection(ss["model"], ss["data"], scope, float(ss["floor"]) / 100, ss["input_scale"])


def selection() -> Selection:
    """The current selection (the sidebar must have run this script run)."""
    ss = st.session_state
    scope = {v: k for k, v in SCOPE_LABELS.items()}.get(ss.get("scope"), "all")
    return Selection(ss.get("model", DEMO_MODEL), ss.get("data", DEMO_DATA), scope,
                     float(ss.get("floor", 100 * DEFAULT_FLOOR)) / 100,
                     ss.get("input_scale", "auto"))


def keep_widget_state(*keys: str) -> None:
    """Keep page widgets' values when the user visits another page and comes back."""
    for k in keys:
        if k in st.session_state:
            st.session_state[k] = st.session_state[k]

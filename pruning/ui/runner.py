"""Keep Keras' state across script runs: Streamlit resets it after every run by default.

After each script run Streamlit calls ``keras.backend.clear_session()`` (its script runner's
``_clean_problem_modules``). That replaces Keras' global state for every thread, so every
other session's models and name scopes, clears TensorFlow's kernel caches and runs a full
garbage collection: about 0.2-0.8 s on every slider move with TensorFlow loaded, and a
reset under sessions that are mid-way through building or training a model. This app
keeps one Keras model per session across reruns on purpose (``session.Bench``), so that
reset buys nothing. Other problem modules (matplotlib figures) are still cleaned.
"""

from __future__ import annotations

import sys
from typing import Any


def _clean_without_keras() -> None:
    """Streamlit's post-run clean-up minus the Keras reset (matplotlib figures closed)."""
    plt: Any = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001  (as Streamlit: never fail a run over clean-up)
            pass


def keep_keras_state() -> bool:
    """Swap Streamlit's post-run clean-up for ``_clean_without_keras``; False where this
    Streamlit has no such hook (nothing to do then)."""
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:
        return False
    if not callable(getattr(script_runner, "_clean_problem_modules", None)):
        return False
    script_runner._clean_problem_modules = _clean_without_keras
    return True

"""Display helpers every page shares: percent and byte formatting, user-facing errors."""

from __future__ import annotations

import numpy as np
import streamlit as st


def fraction(percent: float) -> float:
    """UI percent -> API fraction, rounded so equal sliders give equal cache keys."""
    return round(float(percent) / 100.0, 6)


def fmt_pct(x: float | None, digits: int = 2) -> str:
    """0.8734 -> '87.34 %' ('—' for None/NaN)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    return f"{100 * x:.{digits}f} %"


def fmt_bytes(n: int) -> str:
    """Human-readable byte count."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} B"


def show_error(e: BaseException) -> None:
    """A user-facing st.error for an expected problem (ModelError, DataError, ValueError)."""
    st.error(str(e) or type(e).__name__, icon="🚫")

"""Display helpers every page shares: percent and byte formatting (``pruning.units`` under
the names pages use), user-facing errors."""

from __future__ import annotations

import streamlit as st

from ..units import format_bytes as fmt_bytes  # noqa: F401  (re-exported for pages)
from ..units import format_percent as fmt_pct  # noqa: F401
from ..units import fraction  # noqa: F401


def show_error(e: BaseException) -> None:
    """A user-facing st.error for an expected problem (ModelError, DataError, ValueError)."""
    st.error(str(e) or type(e).__name__, icon="🚫")

"""How pages look: the stale-download guard, the projector display option, chart sizing.

- While a page reruns, Streamlit fades its old elements but they still take clicks: a
  faded download button would save the file of the level before the slider moved. The
  page style makes every stale download button unclickable (``data-stale`` is set on its
  element container the moment a rerun is requested), and each button names its level.
- "Projector" (sidebar toggle, key 'projector'): large dark type, high-contrast axis
  numbers, taller charts, chips and labels that wrap instead of being cut.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

PROJECTOR_KEY = "projector"

_BASE_CSS = """
<style>
[data-testid="stElementContainer"][data-stale="true"] [data-testid="stDownloadButton"] button,
[data-testid="stElementContainer"][data-stale="true"] [data-testid="stDownloadButton"] a {
  pointer-events: none; opacity: 0.35; cursor: wait;
}
</style>
"""

_PROJECTOR_CSS = """
<style>
html, body, .stApp, [data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"],
[data-testid="stWidgetLabel"] p, label, li { font-size: 1.25rem !important; color: #000 !important; }
h1 { font-size: 2.6rem !important; } h2, h3 { font-size: 1.9rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] div,
[data-testid="stMetricValue"] p { font-size: 2.6rem !important; color: #000 !important;
  line-height: 1.2 !important; }
[data-testid="stMetric"] div { overflow: visible !important; white-space: normal !important; }
[data-baseweb="select"] > div > div:first-child { flex-wrap: wrap !important; overflow: visible !important; }
[data-testid="stMetricLabel"] p { font-size: 1.3rem !important; color: #111 !important; }
[data-testid="stCaptionContainer"] { color: #222 !important; }
[data-testid="stWidgetLabel"] p, [data-baseweb="tag"] span, [data-testid="stRadio"] label p,
[data-testid="stCheckbox"] label p, [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] *, [data-testid="stSidebarNav"] span,
[data-baseweb="select"] div { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; max-width: none !important; }
[data-baseweb="tag"] { max-width: none !important; height: auto !important; }
</style>
"""


def page_style() -> None:
    """Inject the page CSS (stale-download guard; projector styles when that option is on)."""
    st.html(_BASE_CSS + (_PROJECTOR_CSS if projector() else ""))


def projector() -> bool:
    """Whether the projector display option is on in this session."""
    return bool(st.session_state.get(PROJECTOR_KEY, False))


def projector_layout(fig: go.Figure, min_height: int = 560) -> go.Figure:
    """``fig`` with large dark fonts, high-contrast axes and at least ``min_height`` px."""
    height = max(int(fig.layout.height or 450) * 1.4, min_height)
    fig.update_layout(font=dict(size=20, color="#000"), height=height,
                      title_font=dict(size=24, color="#000"), legend_font=dict(size=18, color="#000"))
    axis = dict(tickfont=dict(size=18, color="#000"), title_font=dict(size=20, color="#000"),
                linecolor="#000", gridcolor="#bbb")
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    return fig


def chart(fig: go.Figure, key: str, target=None, **kwargs) -> None:
    """``st.plotly_chart`` (on ``target``, default the page; ``kwargs`` passed on),
    projector-sized when that is on."""
    (target or st).plotly_chart(projector_layout(fig) if projector() else fig, key=key, **kwargs)

"""The class's Pareto chart: every submission, each student's best, the class frontier (Plotly)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .board import class_frontier, leaderboard

SUBMISSIONS, BEST, FRONTIER, YOURS = "All submissions", "Best per student", "Class frontier", "Yours"


def _hover(df: pd.DataFrame) -> tuple[np.ndarray, str]:
    score = [f"{s:.4f}" if pd.notna(s) else "below floor" for s in df["score"]]
    custom = np.stack([np.asarray(df["name"], object), np.asarray(score, object)], axis=1) \
        if len(df) else np.zeros((0, 2), object)
    return custom, ("<b>%{customdata[0]}</b><br>sparsity %{x:.2f}%<br>hidden-split accuracy "
                    "%{y:.2f}%<br>score %{customdata[1]}<extra></extra>")


def class_figure(subs: pd.DataFrame, floor: float, you: int | None = None,
                 title: str = "The class on sparsity vs accuracy") -> go.Figure:
    """Traces, in order: all submissions, best per student (named), the class frontier, and
    the submissions of student ``you`` when given; the accuracy floor is a dashed line."""
    fig = go.Figure()
    custom, hover = _hover(subs)
    fig.add_scatter(x=100 * subs["sparsity"], y=100 * subs["accuracy"], mode="markers", name=SUBMISSIONS,
                    marker=dict(size=8, color="rgba(100,110,130,0.45)"), customdata=custom,
                    hovertemplate=hover)
    board = leaderboard(subs)
    best = subs.set_index("id").loc[board["best_id"]].reset_index() if len(board) else subs
    custom, hover = _hover(best)
    fig.add_scatter(x=100 * best["sparsity"], y=100 * best["accuracy"], mode="markers+text",
                    name=BEST, text=best["name"], textposition="bottom center",
                    marker=dict(size=13, color="#1f77b4", line=dict(color="black", width=1)),
                    customdata=custom, hovertemplate=hover)
    front = class_frontier(subs) if len(subs) else subs
    custom, hover = _hover(front)
    fig.add_scatter(x=100 * front["sparsity"], y=100 * front["accuracy"], mode="lines+markers",
                    name=FRONTIER, line=dict(color="rgba(0,0,0,0.35)", width=6),
                    marker=dict(size=20, symbol="circle-open", color="black", line=dict(width=2)),
                    customdata=custom, hovertemplate=hover)
    if you is not None:
        mine = subs[subs["student"] == you]
        custom, hover = _hover(mine)
        fig.add_scatter(x=100 * mine["sparsity"], y=100 * mine["accuracy"], mode="markers", name=YOURS,
                        marker=dict(size=16, symbol="star", color="gold", line=dict(color="black", width=1)),
                        customdata=custom, hovertemplate=hover)
    fig.add_hline(y=100 * floor, line=dict(color="crimson", dash="dash", width=1.5),
                  annotation_text=f"accuracy floor {100 * floor:.0f}%", annotation_position="bottom left")
    lo = min([100 * floor] + list(100 * subs["accuracy"]))
    fig.update_layout(template="plotly_white", title=title, height=480, hovermode="closest",
                      margin=dict(l=60, r=20, t=90, b=55),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    fig.update_xaxes(title_text="Sparsity, all parameters (%)", range=[-2, 102], ticksuffix="%")
    fig.update_yaxes(title_text="Hidden-split accuracy (%)", range=[max(0.0, lo - 5), 103], ticksuffix="%")
    return fig

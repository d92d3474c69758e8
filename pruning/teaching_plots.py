"""Plotly figures of the teaching views (never imports streamlit; inputs from ``pruning.teaching``).

Trace names are part of the contract the tests read: 'Pruned', 'Kept', 'Threshold …'
(one per drawn threshold), 'Dense', 'Pruned model'.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .plots import _LAYOUT, COLORS, _legend_top
from .teaching import Filters, Histogram, MaskGrid, mosaic

PRUNED_COLOR = "#d62728"
KEPT_COLOR = "#1f77b4"
THRESHOLD_NAME = "Threshold"


def _steps(edges: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a step outline over the bins (each bin flat from its left to its right edge)."""
    x = np.repeat(edges, 2)[1:-1]
    y = np.repeat(counts, 2)
    return x, y


def histogram_figure(h: Histogram, title: str) -> go.Figure:
    """Stacked step histogram of |w| on a log axis: pruned (red) under kept (blue), one dashed
    line per threshold, the region below a single threshold shaded."""
    x, pruned = _steps(h.edges, h.pruned)
    _, kept = _steps(h.edges, h.kept)
    n_pruned = int(h.pruned.sum() + h.zeros_pruned)
    fig = go.Figure()
    fig.add_scatter(x=x, y=pruned, mode="lines", fill="tozeroy", name=f"Pruned ({n_pruned:,})",
                    line=dict(color=PRUNED_COLOR, width=1), fillcolor="rgba(214,39,40,0.55)",
                    hovertemplate="|w| ≈ %{x:.2e}<br>%{y:,} pruned<extra></extra>")
    fig.add_scatter(x=x, y=pruned + kept, mode="lines", fill="tonexty",
                    name=f"Kept ({h.total - n_pruned:,})", customdata=kept,
                    line=dict(color=KEPT_COLOR, width=1), fillcolor="rgba(31,119,180,0.45)",
                    hovertemplate="|w| ≈ %{x:.2e}<br>%{customdata:,} kept<extra></extra>")
    top = float(max((pruned + kept).max(initial=0), 1)) * 1.08
    for i, (name, t) in enumerate(h.thresholds):
        if t <= 0:  # 0 prunes nothing and has no place on a log axis
            continue
        label = THRESHOLD_NAME if len(h.thresholds) == 1 else f"{THRESHOLD_NAME} {name}"
        fig.add_scatter(x=[t, t], y=[0, top], mode="lines", name=f"{label} = {t:.3g}",
                        line=dict(color="black" if len(h.thresholds) == 1 else COLORS[i % len(COLORS)],
                                  width=2.5 if len(h.thresholds) == 1 else 1.5, dash="dash"),
                        hovertemplate=f"{label}<br>|w| < {t:.3g} is pruned<extra></extra>")
    if len(h.thresholds) == 1 and h.thresholds[0][1] > h.edges[0]:
        fig.add_vrect(x0=h.edges[0], x1=min(h.thresholds[0][1], h.edges[-1]),
                      fillcolor="rgba(214,39,40,0.08)", line_width=0, layer="below")
    zeros = h.zeros_kept + h.zeros_pruned
    if zeros:
        fig.add_annotation(text=f"{zeros:,} weights exactly 0 (not on the log axis)", showarrow=False,
                           xref="paper", yref="paper", x=1, y=1.0, xanchor="right", yanchor="bottom")
    fig.update_layout(**_LAYOUT, title=title, legend=_legend_top() | dict(traceorder="normal"),
                      height=420, hovermode="closest")
    fig.update_layout(title=dict(y=0.97, yanchor="top"), margin=dict(t=100))
    if len(h.thresholds) > 1:  # one line per array: the legend goes beside the plot
        fig.update_layout(legend=dict(orientation="v", x=1.02, y=1, yanchor="top", xanchor="left",
                                      font=dict(size=11), traceorder="normal"),
                          margin=dict(t=60, r=20), height=460)
    fig.update_xaxes(type="log", title_text="|w| (log scale)", exponentformat="power")
    fig.update_yaxes(title_text="Weights per bin", range=[0, top], rangemode="tozero")
    return fig


def mask_figure(grid: MaskGrid, name: str, rows_label: str, cols_label: str) -> go.Figure:
    """Heatmap of the fraction of weights kept per cell (pale red removed, dark blue kept);
    axes count real filters/units and inputs, also when cells average blocks of them."""
    x = np.arange(grid.kept.shape[1]) * grid.col_step
    y = np.arange(grid.kept.shape[0]) * grid.row_step
    block = f" (cells average {grid.row_step}x{grid.col_step})" if grid.averaged else ""
    fig = go.Figure(go.Heatmap(z=grid.kept, x=x, y=y, zmin=0, zmax=1,
                               colorscale=[[0, "#fbe3e3"], [1, "#08306b"]],
                               colorbar=dict(title="kept", tickformat=".0%"),
                               hovertemplate=f"{rows_label} %{{y}}, {cols_label} %{{x}}<br>"
                                             "%{z:.0%} kept<extra></extra>", name=name))
    fig.update_layout(**_LAYOUT, title=f"Kept weights of {name}{block}", height=440)
    fig.update_layout(margin=dict(t=60))
    fig.update_xaxes(title_text=f"{cols_label} ({grid.cols:,})", showgrid=False)
    fig.update_yaxes(title_text=f"{rows_label} ({grid.rows:,})", autorange="reversed", showgrid=False)
    return fig


def filters_figure(f: Filters, cols: int = 16) -> go.Figure:
    """The filters as small images, dense (top) and pruned (bottom), on one colour scale
    (red negative, blue positive); removed weights are grey squares in the pruned row."""
    dense, pruned = mosaic(f.dense, cols), mosaic(f.pruned, cols)
    gone = mosaic(f.removed.astype(float), cols)
    gone[gone != 1] = np.nan
    zmax = float(np.nanmax(np.abs(dense))) or 1.0
    fig = make_subplots(rows=2, cols=1, subplot_titles=("Dense", "Pruned (grey: removed)"),
                        vertical_spacing=0.12)
    for row, (name, z) in enumerate((("Dense", dense), ("Pruned model", pruned)), start=1):
        fig.add_trace(go.Heatmap(z=z, zmin=-zmax, zmax=zmax, colorscale="RdBu", name=name,
                                 showscale=row == 1, colorbar=dict(title="w", len=0.9),
                                 hovertemplate="w = %{z:.3f}<extra>" + name + "</extra>"),
                      row=row, col=1)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{row if row > 1 else ''}",
                         showticklabels=False, showgrid=False, zeroline=False, row=row, col=1)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=row, col=1)
    fig.add_trace(go.Heatmap(z=gone, zmin=0, zmax=1, colorscale=[[0, "#9e9e9e"], [1, "#9e9e9e"]],
                             showscale=False, name="Removed", hovertemplate="removed<extra></extra>"),
                  row=2, col=1)
    aspect = dense.shape[0] / dense.shape[1]
    fig.update_layout(**_LAYOUT, title=f"First-layer filters ({f.what})",
                      height=int(150 + 2 * max(90, 900 * aspect)))
    return fig


def class_accuracy_figure(names: Sequence[str], dense: np.ndarray, pruned: np.ndarray) -> go.Figure:
    """Grouped bars: val accuracy per class, dense beside pruned."""
    fig = go.Figure()
    for label, acc, color in (("Dense", dense, COLORS[7]), ("Pruned model", pruned, PRUNED_COLOR)):
        fig.add_bar(x=list(names), y=100 * np.asarray(acc, float), name=label, marker_color=color,
                    hovertemplate="%{x}: %{y:.1f}%<extra>" + label + "</extra>")
    fig.update_layout(**_LAYOUT, title="Val accuracy per class", barmode="group",
                      legend=_legend_top(), height=400)
    fig.update_layout(title=dict(y=0.97, yanchor="top"), margin=dict(t=90))
    fig.update_yaxes(title_text="Accuracy (%)", range=[0, 105], ticksuffix="%")
    return fig


def confusion_figure(names: Sequence[str], dense: np.ndarray, pruned: np.ndarray) -> go.Figure:
    """Two confusion matrices side by side (rows true, columns predicted); colour = share of
    the true class, text = count."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Dense", "Pruned model"),
                        horizontal_spacing=0.12)
    names = list(names)
    for col, (label, cm) in enumerate((("Dense", dense), ("Pruned model", pruned)), start=1):
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        fig.add_trace(go.Heatmap(z=share, x=names, y=names, zmin=0, zmax=1, colorscale="Blues",
                                 text=cm, texttemplate="%{text}" if len(names) <= 12 else None,
                                 customdata=cm, name=label, showscale=col == 2,
                                 colorbar=dict(title="share", tickformat=".0%"),
                                 hovertemplate="true %{y}, predicted %{x}<br>%{customdata:,} "
                                               "(%{z:.0%} of the class)<extra>" + label + "</extra>"),
                      row=1, col=col)
        fig.update_yaxes(autorange="reversed", title_text="True class" if col == 1 else None,
                         row=1, col=col)
        fig.update_xaxes(title_text="Predicted class", tickangle=-45, row=1, col=col)
    fig.update_layout(**_LAYOUT, title="Confusion matrices (validation)",
                      height=520 if len(names) <= 12 else 700)
    fig.update_layout(margin=dict(t=90, b=110))
    return fig


def flipped_figure(images: np.ndarray, true_names: Sequence[str],
                   pred_names: Sequence[str]) -> go.Figure:
    """A strip of images (n, h, w, 1|3 in [0, 1]) titled with true and predicted class."""
    n = len(images)
    fig = make_subplots(rows=1, cols=max(n, 1), horizontal_spacing=0.01,
                        subplot_titles=[f"{t}<br>→ {p}" for t, p in zip(true_names, pred_names)])
    for k in range(n):
        img = np.asarray(images[k], float)
        if img.shape[-1] == 3:
            trace = go.Image(z=np.clip(img * 255, 0, 255).astype(np.uint8), name=f"example {k}",
                             hoverinfo="skip")
        else:
            trace = go.Heatmap(z=img[..., 0], colorscale="gray_r", zmin=0, zmax=1, showscale=False,
                               name=f"example {k}", hoverinfo="skip")
        fig.add_trace(trace, row=1, col=k + 1)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{k + 1 if k else ''}",
                         showticklabels=False, showgrid=False, row=1, col=k + 1)
        fig.update_xaxes(showticklabels=False, showgrid=False, row=1, col=k + 1)
    fig.update_annotations(font_size=11)
    fig.update_layout(**_LAYOUT, title="Right before, wrong now: true → predicted", height=230)
    fig.update_layout(margin=dict(l=10, r=10, t=100, b=10))
    return fig

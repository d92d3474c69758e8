"""Plotly figures and display tables for the dashboard (pure: DataFrames in, figures out).

Never imports streamlit, so every builder is testable on its own. Inputs use the API's
fractions (0..1); the figures and tables show percent.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .bands import add_band, mean_rows, wilson_bars
from .frontier import DEFAULT_FLOOR, add_scores, best_row, pareto_mask
from .labels import method_label, run_label

FRONTIER_NAME = "Pareto frontier (all methods)"
BEST_NAME = "Best challenge score"
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]
_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=55),
               font=dict(size=14), hoverlabel=dict(font_size=13))


def _legend_top() -> dict:
    return dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0)


def layer_frame(per_array: Sequence) -> pd.DataFrame:
    """Per-layer zeros/params from per-array counts (``Pruned.per_array``), model order.

    Columns: layer, params, zeros, sparsity (fraction), share (fraction of all params).
    """
    rows: dict[str, list[int]] = {}
    for a in per_array:
        layer = a.name.rsplit("/", 1)[0]
        acc = rows.setdefault(layer, [0, 0])
        acc[0] += int(a.size)
        acc[1] += int(a.zeros)
    df = pd.DataFrame([(k, p, z) for k, (p, z) in rows.items()], columns=["layer", "params", "zeros"])
    total = max(int(df["params"].sum()), 1)
    df["sparsity"] = np.where(df["params"] > 0, df["zeros"] / df["params"].clip(lower=1), 0.0)
    df["share"] = df["params"] / total
    return df


def layer_figure(layers: pd.DataFrame, title: str = "Per-layer sparsity and parameter share") -> go.Figure:
    """Grouped bars per layer: its sparsity (%) and its share of all parameters (%)."""
    custom = np.stack([layers["params"], layers["zeros"], layers["params"] - layers["zeros"]], axis=1)
    fig = go.Figure()
    fig.add_bar(x=layers["layer"], y=100 * layers["sparsity"], name="Sparsity of the layer (%)",
                marker_color=COLORS[0], customdata=custom,
                hovertemplate="<b>%{x}</b><br>sparsity %{y:.2f}%<br>%{customdata[1]:,} of "
                              "%{customdata[0]:,} weights are zero<extra></extra>")
    fig.add_bar(x=layers["layer"], y=100 * layers["share"], name="Share of all parameters (%)",
                marker_color=COLORS[1], customdata=custom,
                hovertemplate="<b>%{x}</b><br>%{y:.2f}% of all parameters<br>"
                              "%{customdata[0]:,} parameters<extra></extra>")
    fig.update_layout(**_LAYOUT, title=title, barmode="group", legend=_legend_top(), height=380)
    fig.update_layout(title=dict(y=0.97, yanchor="top"), margin=dict(t=90))
    fig.update_xaxes(title_text="Layer")
    fig.update_yaxes(title_text="Percent (%)", range=[0, 105], ticksuffix="%")
    return fig


def frontier_points(rows: pd.DataFrame, floor: float = DEFAULT_FLOOR) -> pd.DataFrame:
    """Rows with 'score' (for ``floor``) and 'on_frontier' (Pareto across all methods)."""
    out = add_scores(rows, floor).reset_index(drop=True)
    out["on_frontier"] = pareto_mask(out["sparsity"].to_numpy(), out["accuracy"].to_numpy()) \
        if len(out) else np.zeros(0, bool)
    return out


def frontier_figure(rows: pd.DataFrame, floor: float = DEFAULT_FLOOR,
                    title: str = "Accuracy vs sparsity", dense_accuracy: float | None = None,
                    retrained: pd.DataFrame | None = None, n_val: int | None = None) -> go.Figure:
    """Accuracy vs sparsity per method, the Pareto frontier across all, the best score.

    Traces, in order: one per swept method (sweep order), the frontier, one per retraining
    method and recipe in ``retrained`` (diamond markers: single finished runs; an optional
    'recipe' column names non-default training options), and the best point
    (when some point clears ``floor``); retrained points count for frontier and best. The floor is a
    dashed horizontal line (a shape).

    With ``n_val`` (val images) each swept (one-shot, deterministic) point carries its Wilson
    95 % interval as error bars. Retrained runs with a 'seed' column are collapsed to their
    mean per level (``bands.mean_rows``): a method with several seeds is a mean line over a
    +-1 sd band (and a 95 % t-interval band where n >= 3); frontier and best use the means.
    """
    if retrained is not None and len(retrained) and "seed" in retrained:
        retrained = mean_rows(retrained)
    n_swept = len(rows)
    if retrained is not None and len(retrained):
        rows = pd.concat([rows, retrained], ignore_index=True) if n_swept else retrained
    pts = frontier_points(rows, floor)
    pts["retrained"] = np.arange(len(pts)) >= n_swept
    fig = go.Figure()
    hover = ("<b>%{fullData.name}</b><br>sparsity %{x:.2f}% (target %{customdata[0]:.1f}%)"
             "<br>val accuracy %{y:.2f}%<br>challenge score %{customdata[1]}<extra></extra>")

    def custom(df: pd.DataFrame) -> np.ndarray:
        target = 100 * (df["target"] if "target" in df else df["sparsity"])
        score = [f"{s:.4f}" if np.isfinite(s) else "below floor" for s in df["score"]]
        return np.stack([np.asarray(target, float), np.asarray(score, object)], axis=1)

    swept, extra = pts[~pts["retrained"]], pts[pts["retrained"]]
    methods = list(dict.fromkeys(swept["method"]))
    for i, m in enumerate(methods):
        d = swept[swept["method"] == m].sort_values("sparsity")
        fig.add_scatter(x=100 * d["sparsity"], y=100 * d["accuracy"], mode="lines+markers",
                        name=method_label(m), line=dict(color=COLORS[i % len(COLORS)], width=2),
                        marker=dict(size=7), customdata=custom(d), hovertemplate=hover,
                        error_y=None if not n_val else wilson_bars(d["accuracy"], n_val))
    front = pts[pts["on_frontier"]].sort_values(["sparsity", "accuracy"])
    fig.add_scatter(x=100 * front["sparsity"], y=100 * front["accuracy"], mode="lines+markers",
                    name=FRONTIER_NAME, line=dict(color="rgba(0,0,0,0.35)", width=7),
                    marker=dict(size=12, symbol="circle-open", color="black", line=dict(width=2)),
                    customdata=custom(front), hovertemplate=hover)
    labels = [run_label(m, r) for m, r in zip(extra["method"], _recipes(extra))]
    for j, name in enumerate(dict.fromkeys(labels)):  # drawn over the frontier's band
        d = extra[[lb == name for lb in labels]].sort_values("sparsity")
        color = COLORS[(len(methods) + j + 2) % len(COLORS)]
        if "n" in d and (d["n"] > 1).any():
            add_band(fig, d, color, name)
            fig.add_scatter(x=100 * d["sparsity"], y=100 * d["accuracy"], mode="lines+markers",
                            name=f"{name}: mean of {int(d['n'].min())}-{int(d['n'].max())} seeds"
                            if d["n"].min() != d["n"].max() else f"{name}: mean of {int(d['n'].iloc[0])} seeds",
                            customdata=custom(d), hovertemplate=hover, legendgroup=name,
                            line=dict(color=color, width=2),
                            marker=dict(size=11, symbol="diamond", color=color,
                                        line=dict(color="black", width=1)))
            continue
        fig.add_scatter(x=100 * d["sparsity"], y=100 * d["accuracy"], mode="markers",
                        name=name, customdata=custom(d), hovertemplate=hover,
                        marker=dict(size=13, symbol="diamond", line=dict(color="black", width=1),
                                    color=COLORS[(len(methods) + j + 2) % len(COLORS)]))
    best = best_row(pts, floor) if len(pts) else None
    if best is not None:
        fig.add_scatter(x=[100 * best["sparsity"]], y=[100 * best["accuracy"]], mode="markers",
                        name=f"{BEST_NAME} ({best['score']:.4f})",
                        marker=dict(size=20, symbol="star", color="gold",
                                    line=dict(color="black", width=1.5)),
                        customdata=custom(pd.DataFrame([best])), hovertemplate=hover)
        # the label sits off the curve (down and left, where accuracy is higher), on a box
        fig.add_annotation(x=100 * best["sparsity"], y=100 * best["accuracy"],
                           text=f"best {best['score']:.3f}", showarrow=True, arrowhead=0, ax=-70,
                           ay=45, bgcolor="rgba(255,255,255,0.9)", bordercolor="#333", borderpad=3)
    if dense_accuracy is not None:
        fig.add_hline(y=100 * dense_accuracy, line=dict(color="gray", dash="dot", width=1),
                      annotation_text=f"dense {100 * dense_accuracy:.1f}%",
                      annotation_position="top right")
    fig.add_hline(y=100 * floor, line=dict(color="crimson", dash="dash", width=1.5),
                  annotation_text=f"accuracy floor {100 * floor:.0f}%",
                  annotation_position="bottom left")
    lo = min([100 * floor] + (list(100 * pts["accuracy"]) if len(pts) else []))
    fig.update_layout(**_LAYOUT, title=title, legend=_legend_top(), height=520, hovermode="closest")
    fig.update_layout(title=dict(y=0.98, yanchor="top"), margin=dict(t=110))
    fig.update_xaxes(title_text="Sparsity (%)", range=[-2, 102], ticksuffix="%")
    fig.update_yaxes(title_text="Validation accuracy (%)", range=[max(0.0, lo - 5), 101],
                     ticksuffix="%")
    return fig


def _recipes(rows: pd.DataFrame) -> list[str]:
    """Each row's training recipe label ('' for sweeps and default retraining)."""
    if "recipe" not in rows:
        return [""] * len(rows)
    return [r if isinstance(r, str) else "" for r in rows["recipe"]]


def frontier_table(rows: pd.DataFrame, floor: float = DEFAULT_FLOOR) -> pd.DataFrame:
    """Display table of sweep points in percent, best scores first within each method
    (plus 'Exact' when some rows come from an adaptive fill)."""
    pts = frontier_points(rows, floor)
    out = pd.DataFrame({
        "Method": [run_label(m, r) for m, r in zip(pts["method"], _recipes(pts))],
        "Target (%)": 100 * pts["target"] if "target" in pts else 100 * pts["sparsity"],
        "Sparsity (%)": 100 * pts["sparsity"],
        "Val accuracy (%)": 100 * pts["accuracy"],
        "Loss": pts["loss"] if "loss" in pts else np.nan,
        "Challenge score": pts["score"],
        "On frontier": pts["on_frontier"],
    })
    if "sparsity_model" in pts:  # every array of the saved file, normalization included
        out.insert(3, "Whole model zeros (%)", 100 * pts["sparsity_model"].astype(float))
    if "exact" in pts:  # adaptive fill: False where a level was filled, not fully evaluated
        out["Exact"] = pts["exact"].astype("boolean").fillna(True).astype(bool)
    return out


def sensitivity_figure(df: pd.DataFrame, dense_accuracy: float | None = None,
                       floor: float | None = None,
                       title: str = "Per-layer sensitivity (only that layer pruned)") -> go.Figure:
    """Val accuracy vs the target sparsity of one layer; one line per layer."""
    fig = go.Figure()
    for i, (layer, d) in enumerate(df.groupby("layer", sort=False)):
        d = d.sort_values("target")
        fig.add_scatter(x=100 * d["target"], y=100 * d["accuracy"], mode="lines+markers",
                        name=str(layer), line=dict(color=COLORS[i % len(COLORS)], width=2),
                        customdata=100 * d["sparsity"],
                        hovertemplate=f"<b>{layer}</b><br>target %{{x:.1f}}% (achieved "
                                      "%{customdata:.2f}%)<br>val accuracy %{y:.2f}%<extra></extra>")
    if dense_accuracy is not None:
        fig.add_hline(y=100 * dense_accuracy, line=dict(color="gray", dash="dot", width=1),
                      annotation_text=f"dense {100 * dense_accuracy:.1f}%",
                      annotation_position="top right")
    if floor is not None:
        fig.add_hline(y=100 * floor, line=dict(color="crimson", dash="dash", width=1.5),
                      annotation_text=f"accuracy floor {100 * floor:.0f}%",
                      annotation_position="bottom left")
    fig.update_layout(**_LAYOUT, title=title, legend=_legend_top(), height=500, hovermode="closest")
    fig.update_layout(title=dict(y=0.98, yanchor="top"), margin=dict(t=110))
    fig.update_xaxes(title_text="Sparsity of that layer (%)", range=[-2, 102], ticksuffix="%")
    fig.update_yaxes(title_text="Validation accuracy (%)", range=[0, 101], ticksuffix="%")
    return fig


def history_figure(history: pd.DataFrame, x: str, y: Sequence[str], title: str,
                   x_title: str, labels: dict[str, str] | None = None) -> go.Figure:
    """Line chart of fraction columns ``y`` (shown in %) against the integer column ``x``."""
    labels = labels or {}
    fig = go.Figure()
    for i, col in enumerate(y):
        if col in history:
            fig.add_scatter(x=history[x], y=100 * history[col], mode="lines+markers",
                            name=labels.get(col, col), line=dict(color=COLORS[i % len(COLORS)]),
                            hovertemplate=f"{labels.get(col, col)}: %{{y:.2f}}%<extra></extra>")
    fig.update_layout(**_LAYOUT, title=title, legend=_legend_top(), height=420, hovermode="x unified")
    fig.update_layout(margin=dict(t=100))
    fig.update_xaxes(title_text=x_title, tickformat="d", dtick=1 if len(history) <= 20 else None)
    fig.update_yaxes(title_text="Percent (%)", ticksuffix="%")
    return fig


def training_figure(history: pd.DataFrame, title: str = "Training curves") -> go.Figure:
    """Training loss (left axis) and val accuracy in % (right axis) per finished epoch.

    ``history``: the epoch rows of a retraining run (``loss``, ``val_accuracy`` as a
    fraction, optional ``phase``), in order; the x axis counts epochs over all phases.
    """
    x = list(range(1, len(history) + 1))
    phase = history["phase"].astype(str).tolist() if "phase" in history else [""] * len(x)
    fig = go.Figure()
    fig.add_scatter(x=x, y=history["loss"] if len(history) else [], mode="lines+markers",
                    name="Training loss", line=dict(color=COLORS[3], width=2), customdata=phase,
                    hovertemplate="loss %{y:.4f} (%{customdata})<extra></extra>")
    fig.add_scatter(x=x, y=100 * history["val_accuracy"] if len(history) else [],
                    mode="lines+markers", name="Val accuracy (%)", yaxis="y2",
                    line=dict(color=COLORS[0], width=2), customdata=phase,
                    hovertemplate="val accuracy %{y:.2f}% (%{customdata})<extra></extra>")
    fig.update_layout(**_LAYOUT, title=title, legend=_legend_top(), height=380, hovermode="x unified")
    fig.update_layout(margin=dict(t=100, r=70),
                      yaxis2=dict(title_text="Val accuracy (%)", overlaying="y", side="right",
                                  ticksuffix="%", tickformat=".1f", showgrid=False))
    fig.update_xaxes(title_text="Epoch (all phases)", tickformat="d",
                     dtick=1 if len(x) <= 20 else None, range=[0.5, max(len(x), 1) + 0.5])
    fig.update_layout(yaxis=dict(title_text="Training loss", rangemode="tozero"))
    if not len(history):  # before the first epoch ends: plain axes, not Plotly's -1..4 default
        fig.update_layout(yaxis=dict(range=[0, 2.5]), yaxis2=dict(range=[0, 100], tickformat="d"))
    return fig


def cost_figure(rows: pd.DataFrame, axis: str, axis_title: str, floor: float = DEFAULT_FLOOR,
                dense_accuracy: float | None = None) -> go.Figure:
    """Val accuracy vs a cost column ``axis`` (lower is better): one line per swept method,
    diamonds for retrained runs (``retrained`` column), the frontier from ``on_frontier``."""
    fig = go.Figure()
    hover = ("<b>%{fullData.name}</b><br>" + axis_title + " %{x:,.4g}<br>sparsity %{customdata:.2f}%"
             "<br>val accuracy %{y:.2f}%<extra></extra>")
    retrained = rows["retrained"] if "retrained" in rows else pd.Series(False, index=rows.index)
    swept, extra = rows[~retrained], rows[retrained]
    for i, m in enumerate(dict.fromkeys(swept["method"])):
        d = swept[swept["method"] == m].sort_values(axis)
        fig.add_scatter(x=d[axis], y=100 * d["accuracy"], mode="lines+markers", name=method_label(m),
                        line=dict(color=COLORS[i % len(COLORS)], width=2), marker=dict(size=7),
                        customdata=100 * d["sparsity"], hovertemplate=hover)
    front = rows[rows["on_frontier"]].sort_values([axis, "accuracy"]) if len(rows) else rows
    fig.add_scatter(x=front[axis], y=100 * front["accuracy"], mode="lines+markers", name=FRONTIER_NAME,
                    line=dict(color="rgba(0,0,0,0.35)", width=7),
                    marker=dict(size=12, symbol="circle-open", color="black", line=dict(width=2)),
                    customdata=100 * front["sparsity"], hovertemplate=hover)
    for j, name in enumerate(dict.fromkeys(run_label(m, r) for m, r in zip(extra["method"], _recipes(extra)))):
        d = extra[[run_label(m, r) == name for m, r in zip(extra["method"], _recipes(extra))]]
        fig.add_scatter(x=d[axis], y=100 * d["accuracy"], mode="markers", name=name,
                        customdata=100 * d["sparsity"], hovertemplate=hover,
                        marker=dict(size=13, symbol="diamond", line=dict(color="black", width=1),
                                    color=COLORS[(j + 5) % len(COLORS)]))
    if dense_accuracy is not None:
        fig.add_hline(y=100 * dense_accuracy, line=dict(color="gray", dash="dot", width=1),
                      annotation_text=f"dense {100 * dense_accuracy:.1f}%",
                      annotation_position="top right")
    fig.add_hline(y=100 * floor, line=dict(color="crimson", dash="dash", width=1.5),
                  annotation_text=f"accuracy floor {100 * floor:.0f}%", annotation_position="bottom left")
    fig.update_layout(**_LAYOUT, title=f"Accuracy vs {axis_title.split(' (')[0].lower()}",
                      legend=_legend_top(), height=520, hovermode="closest",
                      xaxis_title=axis_title, yaxis_title="Val accuracy (%)")
    return fig


def removed_units_figure(removed: pd.DataFrame, title: str = "Channels / neurons kept and removed per layer") -> go.Figure:
    """Stacked bars per producer layer: the share of its units kept and removed (%), the
    counts as bar text, so a 32-filter conv reads as clearly as a 512-unit dense layer.

    ``removed``: columns ``layer``, ``before``, ``after``, ``removed`` (one row per producer
    layer, model order; ``pruning.structured`` ``StructuredResult.removed``).
    """
    before = removed["before"].clip(lower=1)
    kept_pct, gone_pct = 100 * removed["after"] / before, 100 * removed["removed"] / before
    custom = np.stack([removed["before"], removed["after"], removed["removed"]], axis=1)
    fig = go.Figure()
    fig.add_bar(x=removed["layer"], y=kept_pct, name="Kept", marker_color=COLORS[0],
                text=[f"{a:,}" for a in removed["after"]], textposition="inside", customdata=custom,
                hovertemplate="<b>%{x}</b><br>%{customdata[1]:,} of %{customdata[0]:,} kept "
                "(%{y:.1f}%)<extra></extra>")
    fig.add_bar(x=removed["layer"], y=gone_pct, name="Removed", marker_color=COLORS[3],
                text=[f"{r:,}" if r else "" for r in removed["removed"]], textposition="inside",
                customdata=custom, hovertemplate="<b>%{x}</b><br>%{customdata[2]:,} of "
                "%{customdata[0]:,} removed (%{y:.1f}%)<extra></extra>")
    fig.update_layout(**_LAYOUT, title=title, barmode="stack", height=380,
                      legend=dict(_legend_top(), traceorder="normal"))
    fig.update_layout(title=dict(y=0.97, yanchor="top"), margin=dict(t=90))
    fig.update_xaxes(title_text="Layer")
    fig.update_yaxes(title_text="Units of the layer (%)", range=[0, 100], ticksuffix="%")
    return fig

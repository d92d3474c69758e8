"""Uncertainty on the frontier chart: seeds collapsed to mean rows, bands, Wilson error bars.

Pure (pandas and Plotly, no streamlit). A retraining method run with several seeds is drawn
as its mean per level with a +-1 sd band and, when n >= 3, a lighter 95 % t-interval band;
a one-shot point (deterministic) carries the Wilson 95 % interval of its val accuracy as
error bars. ``frontier_table`` columns n, mean, sd, min, max come from ``seed_table``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .intervals import MIN_N_FOR_T, level_summary, wilson_accuracy

# runs averaged together: same method, recipe, scope, target and training budget
GROUP = ["method", "recipe", "scope", "target", "epochs", "n_train"]


def has_seeds(rows: pd.DataFrame | None) -> bool:
    """Whether some level of some method holds more than one run (a seed column that varies)."""
    if rows is None or not len(rows) or "seed" not in rows:
        return False
    keys = [k for k in GROUP if k in rows]
    return bool((rows.groupby(keys, dropna=False).size() > 1).any())


def mean_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, recipe, scope, target): the mean sparsity and accuracy over its
    runs (what the frontier, the score and the best marker use) with ``n``, ``sd``, ``min``,
    ``max``, ``ci_low``, ``ci_high`` of the val accuracy (and the test mean when present)."""
    rows = rows.copy()
    if "recipe" in rows:
        rows["recipe"] = rows["recipe"].where(rows["recipe"].map(lambda r: isinstance(r, str)), "")
    keys = [k for k in GROUP if k in rows]
    wide = level_summary(rows, [c for c in ("accuracy", "test_accuracy", "loss") if c in rows], keys)
    out = wide[keys + ["sparsity"]].copy()
    out["accuracy"] = wide["accuracy_mean"]
    for k in ("n", "sd", "min", "max", "ci_low", "ci_high"):
        out[k] = wide[f"accuracy_{k}"]
    out["n"] = out["n"].astype(int)
    if "loss_mean" in wide:
        out["loss"] = wide["loss_mean"]
    if "test_accuracy_mean" in wide:
        out["test_accuracy"] = wide["test_accuracy_mean"]
    return out


def wilson_bars(accuracy: pd.Series, n_val: int) -> dict:
    """Plotly ``error_y`` (percent) of each accuracy's Wilson 95 % interval on ``n_val`` images."""
    lo, hi = zip(*(wilson_accuracy(a, n_val) for a in accuracy)) if len(accuracy) else ((), ())
    acc = np.asarray(accuracy, float)
    return dict(type="data", symmetric=False, array=100 * (np.asarray(hi) - acc),
                arrayminus=100 * (acc - np.asarray(lo)), thickness=1, width=3)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def add_band(fig: go.Figure, d: pd.DataFrame, color: str, name: str) -> None:
    """A +-1 sd band (and the 95 % t-interval where n >= 3) under a mean line's points ``d``
    (sorted by sparsity; columns from ``mean_rows``)."""
    x = list(100 * d["sparsity"])
    sd = d["sd"].fillna(0.0)
    lower, upper = 100 * (d["accuracy"] - sd), 100 * (d["accuracy"] + sd)
    fig.add_scatter(x=x + x[::-1], y=list(upper) + list(lower)[::-1], fill="toself", mode="lines",
                    line=dict(width=0), fillcolor=_rgba(color, 0.25), hoverinfo="skip",
                    name=f"{name}: ±1 sd", legendgroup=name)
    t = d[d["n"] >= MIN_N_FOR_T]
    if len(t):
        xt = list(100 * t["sparsity"])
        fig.add_scatter(x=xt + xt[::-1], y=list(100 * t["ci_high"]) + list(100 * t["ci_low"])[::-1],
                        fill="toself", mode="lines", line=dict(width=1, dash="dot", color=color),
                        fillcolor=_rgba(color, 0.10), hoverinfo="skip",
                        name=f"{name}: 95% t-interval", legendgroup=name)


def seed_table(rows: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Display columns for the frontier table: n, mean, sd, min, max of val accuracy (percent)."""
    return pd.DataFrame({"Method": labels, "Target (%)": 100 * rows["target"],
                         "n": rows["n"].astype(int), "Mean (%)": 100 * rows["accuracy"],
                         "SD (%)": 100 * rows["sd"], "Min (%)": 100 * rows["min"],
                         "Max (%)": 100 * rows["max"],
                         "95% CI low (%)": 100 * rows["ci_low"], "95% CI high (%)": 100 * rows["ci_high"]})

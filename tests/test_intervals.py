"""Intervals against references: Student-t quantiles from printed tables (Abramowitz & Stegun
26.10 / any statistics text, to the digits given), the incomplete beta against the binomial
sum it equals for integer parameters, summaries against NumPy, Wilson against the closed
form; and the frontier figure's bands and error bars against those numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pruning.intervals import betainc, level_summary, summarize, t_cdf, t_quantile, wilson_accuracy

T975 = {1: 12.7062047364, 2: 4.30265272975, 3: 3.18244630528, 4: 2.77644510520, 5: 2.57058183661,
        10: 2.22813885199, 20: 2.08596344727, 30: 2.04227245630, 120: 1.97993040505}


@pytest.mark.parametrize("df,ref", sorted(T975.items()))
def test_t_quantile_matches_tables(df, ref):
    assert t_quantile(0.975, df) == pytest.approx(ref, rel=1e-9)
    assert t_quantile(0.025, df) == pytest.approx(-ref, rel=1e-9)
    assert t_cdf(ref, df) == pytest.approx(0.975, abs=1e-9)


def test_t_tends_to_normal_and_cauchy():
    assert t_quantile(0.975, 1e6) == pytest.approx(1.959963984540054, rel=1e-5)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/pi


@pytest.mark.parametrize("a,b,x", [(2, 3, 0.4), (1, 1, 0.3), (5, 7, 0.62), (10, 2, 0.9)])
def test_betainc_equals_binomial_tail(a, b, x):
    n = a + b - 1  # I_x(a, b) = P(Binomial(n, x) >= a)
    ref = sum(math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(a, n + 1))
    assert betainc(a, b, x) == pytest.approx(ref, rel=1e-12)


def test_summary_against_numpy():
    v = np.array([0.912, 0.905, 0.921, 0.899, 0.915])
    s = summarize(v)
    sd = v.std(ddof=1)
    half = T975[4] * sd / math.sqrt(5)
    assert (s.n, s.min, s.max) == (5, v.min(), v.max())
    assert s.mean == pytest.approx(v.mean()) and s.sd == pytest.approx(sd)
    assert (s.ci_low, s.ci_high) == pytest.approx((v.mean() - half, v.mean() + half))
    two = summarize([0.9, 0.8, float("nan"), None])  # NaN / None left out; no t-interval below 3
    assert two.n == 2 and math.isnan(two.ci_low) and two.sd == pytest.approx(np.std([0.9, 0.8], ddof=1))
    assert summarize([]).n == 0 and math.isnan(summarize([0.5]).sd)


def test_level_summary_groups():
    df = pd.DataFrame({"method": ["m"] * 4, "target": [0.5, 0.5, 0.9, 0.9], "sparsity": [0.5, 0.5, 0.9, 0.9],
                       "accuracy": [0.9, 0.8, 0.7, 0.6]})
    out = level_summary(df, ["accuracy"])
    assert list(out["target"]) == [0.5, 0.9]
    assert list(out["accuracy_mean"]) == pytest.approx([0.85, 0.65])
    assert list(out["accuracy_n"]) == [2, 2]


def test_wilson_closed_form():
    n, acc, z = 1000, 0.93, 1.959963984540054
    p = acc
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_accuracy(acc, n) == pytest.approx((centre - half, centre + half))


def test_frontier_figure_bands_and_error_bars():
    from pruning.bands import mean_rows
    from pruning.plots import frontier_figure

    sweep = pd.DataFrame({"method": "global", "scope": "all", "target": [0.5, 0.9],
                          "sparsity": [0.5, 0.9], "accuracy": [0.93, 0.70], "loss": [0.2, 0.9],
                          "score": [np.nan, np.nan]})
    runs = pd.DataFrame({"method": "masked", "scope": "all", "target": [0.9] * 3 + [0.95] * 3,
                         "sparsity": [0.9] * 3 + [0.95] * 3, "seed": [0, 1, 2] * 2, "recipe": "",
                         "accuracy": [0.90, 0.92, 0.91, 0.85, 0.80, 0.90], "loss": 0.3,
                         "epochs": 2, "n_train": 500})
    means = mean_rows(runs)
    assert list(means["n"]) == [3, 3] and list(means["accuracy"]) == pytest.approx([0.91, 0.85])
    fig = frontier_figure(sweep, 0.6, dense_accuracy=0.93, retrained=runs, n_val=1000)
    by = {t.name: t for t in fig.data}
    lo, hi = wilson_accuracy(0.70, 1000)
    g = by["Global magnitude (M1)"]
    assert g.error_y.arrayminus[1] == pytest.approx(100 * (0.70 - lo))
    assert g.error_y.array[1] == pytest.approx(100 * (hi - 0.70))
    band = by["Masked-gradient retraining (M4): ±1 sd"]
    sd = np.std([0.85, 0.80, 0.90], ddof=1)
    assert max(band.y) == pytest.approx(100 * (0.85 + sd)) or max(band.y) == pytest.approx(100 * (0.91 + 0.01))
    assert min(band.y) == pytest.approx(100 * (0.85 - sd))
    ci = by["Masked-gradient retraining (M4): 95% t-interval"]
    half = T975[2] * sd / math.sqrt(3)
    assert min(ci.y) == pytest.approx(100 * (0.85 - half))
    best = [t for t in fig.data if t.name.startswith("Best challenge score")][0]
    assert best.y[0] == pytest.approx(100 * 0.91)  # the best marker sits on the mean, not a seed's 0.92

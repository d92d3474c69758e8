"""Figure builders in pruning.plots (no streamlit, no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pruning.frontier import best_row, pareto_frontier
from pruning.masks import ArraySparsity
from pruning.labels import recipe_label, run_label
from pruning.plots import (BEST_NAME, FRONTIER_NAME, frontier_figure, frontier_table, layer_figure,
                           layer_frame, sensitivity_figure, training_figure)


def rows() -> pd.DataFrame:
    s = np.array([0.0, 0.5, 0.9, 0.0, 0.5, 0.9])
    a = np.array([0.90, 0.88, 0.70, 0.90, 0.85, 0.50])
    return pd.DataFrame({"method": ["global"] * 3 + ["layerwise"] * 3, "scope": "all",
                         "target": s, "sparsity": s, "accuracy": a, "loss": 0.3})


def test_frontier_figure_traces_frontier_best_and_floor():
    fig = frontier_figure(rows(), floor=0.6)
    names = [t.name for t in fig.data]
    assert names[:3] == ["Global magnitude (M1)", "Layer-wise magnitude (M2)", FRONTIER_NAME]
    assert names[3].startswith(BEST_NAME)
    front = pareto_frontier(rows())
    assert list(fig.data[2].x) == list(100 * front["sparsity"])
    best = best_row(rows(), 0.6)
    assert (fig.data[3].x[0], fig.data[3].y[0]) == (100 * best["sparsity"], 100 * best["accuracy"])
    assert best["sparsity"] == 0.9 and best["method"] == "global"
    assert [s.y0 for s in fig.layout.shapes] == [60.0]
    assert fig.layout.xaxis.title.text == "Sparsity (%)"


def test_no_point_above_floor_has_no_best_marker():
    fig = frontier_figure(rows(), floor=0.95)
    assert [t.name for t in fig.data][-1] == FRONTIER_NAME


def test_frontier_table_in_percent():
    t = frontier_table(rows(), 0.6)
    assert t["Sparsity (%)"].max() == 90.0
    assert t["On frontier"].tolist() == [True, True, True, True, False, False]
    assert np.isnan(t["Challenge score"].iloc[5])


def test_layer_frame_groups_arrays_by_layer():
    per = [ArraySparsity("conv/kernel", "kernel", 90, 45), ArraySparsity("conv/bias", "bias", 10, 0),
           ArraySparsity("dense/kernel", "kernel", 100, 100)]
    df = layer_frame(per)
    assert df["layer"].tolist() == ["conv", "dense"]
    assert df["sparsity"].tolist() == [0.45, 1.0]
    assert df["share"].tolist() == [0.5, 0.5]
    fig = layer_figure(df)
    assert list(fig.data[0].y) == [45.0, 100.0] and list(fig.data[1].y) == [50.0, 50.0]


def test_sensitivity_figure_one_line_per_layer():
    df = pd.DataFrame({"layer": ["a", "a", "b", "b"], "target": [0.0, 0.9, 0.0, 0.9],
                       "sparsity": [0.0, 0.9, 0.0, 0.9], "accuracy": [0.9, 0.5, 0.9, 0.85]})
    fig = sensitivity_figure(df, dense_accuracy=0.9, floor=0.6)
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].y) == [90.0, 85.0]


def retrained() -> pd.DataFrame:
    return pd.DataFrame({"method": ["masked", "masked", "gradual"], "scope": "all",
                         "target": [0.9, 0.95, 0.9], "sparsity": [0.9, 0.95, 0.9],
                         "accuracy": [0.86, 0.80, 0.84], "loss": 0.4})


def test_retrained_points_join_frontier_and_best():
    fig = frontier_figure(rows(), floor=0.6, retrained=retrained())
    names = [t.name for t in fig.data]
    assert names[:5] == ["Global magnitude (M1)", "Layer-wise magnitude (M2)", FRONTIER_NAME,
                         "Masked-gradient retraining (M4)", "Gradual pruning (Zhu & Gupta)"]
    assert [fig.data[3].mode, fig.data[4].mode] == ["markers", "markers"]
    assert list(fig.data[3].x) == [90.0, 95.0] and list(fig.data[3].y) == [86.0, 80.0]
    both = pd.concat([rows(), retrained()], ignore_index=True)
    assert list(fig.data[2].x) == list(100 * pareto_frontier(both)["sparsity"])
    assert 95.0 in list(fig.data[2].x)  # a retrained point extends the frontier
    best = best_row(both, 0.6)
    assert best["method"] == "masked" and best["sparsity"] == 0.9  # (0.9 + 0.86) / 2 beats M1's 0.80
    assert names[5].startswith(BEST_NAME) and (fig.data[5].x[0], fig.data[5].y[0]) == (90.0, 86.0)


def test_retrained_points_alone():
    fig = frontier_figure(rows().iloc[:0], floor=0.6, retrained=retrained())
    assert [t.name for t in fig.data][:3] == [FRONTIER_NAME, "Masked-gradient retraining (M4)",
                                              "Gradual pruning (Zhu & Gupta)"]


def test_retraining_recipes_get_their_own_traces_and_table_labels():
    assert recipe_label({}) == "" and recipe_label({"lr_schedule": "constant", "distill": 0.0}) == ""
    assert recipe_label({"lr_schedule": "cosine", "adjust_dropout": True, "distill": 0.5}) == \
        "cosine LR, dropout adjusted, distilled 0.5"
    assert run_label("gradual", float("nan")) == "Gradual pruning (Zhu & Gupta)"  # a sweep row's recipe
    runs = retrained().assign(recipe=["", "cosine LR", ""])
    fig = frontier_figure(rows(), floor=0.6, retrained=runs)
    names = [t.name for t in fig.data]
    assert names[3:6] == ["Masked-gradient retraining (M4)", "Masked-gradient retraining (M4) (cosine LR)",
                          "Gradual pruning (Zhu & Gupta)"]
    assert list(fig.data[3].x) == [90.0] and list(fig.data[4].x) == [95.0]
    table = frontier_table(pd.concat([rows(), runs], ignore_index=True), 0.6)
    assert table["Method"].tolist()[-3:] == names[3:4] + names[4:6]
    assert table["Method"].tolist()[0] == "Global magnitude (M1)"


def test_training_figure_loss_and_val_accuracy_per_epoch():
    hist = pd.DataFrame({"phase": ["a", "a", "b"], "loss": [0.9, 0.5, 0.4],
                         "val_accuracy": [0.5, 0.7, 0.75]})
    fig = training_figure(hist)
    assert [t.name for t in fig.data] == ["Training loss", "Val accuracy (%)"]
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[0].y) == [0.9, 0.5, 0.4]
    assert list(fig.data[1].y) == [50.0, 70.0, 75.0] and fig.data[1].yaxis == "y2"
    assert fig.layout.yaxis2.overlaying == "y"
    assert len(training_figure(hist.iloc[:0]).data[0].x) == 0  # before the first epoch ends

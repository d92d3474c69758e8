"""``pruning.rows``: the one sweep-row schema."""

import math

import pytest

from pruning.rows import COLUMNS, sweep_frame, sweep_row


def test_row_holds_its_numbers_and_the_challenge_score():
    row = sweep_row("global", "all", 0.9, 0.9001, 0.75, 0.8)
    assert list(row) == COLUMNS and row["score"] == pytest.approx((0.9001 + 0.75) / 2)
    assert math.isnan(sweep_row("global", "all", 0.9, 0.9, 0.75, 0.8, floor=0.8)["score"])
    with_test = sweep_row("layerwise", "kernels", 0.5, 0.5, 0.9, 0.3, test_accuracy=0.88, exact=False)
    assert list(with_test) == COLUMNS + ["test_accuracy", "exact"] and with_test["exact"] is False


def test_frame_has_the_columns_in_order_even_when_empty():
    assert list(sweep_frame([]).columns) == COLUMNS
    rows = [sweep_row("global", "all", t, t, 0.9, 0.1, test_accuracy=0.8) for t in (0.0, 0.5)]
    df = sweep_frame(rows, ["test_accuracy"])
    assert list(df.columns) == COLUMNS + ["test_accuracy"] and df["target"].tolist() == [0.0, 0.5]
    assert list(sweep_frame(rows).columns) == COLUMNS  # extras are dropped unless asked for

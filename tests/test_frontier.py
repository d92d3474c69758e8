"""Pareto frontier and challenge score on hand-made points."""

import math

import pandas as pd
import pytest

from pruning.frontier import add_scores, best_row, challenge_score, pareto_frontier, pareto_mask


def test_challenge_score_and_floor():
    assert challenge_score(0.97, 0.746) == pytest.approx(0.858)  # the seed's best
    assert math.isnan(challenge_score(0.99, 0.60))  # must exceed the floor
    assert challenge_score(0.99, 0.60, floor=0.5) == pytest.approx(0.795)
    with pytest.raises(ValueError, match="fractions"):
        challenge_score(97, 0.7)


def test_pareto_mask_handles_ties_and_domination():
    s = [0.0, 0.5, 0.5, 0.9, 0.9, 0.2]
    a = [0.9, 0.8, 0.7, 0.6, 0.6, 0.85]
    # (0.5, 0.7) is dominated by (0.5, 0.8); identical points (0.9, 0.6) both stay.
    assert pareto_mask(s, a).tolist() == [True, True, False, True, True, True]


def test_frontier_across_methods_and_best_row():
    rows = pd.DataFrame({
        "method": ["global"] * 3 + ["layerwise"] * 3,
        "sparsity": [0.0, 0.5, 0.9, 0.0, 0.5, 0.9],
        "accuracy": [0.92, 0.90, 0.55, 0.92, 0.91, 0.40],
    })
    f = pareto_frontier(rows)
    # Identical points (both methods at 0%) dominate neither each other: both stay.
    assert list(zip(f["method"], f["sparsity"])) == [("global", 0.0), ("layerwise", 0.0),
                                                      ("layerwise", 0.5), ("global", 0.9)]
    best = best_row(rows)
    assert best["method"] == "layerwise" and best["sparsity"] == 0.5
    assert add_scores(rows)["score"].isna().sum() == 2
    assert best_row(rows.assign(accuracy=0.3)) is None


def test_best_row_scores_for_the_floor_it_is_given():
    # a 'score' column made for the default floor must not decide the best row at another floor
    rows = add_scores(pd.DataFrame({"method": ["global"] * 3, "sparsity": [0.5, 0.8, 0.95],
                                    "accuracy": [0.92, 0.72, 0.68]}))  # scores 0.71, 0.76, 0.815
    assert best_row(rows)["sparsity"] == 0.95
    best = best_row(rows, floor=0.7)  # 0.95 no longer clears the floor
    assert best["sparsity"] == 0.8 and best["score"] == pytest.approx((0.8 + 0.72) / 2)
    assert best_row(rows, floor=0.75)["sparsity"] == 0.5
    assert best_row(rows, floor=0.95) is None

"""Two retraining runs of one method and recipe with different budgets never share a label."""

from pruning.labels import budget_label, budgets_in_recipes, run_label


def test_budgets_join_the_label_only_where_they_differ():
    rows = [{"method": "masked", "recipe": "", "budget": budget_label(1, 2000)},
            {"method": "masked", "recipe": "", "budget": budget_label(5, 5000)},
            {"method": "gradual", "recipe": "cosine LR", "budget": budget_label(2, 5000)}]
    out = budgets_in_recipes([dict(r) for r in rows])
    labels = [run_label(r["method"], r["recipe"]) for r in out]
    assert labels[0] == "Masked-gradient retraining (M4) (1 epoch, 2,000 images)"
    assert labels[1] == "Masked-gradient retraining (M4) (5 epochs, 5,000 images)"
    assert labels[2] == "Gradual pruning (Zhu & Gupta) (cosine LR)"  # alone: no budget needed
    assert len(set(labels)) == 3

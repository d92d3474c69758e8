"""The tiny fixture model is a meaningful test subject: it learns, and pruning hurts it."""


def test_tiny_model_learns_and_pruning_hurts(tiny_workbench):
    dense = tiny_workbench.dense()["val"].accuracy
    assert dense > 0.9
    wrecked = tiny_workbench.point("global", 0.99).val.accuracy
    assert wrecked < dense - 0.2

"""``python -m pruning sweep`` (one-shot) on a slice of the bundled demo model."""

import json

import pytest
from cli_helpers import SLICE, run

from pruning.data import load_fashion_mnist
from pruning.models import load_model
from references import ONE_IMAGE, demo_pixels, keras_accuracy, prune_global, zero_fraction


def test_sweep_json_matches_numpy_pruning_and_keras(capsys):
    code, out, err = run(capsys, "sweep", "--method", "global", "--sparsity", "0:90:30", "--json", *SLICE)
    res = json.loads(out)
    assert code == 0 and res["method"] == "global" and res["scope"] == "all"
    assert [p["target"] for p in res["points"]] == [0.0, 0.3, 0.6, 0.9]
    model = load_model()
    dense = model.get_weights()
    val = load_fashion_mnist().val
    x, y = demo_pixels(val.x[:300]), val.y[:300]  # 'auto' scaling picks x / 255 for uint8 pixels
    for p in res["points"]:  # each level against NumPy's percentile rule and plain Keras
        assert set(p) == {"target", "sparsity", "sparsity_model", "accuracy", "loss", "score"}
        assert p["sparsity_model"] == pytest.approx(p["sparsity"])  # the demo has no other arrays
        pruned = prune_global(dense, ["kernel"] * len(dense), p["target"])
        assert p["sparsity"] == pytest.approx(zero_fraction(pruned), abs=1e-12)
        ref = keras_accuracy(model, pruned, x, y)
        assert p["accuracy"] == pytest.approx(ref, abs=ONE_IMAGE / 300 + 1e-12)
        if p["accuracy"] > 0.6:  # the challenge floor; below it a level has no score
            assert p["score"] == pytest.approx((p["sparsity"] + p["accuracy"]) / 2)
        else:
            assert p["score"] is None
    assert res["points"][0]["accuracy"] == res["baseline"]["accuracy"]
    assert res["best"] == max((p for p in res["points"] if p["score"] is not None), key=lambda p: p["score"])
    pts = res["points"]
    frontier = [p for p in pts if not any(q["sparsity"] >= p["sparsity"] and q["accuracy"] >= p["accuracy"]
                                          and (q["sparsity"], q["accuracy"]) != (p["sparsity"], p["accuracy"])
                                          for q in pts)]
    assert sorted(res["frontier"], key=lambda p: p["target"]) == frontier
    assert "sweep global" in err  # progress bar on stderr
    assert res["input_scale"] == "1/255" and res["input_scale_requested"] == "auto"
    assert res["output_kind"] == "softmax" and res["never_pruned"] == []


def test_floor_defaults_to_the_challenge_floor_and_can_be_raised(capsys):
    from pruning.frontier import DEFAULT_FLOOR

    code, out, _ = run(capsys, "sweep", "--method", "layerwise", "--sparsity", "0,95", "--json",
                       "--no-store", "--val-limit", "100", "--test-limit", "10")
    res = json.loads(out)
    assert code == 0 and res["floor"] == DEFAULT_FLOOR
    top = max(p["accuracy"] for p in res["points"])
    code, out, _ = run(capsys, "sweep", "--method", "layerwise", "--sparsity", "0,95", "--json",
                       "--no-store", "--floor", str(top), "--val-limit", "100", "--test-limit", "10")
    res = json.loads(out)
    assert res["floor"] == top and res["best"] is None  # nothing is strictly above the floor
    assert all(p["score"] is None for p in res["points"])

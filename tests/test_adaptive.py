"""Adaptive sweeps: the same curve as the 1 %-grid within tolerance, from fewer evaluations."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from pruning.adaptive import adaptive_sweep, interpolate_curve, simplify
from pruning.evaluate import Score
from pruning.rows import COLUMNS

PERCENTS = np.arange(100) / 100


class CurveBench:
    """A stand-in workbench whose val accuracy at sparsity s is ``curve(s)`` (no Keras)."""

    def __init__(self, curve):
        self.curve, self.calls = curve, 0
        self.val = SimpleNamespace(evaluate=self._evaluate)

    def prune(self, method, sparsity, scope="all"):
        return SimpleNamespace(arrays=sparsity, sparsity=sparsity)

    def val_evaluator(self, precision="float32"):
        return self.val

    def _evaluate(self, s):
        self.calls += 1
        return Score(float(self.curve(s)), 1.0 - float(self.curve(s)), 5000)


def cliff(s):
    """Flat, then a steep logistic fall near 93 % (the shape one-shot curves have)."""
    return 0.1 + 0.8 / (1 + math.exp((s - 0.93) / 0.015))


def slope(s):
    """A long straight decline from 30 % on: the case the curvature rule is for."""
    return 0.9 - max(0.0, s - 0.3) * 1.1


@pytest.mark.parametrize("curve", [cliff, slope])
@pytest.mark.parametrize("tolerance", [0.01, 0.03])
def test_difference_rule_bounds_the_error_on_monotone_curves(curve, tolerance):
    wb = CurveBench(curve)
    df = adaptive_sweep(wb, "global", tolerance=tolerance)
    truth = np.array([curve(s) for s in PERCENTS])
    err = np.abs(interpolate_curve(df, PERCENTS) - truth)
    assert err.max() <= tolerance + 1e-12
    assert df.attrs["evaluations"] == wb.calls == len(df) < 100
    gaps = np.abs(np.diff(df["accuracy"].to_numpy()))
    steps = np.diff(np.round(100 * df["target"].to_numpy()))
    assert np.all((gaps <= tolerance) | (steps == 1))  # the stopping rule, stated directly


def test_curvature_rule_needs_fewer_evaluations_on_a_straight_decline():
    diff = adaptive_sweep(CurveBench(slope), "global", rule="difference")
    curv = adaptive_sweep(CurveBench(slope), "global", rule="curvature")
    truth = np.array([slope(s) for s in PERCENTS])
    assert np.abs(interpolate_curve(curv, PERCENTS) - truth).max() <= 0.01
    assert curv.attrs["evaluations"] < diff.attrs["evaluations"] / 2


def dipped(s):
    """A sharp cliff at 96.5 % and a one-level 4-point dip at 92 % between levels that agree."""
    return 0.1 + 0.8 / (1 + math.exp((s - 0.965) / 0.005)) - (0.04 if round(100 * s) == 92 else 0.0)


def test_strict_rule_catches_a_dip_the_difference_rule_steps_over():
    truth = np.array([dipped(s) for s in PERCENTS])
    errors = {}
    for rule in ("difference", "strict"):
        df = adaptive_sweep(CurveBench(dipped), "global", rule=rule)
        errors[rule] = np.abs(interpolate_curve(df, PERCENTS) - truth).max()
    assert errors["difference"] > 0.03  # its bound needs a monotone curve
    assert errors["strict"] <= 0.01


def test_max_evals_caps_refinement_and_progress_ends_complete():
    seen = []
    df = adaptive_sweep(CurveBench(cliff), "global", max_evals=14,
                        progress=lambda d, t, r: seen.append((d, t)))
    assert len(df) == 14
    assert seen[-1][0] == seen[-1][1] == 14
    assert [d for d, _ in seen][:14] == list(range(1, 15))


@pytest.mark.parametrize("method", ["global", "layerwise"])
def test_tiny_model_matches_the_full_grid(tiny_workbench, method):
    full = tiny_workbench.sweep(method, list(PERCENTS))
    df = adaptive_sweep(tiny_workbench, method)
    assert list(df.columns) == COLUMNS
    err = np.abs(interpolate_curve(df, PERCENTS) - full["accuracy"].to_numpy())
    assert err.max() <= 0.01
    assert len(df) < len(full) / 3
    # every evaluated level is exactly the full sweep's row at that level
    merged = df.merge(full, on="target", suffixes=("", "_full"))
    assert len(merged) == len(df)
    np.testing.assert_array_equal(merged["accuracy"], merged["accuracy_full"])


def test_screening_with_a_subset_still_meets_tolerance(tiny_workbench):
    full = tiny_workbench.sweep("global", list(PERCENTS))
    df = adaptive_sweep(tiny_workbench, "global", screen=60, seed=1)
    assert df.attrs["screen_evaluations"] == 100
    err = np.abs(interpolate_curve(df, PERCENTS) - full["accuracy"].to_numpy())
    assert err.max() <= 0.01


def test_interpolate_curve_is_linear_between_points_and_clamped_outside():
    import pandas as pd

    df = pd.DataFrame({"target": [0.9, 0.1, 0.5], "accuracy": [0.2, 0.9, 0.8]})
    np.testing.assert_allclose(interpolate_curve(df, [0.0, 0.3, 0.7, 0.95]), [0.9, 0.85, 0.5, 0.2])
    with pytest.raises(ValueError, match="duplicate"):
        interpolate_curve(pd.concat([df, df]), [0.5])


def test_simplify_keeps_only_the_corners():
    x = list(range(11))
    y = [0, 0, 0, 0, 0, 0, 5, 10, 15, 20, 25]
    assert simplify(x, y, 0.5) == [0, 5, 10]


def test_bad_arguments_are_refused():
    wb = CurveBench(cliff)
    with pytest.raises(ValueError, match="tolerance"):
        adaptive_sweep(wb, "global", tolerance=2)
    with pytest.raises(ValueError, match="whole percent"):
        adaptive_sweep(wb, "global", hi=0.995)
    with pytest.raises(ValueError, match="lo < hi"):
        adaptive_sweep(wb, "global", lo=0.5, hi=0.5)
    with pytest.raises(ValueError, match="unknown rule"):
        adaptive_sweep(wb, "global", rule="magic")
    with pytest.raises(ValueError, match="unknown method"):
        adaptive_sweep(wb, "random")


def test_cli_sweep_adaptive(tiny_files, capsys):
    from pruning.cli import main

    path, npz = tiny_files.keras, tiny_files.val_npz
    rc = main(["sweep", "--method", "global", "--adaptive", "--tolerance", "0.02",
               "--model", str(path), "--data", str(npz), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    targets = [p["target"] for p in out["points"]]
    assert targets == sorted(targets) and targets[0] == 0.0 and targets[-1] == 0.99
    assert 11 <= len(targets) < 100


def test_fill_gives_every_level_close_to_the_full_grid(tiny_workbench):
    full = tiny_workbench.sweep("layerwise", list(PERCENTS))
    df = adaptive_sweep(tiny_workbench, "layerwise", fill=True)
    assert list(df.columns) == COLUMNS + ["exact"]
    np.testing.assert_array_equal(df["target"], full["target"])
    np.testing.assert_array_equal(df["sparsity"], full["sparsity"])
    assert np.abs(df["accuracy"] - full["accuracy"]).max() <= 0.01
    exact = df[df["exact"]]
    assert df.attrs["evaluations"] == len(exact) < 30
    np.testing.assert_array_equal(exact["accuracy"], full.loc[exact.index, "accuracy"])
    assert 0 <= df.attrs["fill_passes"] < 100 - len(exact)


def test_fill_with_every_image_unsettled_reproduces_the_sweep_exactly(tiny_workbench):
    # margin 1.0: no image is settled; unstable 1.0: no bisection, so every level in
    # between runs all images through the same batches as a full evaluation
    full = tiny_workbench.sweep("global", list(PERCENTS))
    df = adaptive_sweep(tiny_workbench, "global", fill=True, margin=1.0, unstable=1.0)
    assert df.attrs["evaluations"] == 11
    np.testing.assert_array_equal(df["accuracy"], full["accuracy"])
    # the filling forward function is traced separately (batch dimension left open), so
    # probabilities may differ in the last float32 bit: loss agrees to round-off only
    np.testing.assert_allclose(df["loss"], full["loss"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="margin"):
        adaptive_sweep(tiny_workbench, "global", fill=True, margin=1.5)


def test_cli_sweep_adaptive_fill_reports_every_level(tiny_files, capsys):
    from pruning.cli import main

    path, npz = tiny_files.keras, tiny_files.val_npz
    rc = main(["sweep", "--method", "layerwise", "--adaptive", "--fill", "--model", str(path),
               "--data", str(npz), "--json"])
    assert rc == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [round(100 * p["target"]) for p in points] == list(range(100))
    assert {p["exact"] for p in points} == {True, False}


def test_bfloat16_evaluator_is_close_to_float32_and_leaves_the_model_alone(tiny_workbench):
    from pruning.evaluate import Evaluator

    wb = tiny_workbench
    twin = wb.val_evaluator("bfloat16")
    assert twin is wb.val_evaluator("bfloat16") and wb.val_evaluator() is wb.val
    assert twin.model is not wb.model
    assert [l.dtype_policy.name for l in twin.model.layers if l.weights][-1] == "float32"
    assert "mixed_bfloat16" in {l.dtype_policy.name for l in twin.model.layers}
    for s in (0.0, 0.5, 0.8):
        arrays = wb.prune("layerwise", s).arrays
        p32 = wb.val.evaluate(arrays)
        p16 = twin.evaluate(arrays)
        assert abs(p16.accuracy - p32.accuracy) <= 0.02  # a few of 200 images at most
        assert p16.loss == pytest.approx(p32.loss, rel=0.05, abs=0.01)
    before = [v.numpy().copy() for v in wb.model.weights]
    twin.set_weights(wb.prune("global", 0.9).arrays)  # the twin's own variables only
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, wb.model.weights))
    with pytest.raises(ValueError, match="precision must be one of"):
        Evaluator(wb.model, wb.data.val, precision="float8")


def test_fill_in_bfloat16_marks_no_level_exact_and_stays_close(tiny_workbench):
    full = tiny_workbench.sweep("layerwise", list(PERCENTS))
    df = adaptive_sweep(tiny_workbench, "layerwise", fill=True, precision="bfloat16")
    assert df.attrs["precision"] == "bfloat16" and not df["exact"].any()
    np.testing.assert_array_equal(df["sparsity"], full["sparsity"])
    assert np.abs(df["accuracy"] - full["accuracy"]).max() <= 0.03
    with pytest.raises(ValueError, match="unknown precision"):
        adaptive_sweep(tiny_workbench, "layerwise", precision="half")


def test_cli_precision_needs_adaptive_and_is_reported(tiny_files, capsys):
    from pruning.cli import main

    path, npz = tiny_files.keras, tiny_files.val_npz
    common = ["--model", str(path), "--data", str(npz), "--json"]
    assert main(["sweep", "--method", "global", "--precision", "bfloat16", *common]) != 0
    assert "add --adaptive" in capsys.readouterr().err
    assert main(["sweep", "--method", "global", "--adaptive", "--precision", "bfloat16", *common]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["precision"] == "bfloat16" and len(out["points"]) >= 11

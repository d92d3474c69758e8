"""Retraining methods on the tiny model: zeros stay zero, frozen layers stay put, the GMP
schedule is followed step by step, IMP rewinds, resumed runs end where uninterrupted ones do.

Expected sparsities come from a plain ``np.percentile`` reference of the seed's rule
(zero every |w| below the s-th percentile), not from ``pruning.masks``.
"""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from tiny_fixtures import make_tiny_arrays
from pruning.cli import main
from pruning.export import write_legacy_h5, write_weights
from pruning.masks import in_scope, keep_masks, magnitude_index, total_sparsity
from pruning.oneshot import Baseline
from pruning.schedule import PolynomialSchedule
from pruning.retrain import (MaskedModel, RetrainError, Training, default_groups, freeze_retrain,
                             gradual_prune, iterative_prune, limit, masked_retrain, retrain)

FAST = dict(batch_size=32, patience=None, seed=0)


@pytest.fixture(scope="module")
def data(tiny_data):
    """128 training images at batch 32: 4 steps per epoch."""
    return limit(tiny_data, train=128, val=100, test=100)


def rule_zeros(n: int, s: float) -> int:
    """Entries the seed's percentile rule zeroes among n distinct magnitudes."""
    a = np.arange(n, dtype=np.float64)
    return int(np.sum(a < np.percentile(a, 100 * s)))


def keras_scores(model, arrays, split):
    """Plain Keras: (accuracy, mean crossentropy) of ``arrays`` in a clone of ``model``."""
    net = keras.models.clone_model(model)
    net.set_weights(list(arrays))
    probs = net.predict(split.x, batch_size=64, verbose=0)
    loss = keras.losses.sparse_categorical_crossentropy(split.y, probs)
    return float(np.mean(np.argmax(probs, axis=1) == split.y)), float(np.mean(np.asarray(loss)))


def group_reference(arrays, s):
    """Arrays pruned by one np.percentile threshold over all of them together."""
    t = np.percentile(np.concatenate([np.abs(a).ravel() for a in arrays]), 100 * s)
    return [np.where(np.abs(a) < t, np.zeros((), a.dtype), a) for a in arrays]


# --- masked training ---------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_masked_weights_stay_exactly_zero_with_momentum_l2_and_weight_decay(tiny_model, data, optimizer):
    kinds = Baseline.from_model(tiny_model).kinds
    wrapper = MaskedModel(tiny_model, in_scope(kinds, "all"))
    opt = Training(optimizer=optimizer, learning_rate=1e-2, weight_decay=0.1).make_optimizer()
    wrapper.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    x, y = data.train.x, data.train.y
    wrapper.fit(x, y, batch_size=32, epochs=1, verbose=0)  # dense: moments everywhere non-zero
    masks = keep_masks(magnitude_index([v.numpy() for v in tiny_model.weights], kinds), "global", 0.8)
    wrapper.set_masks(masks)
    before = [v.numpy() for v in tiny_model.weights]
    moments = [v.numpy() for v in opt.variables if v.path.endswith("_momentum")]
    assert any(np.any(mo[~m] != 0) for mo, m in zip(moments, masks))  # would revive them unpinned
    assert tiny_model.losses  # the convs' L2 terms are in the loss
    wrapper.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert int(opt.iterations.numpy()) == 12
    after = [v.numpy() for v in tiny_model.weights]
    for a, b, m in zip(after, before, masks):
        assert np.all(a[~m] == 0) and np.all(b[~m] == 0)
    assert not np.array_equal(after[0][masks[0]], before[0][masks[0]])  # survivors still train


def test_masked_retrain_keeps_the_start_zeros_and_raises_sparsity(tiny_model, data):
    start = Baseline.from_model(tiny_model)
    res = masked_retrain(tiny_model, data, 0.7, training=Training(epochs=2, **FAST))
    n = sum(a.size for a in start.arrays)
    assert res.pruned.sparsity == rule_zeros(n, 0.7) / n and res.target == 0.7
    ref = group_reference(start.arrays, 0.7)
    for a, r in zip(res.arrays, ref):
        assert np.all(a[r == 0] == 0)
    assert not np.array_equal(res.arrays[-2], ref[-2])  # the classifier retrained
    assert [w.numpy() for w in tiny_model.weights][0].tolist() == start.arrays[0].tolist()  # input untouched
    assert len(res.history) == 2 and res.test is not None and 0 <= res.val.accuracy <= 1
    acc, loss = keras_scores(tiny_model, res.arrays, data.val)  # the reported scores are real
    assert res.val.accuracy == pytest.approx(acc, abs=1e-12)
    assert res.val.loss == pytest.approx(loss, rel=1e-4, abs=1e-6)
    assert res.test.accuracy == pytest.approx(keras_scores(tiny_model, res.arrays, data.test)[0], abs=1e-12)
    assert res.val.accuracy == max(r["val_accuracy"] for r in res.history)  # the best epoch is kept


# --- freeze ------------------------------------------------------------------------------------

def test_default_groups_are_the_seed_dense_layer_then_the_convs():
    from pruning.models import build_preset

    assert default_groups(build_preset("cmu-10605")) == [
        ("dense",), ("conv2d", "conv2d_1", "conv2d_2", "conv2d_3")]


def test_freeze_leaves_frozen_layers_bit_identical(tiny_model, data):
    start = Baseline.from_model(tiny_model)
    groups = [("dense",), ("conv2d", "conv2d_1", "conv2d_2", "conv2d_3")]
    res = freeze_retrain(tiny_model, data, 0.6, groups, training=Training(epochs=1, **FAST))
    names = list(start.names)
    idx = {n: i for i, n in enumerate(names)}
    dense = [start.arrays[idx["dense/kernel"]], start.arrays[idx["dense/bias"]]]
    convs = [n for n in names if n.startswith("conv2d")]
    grouped = sum(a.size for a in dense) + sum(start.arrays[idx[n]].size for n in convs)
    p = 0.6 * start.params / grouped
    # stage 1 prunes Dense by one threshold, then it is frozen through stage 2: bit-identical
    for got, want in zip([res.arrays[idx["dense/kernel"]], res.arrays[idx["dense/bias"]]],
                         group_reference(dense, p)):
        assert got.tobytes() == want.tobytes()
    conv_zeros = sum(int(np.sum(res.arrays[idx[n]] == 0)) for n in convs)
    conv_size = sum(start.arrays[idx[n]].size for n in convs)
    assert conv_zeros == rule_zeros(conv_size, p)
    assert not np.array_equal(res.arrays[idx["conv2d/kernel"]] != 0, start.arrays[idx["conv2d/kernel"]] != 0)
    assert not np.array_equal(res.arrays[idx["dense_1/kernel"]], start.arrays[idx["dense_1/kernel"]])
    assert abs(res.pruned.sparsity - 0.6) <= 2 / start.params
    assert [r["phase"] for r in res.history] == ["stage 1", "stage 2"]


def test_freeze_refuses_unreachable_targets(tiny_model, data):
    with pytest.raises(RetrainError, match="at most"):
        freeze_retrain(tiny_model, data, 0.9, groups=[("conv2d",)], training=Training(epochs=0))


# --- gradual -----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["global", "layerwise"])
def test_gradual_follows_the_schedule_step_by_step(tiny_model, data, method):
    sched = PolynomialSchedule(final=0.8, end_step=10, begin_step=2, frequency=3)
    rows = []
    res = gradual_prune(tiny_model, data, 0.8, begin_step=2, end_step=10, frequency=3,
                        method=method, training=Training(epochs=4, **FAST),
                        progress=lambda done, total, row: rows.append(row))
    sizes = [a.size for a in Baseline.from_model(tiny_model).arrays]
    n = sum(sizes)

    def expected(s):
        zeros = rule_zeros(n, s) if method == "global" else sum(rule_zeros(k, s) for k in sizes)
        return zeros / n

    steps = [r for r in rows if "masked" in r]
    assert [r["step"] for r in steps] == list(range(1, 17))
    for r in steps:
        assert r["masked"] == pytest.approx(expected(sched(r["step"])), abs=1e-15), r["step"]
    assert res.pruned.sparsity == pytest.approx(expected(0.8), abs=1e-15)
    assert abs(res.pruned.sparsity - 0.8) < (1 if method == "global" else len(sizes)) / n
    assert [r["epoch"] for r in res.history] == [1, 2, 3, 4]
    assert rows[-1]["sparsity"] == res.history[-1]["sparsity"]


def test_gradual_refuses_an_end_step_after_training(tiny_model, data):
    with pytest.raises(RetrainError, match="never be reached"):
        gradual_prune(tiny_model, data, 0.8, end_step=100, training=Training(epochs=1, **FAST))


# --- iterative pruning with rewinding ---------------------------------------------------------

def test_imp_rewinds_survivors_to_the_start_weights(tiny_model, data):
    start = Baseline.from_model(tiny_model)
    res = iterative_prune(tiny_model, data, 0.75, rounds=2, final_epochs=0,
                          training=Training(epochs=1, **FAST))
    assert all(r.tobytes() == s.tobytes() for r, s in zip(res.rewind, start.arrays))
    for a, s, m in zip(res.arrays, start.arrays, res.masks):
        assert a.tobytes() == np.where(m, s, np.zeros((), s.dtype)).tobytes()
    assert res.pruned.sparsity == rule_zeros(start.params, 0.75) / start.params
    # masks come from trained weights, so they differ from one-shot masks of the start weights
    one_shot = keep_masks(magnitude_index(start.arrays, start.kinds), "global", 0.75)
    assert any(not np.array_equal(m, o) for m, o in zip(res.masks, one_shot))
    assert [r["phase"] for r in res.history] == ["round 1"]


def test_imp_late_rewinding_uses_the_early_checkpoint(tiny_model, data):
    start = Baseline.from_model(tiny_model)
    one = iterative_prune(tiny_model, data, 0.5, rounds=1, rewind_epoch=1, final_epochs=0,
                          training=Training(epochs=1, **FAST))
    two = iterative_prune(tiny_model, data, 0.5, rounds=1, rewind_epoch=1, final_epochs=0,
                          training=Training(epochs=2, **FAST))
    # the rewind point is the dense weights after epoch 1, the same in both runs
    assert all(a.tobytes() == b.tobytes() for a, b in zip(one.rewind, two.rewind))
    assert not np.array_equal(two.rewind[0], start.arrays[0])
    for a, r, m in zip(two.arrays, two.rewind, two.masks):
        assert a.tobytes() == np.where(m, r, np.zeros((), r.dtype)).tobytes()
    assert [r["phase"] for r in two.history] == ["dense", "dense"]


# --- resume ------------------------------------------------------------------------------------

class Interrupted(Exception):
    pass


def stop_after(epochs: int):
    seen = []

    def progress(done, total, row):
        if "val_accuracy" in row:
            seen.append(row)
            if len(seen) == epochs:
                raise Interrupted
    return progress


@pytest.mark.parametrize("method, options, stop", [
    ("gradual", {"end_step": 6, "frequency": 2}, 2),  # mid-phase: masks + Adam state restored
    ("imp", {"rounds": 2}, 1),                        # across a prune-and-rewind boundary
    ("freeze", {}, 1),                                # across a freeze stage
])
def test_interrupted_and_resumed_run_ends_bit_identical(tiny_model, data, tmp_path, method, options, stop):
    training = Training(epochs=3 if method == "gradual" else 1, **FAST)
    full = retrain(tiny_model, data, method, 0.6, training, checkpoint_dir=tmp_path / "a", **options)
    with pytest.raises(Interrupted):
        retrain(tiny_model, data, method, 0.6, training, progress=stop_after(stop),
                checkpoint_dir=tmp_path / "b", **options)
    resumed = retrain(tiny_model, data, method, 0.6, training, checkpoint_dir=tmp_path / "b", **options)
    assert resumed.resumed and not full.resumed
    assert all(a.tobytes() == b.tobytes() for a, b in zip(full.arrays, resumed.arrays))
    drop = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert drop(full.history) == drop(resumed.history)
    assert full.val == resumed.val
    if method == "gradual":
        with pytest.raises(RetrainError, match="different run"):
            retrain(tiny_model, data, method, 0.7, training, checkpoint_dir=tmp_path / "b", **options)


@pytest.mark.parametrize("method, options", [("masked", {}), ("imp", {"rounds": 2})])
def test_several_steps_per_execution_give_the_same_run(tiny_model, tiny_data, monkeypatch, method, options):
    import pruning.retrain as R

    more = limit(tiny_data, train=352, val=100, test=100)  # 11 steps: an execution of 8, then 3
    training = Training(epochs=2, **FAST)
    seen = []

    def rows(done, total, row):
        seen.append(row.get("batch"))

    grouped = retrain(tiny_model, more, method, 0.6, training, progress=rows, **options)
    assert R.STEPS_PER_EXECUTION == 8 and 8 in seen  # a batch row from inside the epoch
    monkeypatch.setattr(R.loop, "STEPS_PER_EXECUTION", 1)  # the loop reads its own constant
    single = retrain(tiny_model, more, method, 0.6, training, **options)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(grouped.arrays, single.arrays))
    drop = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert drop(grouped.history) == drop(single.history) and grouped.val == single.val


def test_early_stopping_restores_the_best_epoch(tiny_model, data):
    patient = Training(epochs=6, batch_size=32, patience=1, seed=0)
    res = masked_retrain(tiny_model, data, 0.7, training=patient)
    accs = [r["val_accuracy"] for r in res.history]
    best = int(np.argmax(accs)) + 1
    assert len(accs) == best + 1 < 6  # stopped one epoch after the last gain
    assert [r["best"] for r in res.history] == [e == best for e in range(1, len(accs) + 1)]
    short = masked_retrain(tiny_model, data, 0.7, training=Training(epochs=best, batch_size=32,
                                                                    patience=None, seed=0))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(res.arrays, short.arrays))
    assert res.val == short.val


# --- CLI ---------------------------------------------------------------------------------------

@pytest.fixture()
def cli_files(tmp_path, tiny_model):
    model = tmp_path / "tiny.keras"
    write_weights(tiny_model, model, "keras")
    arrays = {}
    for part, n, seed in (("train", 128, 1), ("val", 100, 2), ("test", 100, 3)):
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_tiny_arrays(n, seed)
    np.savez(tmp_path / "tiny.npz", **arrays)
    del arrays["x_train"], arrays["y_train"]
    np.savez(tmp_path / "no-train.npz", **arrays)
    start = tmp_path / "start.h5"
    b = Baseline.from_model(tiny_model)
    for v, a in zip(tiny_model.weights, group_reference(b.arrays, 0.5)):
        v.assign(a)
    write_legacy_h5(tiny_model, start)
    return model, tmp_path / "tiny.npz", start, tmp_path / "no-train.npz"


def test_cli_retrain_end_to_end(cli_files, tmp_path, capsys):
    model, npz, start, _ = cli_files
    out = tmp_path / "out.h5"
    code = main(["retrain", "--method", "masked", "--sparsity", "70", "--epochs", "2",
                 "--from", str(start), "--model", str(model), "--data", str(npz), "--out", str(out),
                 "--json", "--batch-size", "32", "--train-limit", "96", "--val-limit", "80"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    res = json.loads(cap.out)
    assert res["method"] == "masked" and res["target"] == 0.7 and res["format"] == "h5"
    assert abs(res["sparsity"] - 0.7) < 1e-3 and len(res["history"]) == 2
    assert 0 <= res["accuracy"] <= 1 and "test_accuracy" in res
    assert "retrain masked" in cap.err  # progress bar on stderr
    from pruning.models import read_weight_file

    got = [a for _, arrs in read_weight_file(out) for _, a in arrs]
    was = [a for _, arrs in read_weight_file(start) for _, a in arrs]
    kinds = ["kernel" if a.ndim > 1 else "bias" for a in got]
    assert total_sparsity(got, kinds) == pytest.approx(res["sparsity"], abs=1e-12)
    assert all(np.all(g[w == 0] == 0) for g, w in zip(got, was))  # the --from zeros held
    from pruning.data import load_data
    from pruning.models import load_model, load_weights_into

    net = load_weights_into(load_model(str(model)), out)
    loaded = load_data(str(npz), 3)  # uint8 pixels as stored: 'auto' scaling feeds them / 255
    scaled = {p: SimpleNamespace(x=getattr(loaded, p).x.astype(np.float32) / 255, y=getattr(loaded, p).y)
              for p in ("val", "test")}
    val = SimpleNamespace(x=scaled["val"].x[:80], y=scaled["val"].y[:80])
    acc, loss = keras_scores(net, got, val)  # the JSON's scores are those of the written file
    assert res["input_scale"] == "1/255"
    assert res["accuracy"] == pytest.approx(acc, abs=1e-12)
    assert res["loss"] == pytest.approx(loss, rel=1e-4, abs=1e-6)
    assert res["test_accuracy"] == pytest.approx(keras_scores(net, got, scaled["test"])[0], abs=1e-12)
    assert any(not np.array_equal(g[w != 0], w[w != 0]) for g, w in zip(got, was))


def test_cli_sweep_runs_one_retrain_per_level(cli_files, capsys):
    model, npz, _, _ = cli_files
    code = main(["sweep", "--method", "gradual", "--sparsity", "40,80", "--epochs", "1",
                 "--model", str(model), "--data", str(npz), "--json", "--batch-size", "32",
                 "--train-limit", "64", "--val-limit", "50"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    res = json.loads(cap.out)
    assert res["method"] == "gradual" and [p["target"] for p in res["points"]] == [0.4, 0.8]
    for p in res["points"]:
        assert set(p) == {"target", "sparsity", "accuracy", "loss", "score"}
        assert abs(p["sparsity"] - p["target"]) < 1e-3
    assert res["frontier"] and set(res) >= {"baseline", "best", "floor", "scope"}


def test_cli_retrain_needs_a_train_split(cli_files, capsys):
    model, _, _, no_train = cli_files
    code = main(["retrain", "--method", "gradual", "--sparsity", "50", "--model", str(model),
                 "--data", str(no_train)])
    assert code == 1 and "train split" in capsys.readouterr().err


def test_training_arguments_are_validated():
    with pytest.raises(ValueError, match="optimizer"):
        Training(optimizer="rmsprop")
    with pytest.raises(ValueError, match="patience"):
        Training(patience=0)
    assert isinstance(Training(optimizer="adamw", weight_decay=0.1).make_optimizer(),
                      keras.optimizers.AdamW)


def test_retrain_starts_from_given_pruned_weights(tiny_model, data):
    from pruning.oneshot import OneShotPruner

    pruned = OneShotPruner(Baseline.from_model(tiny_model)).prune("layerwise", 0.5)
    res = retrain(tiny_model, data, "masked", None, Training(epochs=0), start=pruned)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(res.arrays, pruned.arrays))
    assert res.target == res.pruned.sparsity == pruned.sparsity
    with pytest.raises(RetrainError, match="do not fit"):
        retrain(tiny_model, data, "masked", None, Training(epochs=0), start=pruned.arrays[:-1])


def test_cosine_schedule_decays_each_phase_to_one_percent():
    opt = Training(learning_rate=1e-3, lr_schedule="cosine").make_optimizer(steps=100)
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    opt.iterations.assign(50)
    assert float(opt.learning_rate) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5), rel=1e-4)
    opt.iterations.assign(100)
    assert float(opt.learning_rate) == pytest.approx(1e-5, rel=1e-4)
    assert float(Training().make_optimizer(steps=100).learning_rate) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="learning-rate schedule"):
        Training(lr_schedule="step")


def test_adjusted_dropout_follows_han_et_al_from_the_masks(tiny_model, data):
    rates = [layer.rate for layer in tiny_model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates and all(r > 0 for r in rates)
    res = masked_retrain(tiny_model, data, 0.75, method="layerwise",
                         training=Training(epochs=2, adjust_dropout=True, **FAST))
    # each Dropout's rate scales with sqrt(kept fraction) of the kernel of the layer before it
    weight_names = Baseline.from_model(tiny_model).names
    expected, kept = [], None
    for layer in tiny_model.layers:
        if isinstance(layer, keras.layers.Dropout):
            expected.append(layer.rate * np.sqrt(kept))
        elif getattr(layer, "kernel", None) is not None:
            i = weight_names.index(f"{layer.name}/kernel")
            kept = res.masks[i].mean()
    assert all(0 < e < r for e, r in zip(expected, rates))
    for row in res.history:
        np.testing.assert_allclose(row["dropout"], expected, rtol=1e-6)
    plain = masked_retrain(tiny_model, data, 0.75, method="layerwise", training=Training(epochs=1, **FAST))
    assert "dropout" not in plain.history[0]
    for a, m in zip(res.arrays, res.masks):  # zeros still pinned
        assert m is None or not np.any(a[~m])


def test_distillation_blends_teacher_predictions_into_the_targets(tiny_model, data):
    from pruning.evaluate import Evaluator
    from pruning.retrain import soft_targets

    soft = soft_targets(tiny_model, data.train, 0.25, 3)
    probs = Evaluator(tiny_model, data.train).probabilities()
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(soft, 0.75 * np.eye(3)[data.train.y] + 0.25 * probs, rtol=1e-5, atol=1e-7)
    training = Training(epochs=1, distill=0.5, **FAST)
    a = gradual_prune(tiny_model, data, 0.6, training=training)
    b = gradual_prune(tiny_model, data, 0.6, training=Training(epochs=1, **FAST))
    assert a.pruned.sparsity == b.pruned.sparsity >= 0.6 - 1e-2
    assert any(x.tobytes() != y.tobytes() for x, y in zip(a.arrays, b.arrays))  # the targets differ
    for arr, m in zip(a.arrays, a.masks):
        assert m is None or not np.any(arr[~m])
    with pytest.raises(ValueError, match="distill"):
        Training(distill=1.5)


def test_cli_distill_from_a_pruned_file_uses_the_dense_model_as_teacher(cli_files, monkeypatch, capsys):
    import pruning.retrain.loop as L

    model_path, npz, start, _ = cli_files
    from pruning.models import load_model

    dense = load_model(model_path).get_weights()
    seen = []
    real = L.soft_targets
    monkeypatch.setattr(L, "soft_targets", lambda t, *a: seen.append(t.get_weights()) or real(t, *a))
    assert main(["retrain", "--method", "masked", "--from", str(start), "--model", str(model_path),
                 "--data", str(npz), "--epochs", "1", "--distill", "0.5", "--adjust-dropout",
                 "--lr-schedule", "cosine", "--json", "--no-store"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sparsity"] >= 0.5 - 1e-3 and out["history"][0]["dropout"]
    assert len(seen) == 1 and all(np.array_equal(a, b) for a, b in zip(seen[0], dense))
    assert total_sparsity(dense, ["kernel"] * len(dense)) < 0.01  # dense, not the --from file

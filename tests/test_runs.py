"""``pruning.runs``: one key scheme for retraining runs, served from the store or trained.

References: the stored weights are compared bit for bit with a plain ``retrain`` call, and
sparsities with a NumPy count of the zeros in the returned arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

import pruning.retrain
from pruning import runs
from pruning.frontier import challenge_score
from pruning.oneshot import Baseline
from pruning.retrain import Training, retrain
from pruning.store import ResultStore

FAST = Training(epochs=1, batch_size=32, patience=None)


@pytest.fixture()
def data(tiny_data):
    return tiny_data  # limits go in the request


def request(**kw):
    return runs.RunRequest(**{"method": "masked", "target": 0.6, "training": FAST, "train_limit": 64,
                              "val_limit": 50, "test_limit": 40, **kw})


class Trained(Exception):
    pass


def zero_fraction(arrays):
    return sum(int(np.sum(a == 0)) for a in arrays) / sum(a.size for a in arrays)


def test_key_depends_on_what_decides_the_numbers_only(tiny_model, data):
    start = Baseline.from_model(tiny_model).arrays
    key = runs.run_key(request(), start, data)
    assert runs.run_key(request(), start, data) == key
    # the method's defaults spelled out, and the seed given either way, name the same run
    imp = runs.run_key(request(method="imp"), start, data)
    spelled = request(method="imp", options={"rounds": 3, "rewind_epoch": None})
    assert runs.run_key(spelled, start, data) == imp
    assert request(seed=0) == request() and request(seed=4).training.seed == 4
    assert runs.run_key(request(training=Training(epochs=1, batch_size=32, patience=None, seed=4)),
                        start, data) == runs.run_key(request(seed=4), start, data)
    others = [request(target=0.7), request(scope="kernels"), request(seed=1), request(train_limit=65),
              request(val_limit=49), request(test_limit=None), request(method="gradual"),
              request(training=Training(epochs=2, batch_size=32, patience=None))]
    keys = {runs.run_key(r, start, data).id for r in others}
    assert len(keys) == len(others) and key.id not in keys
    moved = [a + 1 if i == 0 else a for i, a in enumerate(start)]
    assert runs.run_key(request(), moved, data) != key
    assert runs.run_key(request(), start, data, teacher=moved) != key
    with pytest.raises(ValueError, match="unknown options"):
        request(options={"round": 2})
    with pytest.raises(ValueError, match="needs a target"):
        request(method="gradual", target=None)


def test_run_trains_once_then_serves_the_same_weights(tiny_model, data, tmp_path, monkeypatch):
    req = request()
    ref = retrain(tiny_model, req.limited(data), "masked", 0.6, FAST)  # the plain library call
    with ResultStore(tmp_path) as store:
        first = runs.run(req, tiny_model, data, store=store)
        assert not first.from_store and first.trained is not None and first.warnings == ()
        assert all(a.tobytes() == b.tobytes() for a, b in zip(first.arrays, ref.arrays))
        with monkeypatch.context() as m:
            m.setattr(pruning.retrain, "retrain", lambda *a, **k: (_ for _ in ()).throw(Trained()))
            again = runs.run(req, tiny_model, data, store=store)
        assert again.from_store and again.trained is None and again.key == first.key
        assert all(a.tobytes() == b.tobytes() for a, b in zip(again.arrays, first.arrays))
        assert again.meta == first.meta
        assert again.meta["sparsity"] == pytest.approx(zero_fraction(again.arrays), abs=1e-12)
        assert again.meta["accuracy"] == ref.val.accuracy and again.meta["test_accuracy"] == ref.test.accuracy
        assert (again.meta["n_train"], again.meta["n_val"], again.meta["epochs"]) == (64, 50, 1)
        info = again.info(floor=0.5)
        assert info["from_store"] is True
        assert info["score"] == challenge_score(info["sparsity"], info["accuracy"], 0.5)
        listed = runs.stored_runs(store, Baseline.from_model(tiny_model).arrays, data, req)
        assert [s.key for s in listed] == [first.key] and listed[0].training == FAST
        other_test = request(test_limit=30)
        assert runs.stored_runs(store, Baseline.from_model(tiny_model).arrays, data, other_test) == []
        got = runs.load_stored(store, listed[0])
        assert all(a.tobytes() == b.tobytes() for a, b in zip(got, first.arrays))


def test_sweep_serves_stored_levels_and_trains_only_new_ones(tiny_model, data, tmp_path, monkeypatch):
    req = request(method="gradual")
    calls = []
    real = pruning.retrain.retrain
    monkeypatch.setattr(pruning.retrain, "retrain", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    with ResultStore(tmp_path) as store:
        df = runs.sweep(req, [0.4, 0.8], tiny_model, data, store=store, with_test=True)
        assert calls == [0.4, 0.8] and df.attrs["from_store"] == 0
        wider = runs.sweep(req, [0.4, 0.8, 0.9], tiny_model, data, store=store, with_test=True)
    assert calls == [0.4, 0.8, 0.9] and wider.attrs["from_store"] == 2
    assert wider.iloc[:2].equals(df)
    assert list(df["target"]) == [0.4, 0.8] and "test_accuracy" in df
    for s, got in zip(df["target"], df["sparsity"]):
        assert abs(got - s) < 2 / Baseline.from_model(tiny_model).params


def test_store_failures_never_stop_a_run(tiny_model, data, tmp_path, monkeypatch):
    with ResultStore(tmp_path) as store:
        def broken(*a, **k):
            raise OSError("disk full")
        monkeypatch.setattr(store, "save_result", broken)
        out = runs.run(request(), tiny_model, data, store=store)
        assert not out.from_store and out.warnings == ("result not saved to the store (disk full)",)
        assert store.results() == []


def test_retrain_sweep_is_one_plain_retrain_per_level(tiny_model, data):
    small = request().limited(data)
    df = pruning.retrain.retrain_sweep(tiny_model, small, "gradual", [0.5, 0.8], FAST, with_test=True)
    for s, row in zip([0.5, 0.8], df.to_dict("records")):
        ref = retrain(tiny_model, small, "gradual", s, FAST)
        assert (row["target"], row["sparsity"], row["accuracy"], row["loss"], row["test_accuracy"]) == \
            (s, ref.pruned.sparsity, ref.val.accuracy, ref.val.loss, ref.test.accuracy)


def test_seeded_sweep_rows_are_plain_retrains_and_seed_0_is_the_single_run(tiny_model, data, tmp_path):
    from dataclasses import replace

    req = request()
    with ResultStore(tmp_path) as store:
        single = runs.run(req, tiny_model, data, store=store)  # the default seed, 0
        df = runs.sweep(req, [0.6], tiny_model, data, store=store, seeds=[0, 2])
    assert list(df["seed"]) == [0, 2] and df.attrs["from_store"] == 1 and df.attrs["computed"] == 1
    assert df["accuracy"].iloc[0] == single.meta["accuracy"]
    small = req.limited(data)
    ref = retrain(tiny_model, small, "masked", 0.6, replace(FAST, seed=2))
    row = df.to_dict("records")[1]
    assert (row["sparsity"], row["accuracy"], row["loss"]) == \
        (ref.pruned.sparsity, ref.val.accuracy, ref.val.loss)
    assert runs.run_key(replace(req, seed=2), tiny_model.get_weights(), data).id != single.key.id

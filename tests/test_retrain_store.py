"""``python -m pruning retrain`` and the result store: a finished run is saved (keyed by
start weights, data, method, target, scope, training settings and code version), an
identical request is served from the store without training, any change trains again,
and ``--no-store`` never touches the store."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import pruning.retrain
from pruning import runs
from pruning.cli import main
from pruning.export import write_legacy_h5, write_weights
from pruning.models import read_weight_file
from pruning.store import ResultStore
from tiny_fixtures import make_tiny_arrays


@pytest.fixture()
def files(tmp_path, tiny_model):
    model = tmp_path / "tiny.keras"
    write_weights(tiny_model, model, "keras")
    start = tmp_path / "start.h5"
    write_legacy_h5(tiny_model, start)
    arrays = {}
    for part, n, seed in (("train", 96, 1), ("val", 80, 2), ("test", 80, 3)):
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_tiny_arrays(n, seed)
    np.savez(tmp_path / "tiny.npz", **arrays)
    return model, start, tmp_path / "tiny.npz"


def _argv(files, store, out, *extra):
    model, start, npz = files
    return ["retrain", "--method", "masked", "--sparsity", "60", "--epochs", "1", "--batch-size", "32",
            "--model", str(model), "--from", str(start), "--data", str(npz), "--store", str(store),
            "--out", str(out), "--json", *extra]


def _run(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    assert code == 0, cap.err
    return json.loads(cap.out), cap.err


def _weights(path):
    return [a for _, arrs in read_weight_file(path) for _, a in arrs]


class Trained(Exception):
    pass


def test_identical_request_is_served_from_the_store(files, tmp_path, capsys, monkeypatch):
    store_dir = tmp_path / "store"
    first, err = _run(capsys, _argv(files, store_dir, tmp_path / "a.h5"))
    assert first["from_store"] is False and "retrain masked" in err and "store: saved" in err

    real = pruning.retrain.retrain
    with monkeypatch.context() as m:  # the second identical request must not train at all
        def no_training(*a, **k):
            raise Trained
        m.setattr(pruning.retrain, "retrain", no_training)
        second, err = _run(capsys, _argv(files, store_dir, tmp_path / "b.h5"))
    assert second["from_store"] is True
    assert "served from" in err and "no training" in err and "retrain masked" not in err
    drop = ("from_store", "file", "bytes")
    assert {k: v for k, v in second.items() if k not in drop} == \
        {k: v for k, v in first.items() if k not in drop}
    a, b = _weights(tmp_path / "a.h5"), _weights(tmp_path / "b.h5")
    assert len(a) == len(b) and all(x.tobytes() == y.tobytes() for x, y in zip(a, b))

    # what is stored, under which key
    with ResultStore(store_dir) as store:
        rows = store.results()
    assert len(rows) == 1
    key, meta = rows[0]
    method, params, version = key.method, json.loads(key.params), key.version
    assert method == "masked" and version == pruning.__version__
    assert params["kind"] == runs.KIND == "retrain"  # the dashboard's kind too: one key scheme
    assert params["sparsity"] == 0.6 and params["scope"] == "all"
    assert params["training"] == dataclasses.asdict(pruning.retrain.Training(
        epochs=1, batch_size=32, patience=5, seed=0))
    assert params["train"] and params["test"]
    assert meta["sparsity"] == first["sparsity"] and meta["history"] == first["history"]

    # a different seed, target or code version is another run: it trains (and is stored too)
    calls = []

    def counting(*a, **k):
        calls.append(k.get("training", a[4] if len(a) > 4 else None))
        return real(*a, **k)
    monkeypatch.setattr(pruning.retrain, "retrain", counting)
    third, err = _run(capsys, _argv(files, store_dir, tmp_path / "c.h5", "--seed", "1"))
    assert len(calls) == 1 and third["from_store"] is False and "store: saved" in err
    monkeypatch.setattr(pruning, "__version__", pruning.__version__ + "+other")
    fourth, err = _run(capsys, _argv(files, store_dir, tmp_path / "d.h5"))
    assert len(calls) == 2 and fourth["from_store"] is False
    with ResultStore(store_dir) as store:
        assert len(store.results()) == 3


def test_no_store_always_trains_and_writes_nothing(files, tmp_path, capsys, monkeypatch):
    store_dir = tmp_path / "store"
    _run(capsys, _argv(files, store_dir, tmp_path / "a.h5"))
    calls = []
    real = pruning.retrain.retrain
    monkeypatch.setattr(pruning.retrain, "retrain", lambda *a, **k: calls.append(1) or real(*a, **k))
    res, err = _run(capsys, _argv(files, store_dir, tmp_path / "b.h5", "--no-store"))
    assert calls == [1] and res["from_store"] is False and "store:" not in err
    other = tmp_path / "unused-store"
    _run(capsys, _argv(files, other, tmp_path / "c.h5", "--no-store"))
    assert not other.exists()


def test_retrain_sweep_levels_are_stored_and_shared_with_retrain(files, tmp_path, capsys, monkeypatch):
    model, _, npz = files
    common = ["--method", "masked", "--epochs", "1", "--batch-size", "32", "--model", str(model),
              "--data", str(npz), "--store", str(tmp_path / "store"), "--json"]
    sweep = ["sweep", "--sparsity", "40,60", *common]
    first, err = _run(capsys, sweep)
    assert "store: 0 of 2 levels served, 2 trained" in err
    assert [p["target"] for p in first["points"]] == [0.4, 0.6]

    real = pruning.retrain.retrain
    with monkeypatch.context() as m:  # the same sweep again, and retrain at a swept level: no training
        def no_training(*a, **k):
            raise Trained
        m.setattr(pruning.retrain, "retrain", no_training)
        again, err = _run(capsys, sweep)
        assert "store: 2 of 2 levels served, 0 trained" in err
        assert again["points"] == first["points"]
        one, err = _run(capsys, ["retrain", "--sparsity", "60", *common])
        assert one["from_store"] is True and "served from" in err
        assert (one["sparsity"], one["accuracy"]) == (first["points"][1]["sparsity"],
                                                      first["points"][1]["accuracy"])

    calls = []
    monkeypatch.setattr(pruning.retrain, "retrain", lambda *a, **k: calls.append(a[3]) or real(*a, **k))
    wider, err = _run(capsys, ["sweep", "--sparsity", "40,60,80", *common])
    assert calls == [0.8] and "store: 2 of 3 levels served, 1 trained" in err  # only the new level
    assert wider["points"][:2] == first["points"]
    _, err = _run(capsys, ["sweep", "--sparsity", "40", "--seed", "1", *common])  # another recipe
    assert calls == [0.8, 0.4] and "0 of 1 levels served" in err

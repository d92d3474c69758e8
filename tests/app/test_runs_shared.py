"""One key scheme for retraining runs (``pruning.runs``): a run the CLI trained is served to
the dashboard without training, and a run the dashboard trained is served to the CLI.

"Served" is checked by making training impossible (``pruning.retrain.retrain`` raises) and by
comparing the weights bit for bit with those the first side stored.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from app_helpers import finish_retrain, metrics, new_app, ok, pct, upload

import pruning.retrain
from pruning.cli import main
from pruning.store import ResultStore


class Trained(Exception):
    pass


@pytest.fixture()
def files(tmp_path, tiny_keras, tiny_data):
    model = tmp_path / "tiny.keras"
    model.write_bytes(tiny_keras)
    buf = io.BytesIO()
    np.savez(buf, x_train=tiny_data.train.x, y_train=tiny_data.train.y, x_val=tiny_data.val.x,
             y_val=tiny_data.val.y, x_test=tiny_data.test.x, y_test=tiny_data.test.y)
    npz = tmp_path / "tiny-train.npz"
    npz.write_bytes(buf.getvalue())
    return model, npz


def _cli(files, capsys, *extra):
    model, npz = files
    # the dashboard's request: Training(epochs=1) defaults, its train/val/test limits
    argv = ["retrain", "--method", "masked", "--sparsity", "70", "--epochs", "1", "--train-limit", "600",
            "--val-limit", os.environ["PRUNING_VAL_LIMIT"], "--test-limit", os.environ["PRUNING_TEST_LIMIT"],
            "--model", str(model), "--data", str(npz), "--store", os.environ["PRUNING_STORE_DIR"],
            "--json", *extra]
    code = main(argv)
    cap = capsys.readouterr()
    assert code == 0, cap.err
    return json.loads(cap.out), cap.err


def _dashboard(demo, files):
    model, npz = files
    at = new_app().run()
    upload(at, ("tiny.keras", model.read_bytes()), [("tiny-train.npz", npz.read_bytes())])
    ok(at)
    at.switch_page("pages/retrain.py").run()
    at.selectbox(key="rt_method").set_value("masked")
    at.slider(key="rt_sparsity").set_value(70.0)
    at.number_input(key="rt_epochs").set_value(1).run()
    assert at.number_input(key="rt_train").value == 600
    finish_retrain(at.button(key="rt_run").click().run())
    ok(at)
    return at, at.session_state["_rt_result"][2]


def _stored_arrays():
    with ResultStore(os.environ["PRUNING_STORE_DIR"]) as store:
        (key, _), = store.results()
        return store.load_result(key)[0]


def test_a_cli_run_is_served_to_the_dashboard(demo, files, capsys, monkeypatch):
    first, err = _cli(files, capsys)
    assert first["from_store"] is False and "store: saved" in err
    stored = _stored_arrays()
    monkeypatch.setattr(pruning.retrain, "retrain", lambda *a, **k: (_ for _ in ()).throw(Trained()))
    at, entry = _dashboard(demo, files)
    assert entry.from_store
    assert any("Served from the result store" in c.value for c in at.caption)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(entry.pruned.arrays, stored))
    shown = metrics(at)
    assert pct(shown["Val accuracy"]) == pytest.approx(100 * first["accuracy"], abs=0.01)
    assert pct(shown["Sparsity"]) == pytest.approx(100 * first["sparsity"], abs=0.01)
    assert entry.history == tuple(first["history"])


def test_a_dashboard_run_is_served_to_the_cli(demo, files, capsys, monkeypatch):
    _, entry = _dashboard(demo, files)
    assert not entry.from_store
    stored = _stored_arrays()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(entry.pruned.arrays, stored))
    monkeypatch.setattr(pruning.retrain, "retrain", lambda *a, **k: (_ for _ in ()).throw(Trained()))
    second, err = _cli(files, capsys)
    assert second["from_store"] is True and "served from" in err
    assert (second["accuracy"], second["sparsity"]) == (entry.accuracy, entry.sparsity)
    assert second["test_accuracy"] == entry.test_accuracy

"""``python -m pruning structured`` on a tiny trained model file and tiny data."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from pruning.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_data, tiny_weights_path):
    from pruning.models import load_weights_into
    from tiny_fixtures import TINY_CLASSES, TINY_SHAPE

    from pruning.models import build_model

    d = tmp_path_factory.mktemp("structured-cli")
    model = load_weights_into(build_model(TINY_SHAPE, TINY_CLASSES, width=0.25), tiny_weights_path)
    model.save(d / "tiny.keras")
    np.savez(d / "tiny.npz", x_train=tiny_data.train.x, y_train=tiny_data.train.y,
             x_val=tiny_data.val.x, y_val=tiny_data.val.y, x_test=tiny_data.test.x, y_test=tiny_data.test.y)
    return d, model


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_structured_json_and_files_reload(capsys, files, tiny_data):
    from pruning.evaluate import Evaluator

    d, dense = files
    out, h5 = d / "small.keras", d / "small.h5"
    code, stdout, err = run(capsys, "structured", "--model", str(d / "tiny.keras"), "--data",
                            str(d / "tiny.npz"), "--remove", "0.5", "--epochs", "1", "--out", str(out),
                            "--h5", str(h5), "--report-runs", "2", "--json")
    assert code == 0, err
    info = json.loads(stdout)
    small = keras.saving.load_model(out, safe_mode=True, compile=False)  # plain Keras
    assert info["params"] == small.count_params() < info["dense_params"] == dense.count_params()
    assert info["accuracy"] == Evaluator(small, tiny_data.val).evaluate().accuracy
    assert info["test_accuracy"] == Evaluator(small, tiny_data.test).evaluate().accuracy
    assert info["removed"]["conv2d"] == {"before": 8, "after": 4, "removed": 4}
    assert info["removed"]["dense_1"]["removed"] == 0 and "dense_1" in info["unpruned"]
    assert info["epochs_run"] == 1
    twin = keras.models.model_from_json((d / "small.json").read_text())
    twin.load_weights(h5)
    x = tiny_data.val.x[:16]
    np.testing.assert_array_equal(np.asarray(twin(x)), np.asarray(small(x)))
    dep = info["deployment"]  # struct-b's report when this build has pruning.deploy
    assert (dep is not None and {"params", "macs", "latency_ms", "speedup"} <= set(dep)
            and dep["params"] == info["params"]) or any("not available" in n for n in info["notes"])


@pytest.mark.parametrize("argv,code,message", [
    (["--remove", "1.0"], 1, "fraction in [0, 1)"),
    (["--remove", "-0.2"], 1, "fraction in [0, 1)"),
    (["--remove", "0.5", "--layers", "dense_1"], 1, "dense_1 cannot be pruned structurally"),
    (["--remove", "half"], 2, "invalid float"),
    (["--remove", "0.5", "--importance", "l7"], 2, "invalid choice"),
    (["--remove", "0.5", "--out-name-typo"], 2, "unrecognized"),
])
def test_bad_requests(capsys, files, argv, code, message):
    d, _ = files
    base = ["structured", "--model", str(d / "tiny.keras"), "--data", str(d / "tiny.npz"),
            "--out", str(d / "bad.keras"), "--no-report"]
    if code == 2:
        with pytest.raises(SystemExit) as e:
            main(base + argv)
        assert e.value.code == 2
    else:
        assert main(base + argv) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # argparse prints its usage first, then the error
    assert message in last and (code == 2 or len(err.strip().splitlines()) == 1)
    assert not (d / "bad.keras").exists()


def test_wrong_suffix_and_too_small(capsys, files, tmp_path):
    d, _ = files
    common = ["structured", "--model", str(d / "tiny.keras"), "--data", str(d / "tiny.npz"), "--no-report"]
    assert main(common + ["--remove", "0.5", "--out", str(tmp_path / "x.h5")]) == 1
    assert "must end in .keras" in capsys.readouterr().err
    small = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    small.save(tmp_path / "small.keras")
    assert main(["structured", "--model", str(tmp_path / "small.keras"), "--data", str(d / "tiny.npz"),
                 "--no-report", "--remove", "0.1", "--out", str(tmp_path / "y.keras")]) == 1
    assert "too small" in capsys.readouterr().err

"""``retrain --seeds``: one run per seed, each keyed and stored with its seed; the summary is
the runs' own statistics; ``--out`` refuses several seeds; executor settings are checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pruning.cli import main
from pruning.export import write_weights
from tiny_fixtures import make_tiny_arrays


@pytest.fixture()
def files(tmp_path, tiny_model):
    model = tmp_path / "tiny.keras"
    write_weights(tiny_model, model, "keras")
    arrays = {}
    for part, n, seed in (("train", 96, 1), ("val", 60, 2), ("test", 60, 3)):
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_tiny_arrays(n, seed)
    np.savez(tmp_path / "tiny.npz", **arrays)
    return model, tmp_path / "tiny.npz"


def test_retrain_seeds_summary_and_store(files, tmp_path, capsys):
    model, npz = files
    argv = ["retrain", "--method", "gradual", "--sparsity", "70", "--epochs", "2", "--batch-size", "32",
            "--model", str(model), "--data", str(npz), "--store", str(tmp_path / "s"), "--seeds", "3,4",
            "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    runs = out["runs"]
    assert [r["seed"] for r in runs] == [3, 4] and not any(r["from_store"] for r in runs)
    accs = [r["accuracy"] for r in runs]
    s = out["summary"]["accuracy"]
    assert s["n"] == 2 and s["mean"] == pytest.approx(np.mean(accs))
    assert s["sd"] == pytest.approx(np.std(accs, ddof=1)) and (s["min"], s["max"]) == (min(accs), max(accs))
    assert out["summary"]["test_accuracy"]["mean"] == pytest.approx(np.mean([r["test_accuracy"] for r in runs]))
    assert main(argv) == 0  # each seed is its own stored run: both served now
    again = json.loads(capsys.readouterr().out)
    assert all(r["from_store"] for r in again["runs"]) and again["summary"] == out["summary"]
    one = argv[:-3] + ["--seed", "4", "--json"]  # the single run of seed 4 is the same stored run
    assert main(one) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["from_store"] and single["accuracy"] == runs[1]["accuracy"]


def test_bad_seed_and_executor_arguments(files, tmp_path, capsys, monkeypatch):
    model, npz = files
    base = ["--model", str(model), "--data", str(npz), "--no-store"]
    assert main(["retrain", "--method", "masked", "--sparsity", "50", "--seeds", "0,1",
                 "--out", str(tmp_path / "x.h5"), *base]) == 1
    assert "--out writes one run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sweep", "--method", "masked", "--seeds", "0,0", *base])
    assert main(["sweep", "--method", "global", "--seeds", "0,1", *base]) == 1
    assert "deterministic" in capsys.readouterr().err
    assert main(["sweep", "--method", "masked", "--workers", "0", "--executor", "process", *base]) == 1
    assert "workers must be >= 1" in capsys.readouterr().err
    monkeypatch.setenv("PRUNING_WORKERS", "two")
    assert main(["sensitivity", *base[:-1], "--executor", "process"]) == 1
    assert "PRUNING_WORKERS must be a whole number" in capsys.readouterr().err

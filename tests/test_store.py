"""The result store: keys, points, thread safety, resumable sweeps (also across SIGKILL),
the CLI's use of it, and atomic writes (store .npz files and pruning.export)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pruning import store as store_mod
from pruning.store import ResultStore, RunKey, hash_arrays, resumable_sweep, sweep_key

ROOT = Path(__file__).resolve().parent.parent


def _key(**kw) -> RunKey:
    base = dict(model="m" * 64, data="d" * 64, method="global", params='{"scope":"all"}', version="0")
    return RunKey(**{**base, **kw})


def test_default_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PRUNING_STORE_DIR", str(tmp_path / "s"))
    assert store_mod.default_dir() == tmp_path / "s"
    monkeypatch.delenv("PRUNING_STORE_DIR")
    assert store_mod.default_dir() == Path.home() / ".cache" / "pruning-dashboard"
    monkeypatch.setenv("PRUNING_STORE_DIR", str(tmp_path / "s"))
    assert ResultStore().db_path == tmp_path / "s" / "results.sqlite"


def test_keys_change_with_everything_that_decides_the_numbers(tiny_workbench):
    wb = tiny_workbench
    k = sweep_key(wb, "global", "all", 0.6)
    assert k == sweep_key(wb, "global", "all", 0.6) and k.id == sweep_key(wb, "global", "all", 0.6).id
    assert k.model == hash_arrays(wb.baseline.arrays) and k.version == __import__("pruning").__version__
    others = [sweep_key(wb, "layerwise", "all", 0.6), sweep_key(wb, "global", "kernels", 0.6),
              sweep_key(wb, "global", "all", 0.7), sweep_key(wb, "global", "all", 0.6, with_test=True)]
    assert len({o.id for o in others} | {k.id}) == 5
    assert json.loads(k.params) == {"kind": "one-shot sweep", "scope": "all", "floor": 0.6,
                                    "input_scale": wb.fit.scale}
    assert hash_arrays([np.zeros(2, np.float32)]) != hash_arrays([np.zeros(2, np.float64)])
    assert hash_arrays([np.zeros((2, 1))]) != hash_arrays([np.zeros((1, 2))])


def test_keys_name_the_input_scaling(tiny_model, tiny_data):
    from pruning.workbench import Workbench

    raw = Workbench(tiny_model, tiny_data, input_scale="none")  # tiny data is stored in [0, 1]
    assert raw.fit.scale == "none" and Workbench(tiny_model, tiny_data).fit.scale == "none"
    scaled = Workbench(tiny_model, tiny_data, input_scale="1/255")  # chosen: recorded, keyed apart
    assert json.loads(sweep_key(scaled, "global").params)["input_scale"] == "1/255"
    assert sweep_key(scaled, "global").id != sweep_key(raw, "global").id
    assert json.loads(sweep_key(raw, "global").params)["input_scale"] == "none"


def test_points_round_trip_and_survive_reopening(tmp_path):
    key, other = _key(), _key(method="layerwise")
    with ResultStore(tmp_path) as s:
        assert s._read("PRAGMA journal_mode", ())[0][0] == "wal"
        assert s.points(key).empty and not s.is_complete(key)
        s.add_point(key, {"method": "global", "scope": "all", "target": 0.9, "sparsity": 0.9001,
                          "accuracy": 0.5, "loss": 1.25, "score": math.nan})
        s.add_point(key, {"method": "global", "scope": "all", "target": 0.1, "sparsity": 0.1,
                          "accuracy": np.float64(0.9), "loss": 0.1, "score": 0.01})
        s.add_point(key, {"method": "global", "scope": "all", "target": 0.1, "sparsity": 0.1,
                          "accuracy": 0.95, "loss": 0.1, "score": 0.02})  # replaces, no duplicate
        s.mark_complete(key)
    with ResultStore(tmp_path) as s:
        df = s.points(key)
        assert df["target"].tolist() == [0.1, 0.9] and df["accuracy"].tolist() == [0.95, 0.5]
        assert math.isnan(df["score"][1]) and df["sparsity"][1] == 0.9001
        assert s.is_complete(key) and not s.is_complete(other) and s.points(other).empty
        with pytest.raises(ValueError, match="sparsity must be a fraction"):
            s.add_point(key, {"target": 90})


def test_store_is_thread_safe(tmp_path):
    s = ResultStore(tmp_path)
    keys = [_key(method=f"m{i}") for i in range(10)]
    errors = []

    def work(k):
        try:
            for t in range(20):
                s.add_point(k, {"target": t / 20, "accuracy": t / 20 + 0.001})
                assert len(s.points(k)) == t + 1
            s.mark_complete(k)
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in keys:
        assert s.points(k)["accuracy"].tolist() == [t / 20 + 0.001 for t in range(20)]
        assert s.is_complete(k)
    s.close()


def test_resumable_sweep_serves_stored_levels_and_equals_a_plain_sweep(tiny_workbench, tmp_path):
    wb = tiny_workbench
    s = ResultStore(tmp_path)
    first = resumable_sweep(wb, s, "global", [0.0, 0.5])
    assert first.attrs == {"from_store": 0, "computed": 2}
    calls = []
    grid = [0.0, 0.5, 0.8, 0.95]
    df = resumable_sweep(wb, s, "global", grid, progress=lambda i, n, r: calls.append((i, n)))
    assert df.attrs == {"from_store": 2, "computed": 2} and calls == [(i, 4) for i in range(1, 5)]
    pd.testing.assert_frame_equal(df, wb.sweep("global", grid))
    again = resumable_sweep(wb, s, "global", grid)
    assert again.attrs["from_store"] == 4
    pd.testing.assert_frame_equal(again, df)
    # other parameters never reuse these points
    assert resumable_sweep(wb, s, "global", grid, scope="kernels").attrs["from_store"] == 0
    with_test = resumable_sweep(wb, s, "global", grid, with_test=True)
    assert with_test.attrs["from_store"] == 0
    pd.testing.assert_frame_equal(with_test, wb.sweep("global", grid, with_test=True))
    assert s.is_complete(sweep_key(wb, "global"))


DRIVER = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {root!r})
    import numpy as np
    from pruning.data import load_npz
    from pruning.models import build_model, load_weights_into
    from pruning.store import ResultStore, resumable_sweep
    from pruning.workbench import Workbench

    weights, data, store_dir, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    wb = Workbench(load_weights_into(build_model((12, 12, 1), 3, width=0.25), weights),
                   load_npz(data, 3))
    grid = [i / 12 for i in range(12)]
    def slow(i, n, row):
        time.sleep(delay)  # a slow level: the test kills us in the middle of the sweep
    df = resumable_sweep(wb, ResultStore(store_dir), "layerwise", grid, "all", 0.6, slow)
    print(json.dumps({{"attrs": df.attrs, "rows": df.to_dict("records")}}))
""")


def test_sweep_killed_mid_way_keeps_finished_points(tiny_weights_path, tiny_data, tmp_path):
    from pruning.data import load_npz
    from pruning.models import build_model, load_weights_into
    from pruning.workbench import Workbench

    np.savez(tmp_path / "val.npz", x_val=tiny_data.val.x, y_val=tiny_data.val.y)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)))
    store_dir = tmp_path / "store"
    cmd = [sys.executable, str(driver), str(tiny_weights_path), str(tmp_path / "val.npz"), str(store_dir)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    wb = Workbench(load_weights_into(build_model((12, 12, 1), 3, width=0.25), tiny_weights_path),
                   load_npz(tmp_path / "val.npz", 3))
    key = sweep_key(wb, "layerwise", "all", 0.6)
    reference = wb.sweep("layerwise", [i / 12 for i in range(12)], "all", 0.6)  # never interrupted

    proc = subprocess.Popen(cmd + ["0.3"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        n = 0
        while time.time() < deadline and proc.poll() is None:
            if (store_dir / "results.sqlite").exists():
                with ResultStore(store_dir) as s:
                    n = len(s.points(key))
                if n >= 2:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert n >= 2, "the sweep never stored 2 points"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with ResultStore(store_dir) as s:
        kept = s.points(key)
        assert not s.is_complete(key)
    assert 2 <= len(kept) < 12
    pd.testing.assert_frame_equal(kept.reset_index(drop=True),
                                  reference[reference["target"].isin(kept["target"])].reset_index(drop=True))

    done = subprocess.run(cmd + ["0"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["attrs"] == {"from_store": len(kept), "computed": 12 - len(kept)}
    pd.testing.assert_frame_equal(pd.DataFrame(out["rows"]), reference)
    with ResultStore(store_dir) as s:
        assert s.is_complete(key) and len(s.points(key)) == 12


def _fm_files(tmp_path: Path) -> tuple[Path, Path]:
    """A fashion-mnist preset model (random weights) and a 40-image .npz that fits it."""
    import keras

    from pruning.export import write_weights
    from pruning.models import build_preset

    keras.utils.set_random_seed(1)
    weights = write_weights(build_preset("fashion-mnist"), tmp_path / "fm.h5")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "fm.npz", x_val=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
             y_val=np.arange(40) % 10)
    return weights, tmp_path / "fm.npz"


def test_cli_sweep_uses_the_store(tmp_path, capsys, monkeypatch):
    from pruning.cli import main

    weights, data = _fm_files(tmp_path)
    monkeypatch.setenv("PRUNING_STORE_DIR", str(tmp_path / "env-store"))
    args = ["sweep", "--method", "global", "--sparsity", "0:90:30", "--json",
            "--model", str(weights), "--data", str(data)]

    assert main(args + ["--store", str(tmp_path / "s")]) == 0
    first = capsys.readouterr()
    assert "4 levels computed and saved" in first.err
    assert main(args + ["--store", str(tmp_path / "s")]) == 0
    second = capsys.readouterr()
    assert "all 4 levels served from" in second.err and str(tmp_path / "s") in second.err
    assert json.loads(second.out)["points"] == json.loads(first.out)["points"]

    assert main(args[:4] + ["0:90:15"] + args[5:] + ["--store", str(tmp_path / "s")]) == 0
    assert "4 of 7 levels served" in capsys.readouterr().err

    assert main(args) == 0  # default: the env's store directory
    assert (tmp_path / "env-store" / "results.sqlite").exists()
    capsys.readouterr()
    assert main(args + ["--no-store", "--store", str(tmp_path / "never")]) == 0
    assert "store" not in capsys.readouterr().err and not (tmp_path / "never").exists()


def test_cli_sweep_without_a_usable_store_still_works(tmp_path, capsys):
    from pruning.cli import main

    weights, data = _fm_files(tmp_path)
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    assert main(["sweep", "--method", "global", "--sparsity", "50", "--json", "--model", str(weights),
                 "--data", str(data), "--store", str(blocker / "sub")]) == 0
    io = capsys.readouterr()
    assert "result store unavailable" in io.err and json.loads(io.out)["points"]


def test_saved_results_are_atomic(tmp_path, monkeypatch):
    s = ResultStore(tmp_path)
    key = _key(method="imp")
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros(3, np.float32)]
    path = s.save_result(key, arrays, {"accuracy": 0.9, "epochs": 3})
    got, meta = s.load_result(key)
    assert meta == {"accuracy": 0.9, "epochs": 3}
    for a, b in zip(got, arrays):
        np.testing.assert_array_equal(a, b)
    assert s.load_result(_key(method="gradual")) is None

    def broken_savez(f, *arrays):
        f.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        s.save_result(key, [np.ones(3)], {"accuracy": 0.1})
    got, meta = s.load_result(key)  # the earlier result is intact, no temp file is left
    np.testing.assert_array_equal(got[0], arrays[0])
    assert meta["accuracy"] == 0.9
    assert sorted(p.name for p in (tmp_path / "arrays").iterdir()) == [path.name]
    with pytest.raises(OSError):
        s.save_result(_key(method="masked"), [np.ones(3)], {})
    assert s.load_result(_key(method="masked")) is None
    assert sorted(p.name for p in (tmp_path / "arrays").iterdir()) == [path.name]


def test_export_failure_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    from pruning import export

    target = tmp_path / "out" / "pruned.h5"

    def half_then_fail(p: Path) -> None:
        p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
        raise RuntimeError("writer crashed")

    with pytest.raises(RuntimeError, match="writer crashed"):
        export._atomic(target, half_then_fail)
    assert list(target.parent.iterdir()) == []

    export._atomic(target, lambda p: p.write_bytes(b"good"))
    with pytest.raises(RuntimeError):
        export._atomic(target, half_then_fail)
    assert target.read_bytes() == b"good" and [p.name for p in target.parent.iterdir()] == ["pruned.h5"]

    from pruning.models import build_model

    model = build_model((12, 12, 1), 3, width=0.25)

    def save_fails(*a, **k):
        raise OSError("no space left on device")

    monkeypatch.setattr(type(model), "save", save_fails)
    with pytest.raises(OSError, match="no space"):
        export.write_weights(model, tmp_path / "out" / "m.keras", "keras")
    assert [p.name for p in target.parent.iterdir()] == ["pruned.h5"]

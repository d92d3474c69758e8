"""Executors: the same small seeded sweep through local, process and Ray gives identical store
rows and bit-identical weights; a worker SIGKILLed mid-job is retried and the grid ends with
every run exactly once, equal to an uninterrupted run. Ray runs on a local cluster the test
starts (2 CPUs)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pruning.cli import main
from tiny_fixtures import make_tiny_arrays

ray = pytest.importorskip("ray")  # pinned in requirements.txt: present in CI


@pytest.fixture(scope="module")
def ray_cluster():
    from pruning.executors import ExecutorConfig, connect_ray

    connect_ray(ExecutorConfig("ray", workers=2, threads=1))
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_files):
    """The tiny model (the session's .keras file) and a small .npz written once for the module."""
    npz = tmp_path_factory.mktemp("executor-files") / "tiny.npz"
    arrays = {}
    for part, n, seed in (("train", 96, 1), ("val", 60, 2), ("test", 60, 3)):
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_tiny_arrays(n, seed)
    np.savez(npz, **arrays)
    return tiny_files.keras, npz


def _store_rows(store: Path) -> dict:
    """run id -> (meta without timings and thread count, weights) of every stored result."""
    conn = sqlite3.connect(store / "results.sqlite")
    rows = conn.execute("SELECT run, file, meta FROM results").fetchall()
    conn.close()
    out = {}
    for run, file, meta in rows:
        m = json.loads(meta)
        for k in ("seconds",):
            m.pop(k)
        for h in m["history"]:
            h.pop("seconds")
        with np.load(store / "arrays" / file) as z:
            out[run] = (m, [z[f"arr_{i}"] for i in range(len(z.files))])
    return out


def _sweep(files, store, capsys, *extra):
    model, npz = files
    code = main(["sweep", "--method", "masked", "--sparsity", "70", "--seeds", "0,1", "--epochs", "1",
                 "--batch-size", "32", "--model", str(model), "--data", str(npz), "--store", str(store),
                 "--with-test", "--json", *extra])
    assert code == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    out["stderr"] = captured.err
    return out


def test_local_process_ray_same_rows_and_bits(files, tmp_path, capsys, ray_cluster):
    from pruning.executors import thread_count
    from pruning.intervals import summarize

    threads = str(thread_count())  # the workers run with this process's intra-op thread count
    local = _sweep(files, tmp_path / "local", capsys, "--executor", "local")
    proc = _sweep(files, tmp_path / "proc", capsys, "--executor", "process", "--workers", "1",
                  "--threads", threads)
    rayed = _sweep(files, tmp_path / "ray", capsys, "--executor", "ray", "--threads", threads)
    for out in (local, proc, rayed):
        out.pop("stderr")
    assert local == proc == rayed
    assert [(p["target"], p["seed"]) for p in local["points"]] == [(0.7, 0), (0.7, 1)]
    for item in local["summary"]:  # the summary is the seeds' own statistics
        accs = [p["accuracy"] for p in local["points"] if p["target"] == item["target"]]
        ref = summarize(accs)
        assert item["n"] == 2 and item["accuracy"]["mean"] == pytest.approx(np.mean(accs))
        assert item["accuracy"]["sd"] == pytest.approx(np.std(accs, ddof=1)) and ref.n == 2
        assert item["accuracy"]["min"] == min(accs) and item["accuracy"]["max"] == max(accs)
    rows = [_store_rows(tmp_path / s) for s in ("local", "proc", "ray")]
    assert len(rows[0]) == 2 and rows[0].keys() == rows[1].keys() == rows[2].keys()
    for run in rows[0]:
        metas = [r[run][0] for r in rows]
        assert metas[0] == metas[1] == metas[2]
        for a, b, c in zip(*(r[run][1] for r in rows)):
            assert a.tobytes() == b.tobytes() == c.tobytes()
    # a rerun through any executor is served from the store: nothing trains again
    again = _sweep(files, tmp_path / "proc", capsys, "--executor", "ray", "--threads", threads)
    assert "2 of 2 runs served" in again.pop("stderr") and again == local


def killing_train_job(shared, job):
    """``train_job``, but the first attempt of the seed-1 job SIGKILLs its own worker a moment
    after training starts (a marker file says an attempt ran; every attempt logs its pid)."""
    from pruning.jobs import train_job

    log = Path(shared.checkpoint_dir) / "attempts.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(f"{job.seed} {os.getpid()}\n")
    marker = log.parent / "killed"
    if job.seed == 1 and not marker.exists():
        marker.touch()
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGKILL)).start()
        time.sleep(30)  # killed long before this ends
    return train_job(shared, job)


@pytest.mark.parametrize("kind", ["ray", "process"])
def test_killed_worker_is_retried(kind, tiny_model, tiny_data, tmp_path, ray_cluster):
    from ray import cloudpickle

    from pruning.batch import run_grid
    from pruning.executors import ExecutorConfig, thread_count
    from pruning.jobs import ModelSpec, RetrainShared
    from pruning.retrain import Training, limit
    from pruning.runs import RunRequest, checkpoint_subdir, run_key
    from pruning.store import ResultStore

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import tests/
    data = limit(tiny_data, 96, 60, 60)
    jobs = [RunRequest("masked", 0.6, training=Training(epochs=1, batch_size=32), seed=k) for k in (0, 1)]
    keys = [run_key(job, tiny_model.get_weights(), data) for job in jobs]
    assert keys[0].id != keys[1].id  # the seed is in the key
    threads = thread_count()
    with ResultStore(tmp_path / "store") as store:
        landed = []
        res = run_grid(jobs, tiny_model, data, store=store,
                       config=ExecutorConfig(kind, workers=1 if kind == "process" else 2, threads=threads),
                       on_land=lambda i, r: landed.append(i), fn=killing_train_job,
                       checkpoint_dir=str(tmp_path / "ck"), per_seed=True)
    assert all(checkpoint_subdir(tmp_path / "ck", j, True).parent == tmp_path / "ck" / "level-0.600000"
               for j in jobs)
    assert (tmp_path / "ck" / "killed").exists()
    attempts = (tmp_path / "ck" / "attempts.log").read_text().split()
    seeds, pids = attempts[0::2], attempts[1::2]
    assert seeds.count("1") == 2 and seeds.count("0") >= 1  # seed 1 ran twice: killed, then retried
    killed_pid = pids[seeds.index("1")]
    assert killed_pid not in [p for s, p in zip(seeds, pids) if s == "1"][1:]
    assert sorted(landed) == [0, 1] and res.served == 0
    rows = _store_rows(tmp_path / "store")
    assert sorted(rows) == sorted(k.id for k in keys)  # each run stored exactly once
    # the retried run equals an uninterrupted run of the same job in this process
    from pruning.jobs import train_job

    ref = train_job(RetrainShared(ModelSpec.of(tiny_model), data), jobs[1])
    assert [a.tobytes() for a in rows[keys[1].id][1]] == [a.tobytes() for a in ref["arrays"]]
    assert [a.tobytes() for a in res.results[1].arrays] == [a.tobytes() for a in ref["arrays"]]


def test_sensitivity_layers_as_ray_jobs_match_the_local_scan(files, capsys, ray_cluster):
    from pruning.executors import thread_count

    model, npz = files
    argv = ["sensitivity", "--sparsity", "0,50,90", "--model", str(model), "--data", str(npz), "--json"]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(argv + ["--executor", "ray", "--threads", str(thread_count())]) == 0
    rayed = json.loads(capsys.readouterr().out)
    assert rayed["layers"] == local["layers"] and len(rayed["rows"]) == len(local["rows"]) == 3 * len(local["layers"])
    for a, b in zip(local["rows"], rayed["rows"]):  # one layer per job, rows in model order
        assert (a["layer"], a["target"], a["sparsity"], a["accuracy"]) == (b["layer"], b["target"], b["sparsity"],
                                                                           b["accuracy"])
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)

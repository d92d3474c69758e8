"""Crash safety of ``python -m pruning retrain --checkpoint-dir``: a process SIGKILLed after
its first epoch checkpoint resumes from it when started again (not from scratch), ends with
exactly the weights of an uninterrupted run, and never leaves a half-written ``--out``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pruning.export import write_legacy_h5, write_weights
from pruning.models import read_weight_file
from pruning.retrain import CHECKPOINT, checkpoint_history
from tiny_fixtures import make_tiny_arrays

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 4  # the kill lands after the first epoch checkpoint, so mid-run


@pytest.fixture()
def files(tmp_path, tiny_model):
    model = tmp_path / "tiny.keras"  # the tiny stack is no preset: its architecture travels along
    write_weights(tiny_model, model, "keras")
    start = tmp_path / "start.h5"
    write_legacy_h5(tiny_model, start)
    arrays = {}
    for part, n, seed in (("train", 320, 1), ("val", 200, 2), ("test", 200, 3)):
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_tiny_arrays(n, seed)
    np.savez(tmp_path / "tiny.npz", **arrays)
    return model, start, tmp_path / "tiny.npz"


def _cmd(files, ckpt: Path, out: Path) -> list[str]:
    model, start, npz = files
    return [sys.executable, "-m", "pruning", "retrain", "--method", "gradual", "--sparsity", "70",
            "--epochs", str(EPOCHS), "--batch-size", "16", "--patience", "100", "--seed", "3",
            "--model", str(model), "--from", str(start), "--data", str(npz),
            "--checkpoint-dir", str(ckpt), "--out", str(out), "--no-store", "--json"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
            "CUDA_VISIBLE_DEVICES": ""}


def _finish(cmd: list[str]) -> tuple[dict, str]:
    p = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout), p.stderr


def _weights(path: Path) -> list[np.ndarray]:
    return [a for _, arrs in read_weight_file(path) for _, a in arrs]


def test_sigkill_after_first_epoch_resumes_to_the_uninterrupted_weights(files, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out, ckpt = out_dir / "retrained.h5", tmp_path / "ckpt"
    cmd = _cmd(files, ckpt, out)

    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    try:
        while not (ckpt / CHECKPOINT).exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "no checkpoint within 240 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = checkpoint_history(ckpt)  # the checkpoint is whole (atomic rename) ...
    assert 1 <= len(before) < EPOCHS  # ... and the kill landed mid-run
    assert [p.name for p in out_dir.iterdir()] == []  # no --out, not even a temp file

    resumed, err = _finish(cmd)
    assert resumed["resumed"] is True and "resumed from" in err
    assert len(resumed["history"]) == EPOCHS
    # the epochs before the kill were taken over, not trained again (same wall-clock stamps)
    # ("best" is marked on every row when the phase ends)
    assert [{k: v for k, v in r.items() if k != "best"} for r in resumed["history"][:len(before)]] == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["retrained.h5"]  # no temp file left

    ref_out = tmp_path / "ref" / "retrained.h5"
    full, _ = _finish(_cmd(files, tmp_path / "ckpt-ref", ref_out))
    assert full["resumed"] is False
    got, want = _weights(out), _weights(ref_out)
    assert len(got) == len(want) and all(a.tobytes() == b.tobytes() for a, b in zip(got, want))
    drop = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed["history"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in full["history"]]
    assert resumed["sparsity"] == full["sparsity"] and resumed["accuracy"] == full["accuracy"]

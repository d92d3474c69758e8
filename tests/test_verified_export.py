"""Every offered file is checked first: ``verified_export_bytes`` reloads the written bytes
into a fresh model and compares them bit for bit; a writer that corrupts a single bit is
caught, in the library, in the dashboard's download path and in ``retrain --out``."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

import pruning.export
from pruning.export import FORMATS, SUFFIX, ExportError, reload_check, verified_export_bytes, write_weights


def _bump_first_float(h5: Path) -> None:
    """Move one stored weight to the next float32 up: one bit of difference."""
    with h5py.File(h5, "r+") as f:
        found = []
        f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset)
                     and o.dtype.kind == "f" and o.size > 1 and not found else None)
        ds = f[found[0]]
        a = ds[()]
        a.reshape(-1)[0] = np.nextafter(a.reshape(-1)[0], np.float32(np.inf))
        ds[...] = a


def corrupt(path: Path) -> None:
    """Flip one weight of an exported file in place (inside the archive for .keras)."""
    if not zipfile.is_zipfile(path):
        _bump_first_float(path)
        return
    with tempfile.TemporaryDirectory() as d:
        with zipfile.ZipFile(path) as z:
            z.extractall(d)
            names = z.namelist()
        _bump_first_float(Path(d) / "model.weights.h5")
        with zipfile.ZipFile(path, "w") as z:
            for n in names:
                z.write(Path(d) / n, n)


@pytest.fixture()
def corrupt_writer(monkeypatch):
    real = pruning.export.write_weights

    def writer(model, path, fmt="h5"):
        p = real(model, path, fmt)
        corrupt(Path(p))
        return p
    monkeypatch.setattr(pruning.export, "write_weights", writer)


@pytest.mark.parametrize("fmt", FORMATS)
def test_verified_bytes_reload_bit_identical(tmp_path, tiny_workbench, fmt):
    wb = tiny_workbench
    pruned = wb.prune("global", 0.8)
    data = verified_export_bytes(wb.load(pruned.arrays), fmt, pruned.arrays)
    path = tmp_path / f"x{SUFFIX[fmt]}"
    path.write_bytes(data)
    back = reload_check(path, wb.model).get_weights()
    assert len(back) == len(pruned.arrays)
    assert all(a.dtype == b.dtype and a.tobytes() == b.tobytes() for a, b in zip(pruned.arrays, back))
    assert sum(int(np.count_nonzero(a == 0)) for a in back) == \
        sum(int(np.count_nonzero(a == 0)) for a in pruned.arrays)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_corrupted_bit_is_refused(tiny_workbench, corrupt_writer, fmt):
    wb = tiny_workbench
    pruned = wb.prune("global", 0.8)
    with pytest.raises(ExportError, match="reloads different from the weights written"):
        verified_export_bytes(wb.load(pruned.arrays), fmt, pruned.arrays)


def test_weights_other_than_expected_are_refused(tiny_workbench):
    wb = tiny_workbench
    pruned = wb.prune("global", 0.8)
    with pytest.raises(ExportError, match="reloads different"):  # the model holds other weights
        verified_export_bytes(wb.load(wb.prune("global", 0.5).arrays), "h5", pruned.arrays)


def test_unreadable_output_is_refused(tiny_workbench, monkeypatch):
    real = pruning.export.write_weights

    def truncating(model, path, fmt="h5"):
        p = real(model, path, fmt)
        p.write_bytes(p.read_bytes()[:100])
        return p
    monkeypatch.setattr(pruning.export, "write_weights", truncating)
    with pytest.raises(ExportError, match="does not load back"):
        verified_export_bytes(tiny_workbench.model, "h5")


def test_dashboard_download_bytes_are_verified(tiny_workbench, tmp_path, monkeypatch):
    from pruning import ui

    wb = tiny_workbench
    bench = SimpleNamespace(lock=threading.RLock(), wb=wb)  # what h5_bytes uses of a Bench
    pruned = wb.prune("layerwise", 0.7)
    for fmt in FORMATS:
        path = tmp_path / f"d{SUFFIX[fmt]}"
        path.write_bytes(ui.h5_bytes(bench, pruned, fmt))
        back = reload_check(path, wb.model).get_weights()
        assert all(a.tobytes() == b.tobytes() for a, b in zip(pruned.arrays, back))
    real = pruning.export.write_weights
    monkeypatch.setattr(pruning.export, "write_weights",
                        lambda m, p, f="h5": (real(m, p, f), corrupt(Path(p)))[0])
    with pytest.raises(ExportError):
        ui.h5_bytes(bench, pruned, "h5")


def test_cli_retrain_out_is_verified(tmp_path, tiny_files, capsys, monkeypatch):
    from pruning.cli import main

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = ["retrain", "--method", "masked", "--sparsity", "50", "--epochs", "1", "--batch-size", "32",
            "--train-limit", "64", "--val-limit", "50", "--test-limit", "50",
            "--model", str(tiny_files.keras), "--from", str(tiny_files.start), "--data", str(tiny_files.npz), "--no-store", "--json"]
    real = pruning.export.write_weights
    with monkeypatch.context() as m:
        m.setattr(pruning.export, "write_weights",
                  lambda mdl, p, f="h5": (real(mdl, p, f), corrupt(Path(p)))[0])
        assert main(argv + ["--out", str(out_dir / "w.h5")]) == 1
    err = capsys.readouterr().err
    assert "error: " in err and "reloads different" in err
    assert list(out_dir.iterdir()) == []  # neither the bad file nor a temp file
    assert main(argv + ["--out", str(out_dir / "w.h5")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [p.name for p in out_dir.iterdir()] == ["w.h5"]
    assert res["bytes"] == (out_dir / "w.h5").stat().st_size
    shutil.rmtree(out_dir)

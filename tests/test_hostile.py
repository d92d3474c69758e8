"""Hostile and broken inputs (tests/hostile/make_corpus.py): every one is refused with a
clear DataError / ModelError, nothing in them ever runs, and normal loading still works."""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
import make_corpus  # noqa: E402

from pruning import data, models  # noqa: E402

CASES = {c.name: c for c in make_corpus.CASES}
ERRORS = {"ModelError": models.ModelError, "DataError": data.DataError}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = make_corpus.build(tmp_path_factory.mktemp("hostile"))
    (folder / "cwd" / "deep").mkdir(parents=True)
    return folder


def _lower_limits(case: make_corpus.Case, monkeypatch: pytest.MonkeyPatch) -> None:
    for dotted, value in case.limits.items():
        module, attr = dotted.rsplit(".", 1)
        monkeypatch.setattr(importlib.import_module(module), attr, value)


def _check_outcome(case: make_corpus.Case, run) -> None:
    if case.error is None:
        assert run() is not None
        return
    with pytest.raises(Exception) as info:
        run()
    msg = str(info.value)
    assert info.type is ERRORS[case.error], f"{case.name}: {info.type.__name__}: {msg}"
    assert case.match in msg, f"{case.name}: {msg!r} lacks {case.match!r}"
    assert "\n" not in msg and "Traceback" not in msg and len(msg) < 500, msg
    for bad in case.not_in_message:
        assert bad not in msg, f"{case.name}: {msg!r} shows {bad!r}"


def test_corpus_is_broad():
    kinds = {c.kind for c in CASES.values() if c.error}
    assert len([c for c in CASES.values() if c.error]) >= 30
    assert kinds == {"model", "model_bytes", "npz", "npz_model", "pickles", "unpickle"}
    assert len([c for c in CASES.values() if c.marker]) >= 8
    assert len(CASES) == len(make_corpus.CASES)  # names are unique


@pytest.mark.parametrize("name", list(CASES))
def test_case(name: str, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    _lower_limits(case, monkeypatch)
    monkeypatch.chdir(corpus / "cwd" / "deep")  # an upload named ../../x must not land in corpus/
    _check_outcome(case, lambda: make_corpus.load(case, corpus))
    path = corpus / case.file
    if case.kind == "model" and path.is_file():  # the same file as an upload held in memory
        _check_outcome(case, lambda: models.load_model_bytes(path.read_bytes(), case.file, case.preset))
    if case.kind == "npz":  # and as an uploaded file object
        _check_outcome(case, lambda: data.load_npz(io.BytesIO(path.read_bytes()), case.num_classes,
                                                   name=case.file))
    if case.marker:
        assert not (corpus / case.marker).exists(), f"{case.name}: the payload ran"


def test_code_payloads_are_live(tmp_path: Path) -> None:
    """Control: the refused pickles really do run code when unpickled the ordinary way."""
    for name, payload in make_corpus.code_payloads(str(tmp_path / "ran")).items():
        try:
            pickle.loads(payload)
        except Exception:
            pass  # eval of os.system returns an int; an object array of it loads fine
        assert (tmp_path / "ran").exists(), name
        (tmp_path / "ran").unlink()


def test_lambda_payload_is_live(tmp_path: Path) -> None:
    """Control: the refused Lambda archive runs its code when loaded with safe_mode off."""
    import keras

    case = CASES["keras-lambda-layer"]
    make_corpus.build(tmp_path, [case.name])
    assert not (tmp_path / case.marker).exists()
    keras.saving.load_model(tmp_path / case.file, compile=False, safe_mode=False)
    assert (tmp_path / case.marker).exists()


def test_limits_are_restored_and_normal_loads_work(corpus: Path, tmp_path: Path) -> None:
    """After the whole corpus: module limits are back and ordinary files load as before."""
    from pruning.export import write_weights

    assert models.MAX_MODEL_BYTES == 200 * 2**20 and data.MAX_DATA_BYTES == 2**30
    src = models.build_preset("cmu-10605")
    for fmt, name in (("h5", "w.h5"), ("weights.h5", "w.weights.h5"), ("keras", "w.keras")):
        back = models.load_model(write_weights(src, tmp_path / name, fmt), "cmu-10605")
        for a, b in zip(src.get_weights(), back.get_weights()):
            np.testing.assert_array_equal(a, b)
    full = models.load_model(corpus / CASES["good-legacy-h5"].file)
    assert full.count_params() == 889_834
    ds = data.load_npz(corpus / CASES["good-npz"].file, num_classes=10)
    assert ds.input_shape == (28, 28, 1) and len(ds.val) == 8 and len(ds.test) == 4
    assert models.load_model(corpus / CASES["good-keras"].file).count_params() == 23
    pk = data.load_pickles({p.name: p.read_bytes() for p in (corpus / "good-pickles").iterdir()})
    assert pk.val.y.tolist() == list(range(8))

"""Hostile uploads through the Bring-your-own page: each one is an st.error naming the
problem, never an exception, nothing in them runs, and a good upload still works after."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from app_helpers import new_app, ok, upload

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
import make_corpus  # noqa: E402  (after the sys.path line)

MODEL_CASES = ["keras-lambda-layer", "keras-custom-object", "keras-zip-bomb", "h5-external-storage",
               "h5-compression-bomb", "upload-path-traversal-name"]
DATA_CASES = ["pickle-code-in-val-images", "npz-zip-bomb", "npz-lying-header", "npz-object-array",
              "labels-negative"]
CASES = {c.name: c for c in make_corpus.CASES}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus.build(tmp_path_factory.mktemp("hostile-app"), MODEL_CASES + DATA_CASES)


def _errors(at) -> list[str]:
    assert not at.exception, [e.message for e in at.exception]
    return [e.value for e in at.error]


def _expect_refusal(at, monkeypatch, case, send) -> None:
    with monkeypatch.context() as m:
        for dotted, value in case.limits.items():
            module, attr = dotted.rsplit(".", 1)
            m.setattr(importlib.import_module(module), attr, value)
        send()
    msgs = _errors(at)
    assert len(msgs) == 1 and case.match in msgs[0], (case.name, msgs)
    for bad in case.not_in_message:
        assert bad not in msgs[0], (case.name, msgs[0])


def test_hostile_model_uploads_are_errors(demo, corpus, monkeypatch, tiny_keras, tiny_npz):
    at = new_app().run()
    at.switch_page("pages/bring_your_own.py").run()
    bundled = at.selectbox(key="model").options
    for name in MODEL_CASES:
        case = CASES[name]
        content = (corpus / case.file).read_bytes()
        name_sent = case.upload_name or case.file
        _expect_refusal(at, monkeypatch, case,
                        lambda n=name_sent, b=content: upload(at, (n, b)))
        if case.marker:
            assert not (corpus / case.marker).exists(), f"{name}: the payload ran"
        assert at.selectbox(key="model").options == bundled, name
    upload(at, ("tiny.keras", tiny_keras), [("tiny.npz", tiny_npz)])  # good uploads still work
    ok(at)
    assert at.selectbox(key="model").value.startswith("upload-")


def test_hostile_data_uploads_are_errors(demo, corpus, monkeypatch, tiny_keras, tiny_npz):
    at = new_app().run()
    at.switch_page("pages/bring_your_own.py").run()
    bundled = at.selectbox(key="data").options
    for name in DATA_CASES:
        case = CASES[name]
        path = corpus / case.file
        files = ([(p.name, p.read_bytes()) for p in sorted(path.iterdir())] if path.is_dir()
                 else [(case.file, path.read_bytes())])
        _expect_refusal(at, monkeypatch, case, lambda f=files: upload(at, data=f))
        if case.marker:
            assert not (corpus / case.marker).exists(), f"{name}: the payload ran"
        assert at.selectbox(key="data").options == bundled, name
    upload(at, ("tiny.keras", tiny_keras), [("tiny.npz", tiny_npz)])  # good uploads still work
    ok(at)
    assert at.selectbox(key="data").value.startswith("upload-")

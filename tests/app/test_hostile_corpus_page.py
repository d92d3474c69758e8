"""The whole hostile corpus (tests/hostile/make_corpus.py) through the Bring-your-own page,
one browser session for all of it: each refused input is exactly one st.error naming the
problem, never an exception, nothing in it runs, nothing joins the sidebar's lists, and
after the last case the same session still loads a good model and data and is ready.

Where the page differs from the loader calls of tests/test_hostile.py, by design:
- 'pickles' cases upload their folder's files; 'unpickle' cases upload the payload as
  val_images.pkl beside good labels (so it reaches the unpickler, not the name check);
- data that is valid on its own but does not fit the selected model (the 'npz_model' cases,
  and labels-out-of-range, whose class count the page infers instead of being told 10) is
  loaded, then refused by the page's Check step against the selected (demo) model;
- a folder cannot be uploaded, so folder-named-h5 has no page equivalent.
"""

from __future__ import annotations

import importlib
import pickle
import sys
import time
from pathlib import Path

import pytest
from app_helpers import new_app, ok

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
import make_corpus  # noqa: E402  (after the sys.path line)

CASES = {c.name: c for c in make_corpus.CASES}
NOT_UPLOADABLE = {"folder-named-h5"}  # a directory: a browser uploads files only
# refused at the Check step (the data loads, but not for the selected 10-class 28x28x1 model)
AT_CHECK = {c.name: c.match for c in make_corpus.CASES if c.kind == "npz_model"}
AT_CHECK["labels-out-of-range"] = "the model predicts 10 classes but the labels go up to 10"
# accepted model uploads without data of their own: Check names (as a notice, not an error, since
# the weights-only view follows) why they do not fit the selected data
GOOD_CHECK = {"good-keras": "the model takes vectors of shape (4,), arrays (N, 4), but the data has (28, 28)"}
MIME = "application/octet-stream"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = make_corpus.build(tmp_path_factory.mktemp("hostile-page"))
    (folder / "cwd" / "deep").mkdir(parents=True)
    return folder


def _files(case: make_corpus.Case, corpus: Path) -> list[tuple[str, bytes, str]]:
    path = corpus / case.file
    if case.kind in ("model", "model_bytes"):
        return [(case.upload_name or case.file, path.read_bytes(), MIME)]
    if case.kind == "pickles":
        return [(p.name, p.read_bytes(), MIME) for p in sorted(path.iterdir())]
    if case.kind == "unpickle":
        labels = pickle.dumps(list(range(8)))
        return [("val_images.pkl", path.read_bytes(), MIME), ("val_labels.pkl", labels, MIME)]
    return [(case.file, path.read_bytes(), MIME)]


def _is_model(case: make_corpus.Case) -> bool:
    return case.kind in ("model", "model_bytes")


def _send(at, cases, corpus, monkeypatch) -> None:
    """Upload the files of one or two cases (a model case, a data case) and run the page once."""
    with monkeypatch.context() as m:
        for case in cases:
            for dotted, value in case.limits.items():
                module, attr = dotted.rsplit(".", 1)
                m.setattr(importlib.import_module(module), attr, value)
        model = next((c for c in cases if _is_model(c)), None)
        data = next((c for c in cases if not _is_model(c)), None)
        at.file_uploader(key="byo_model").set_value(None if model is None else _files(model, corpus)[0])
        at.file_uploader(key="byo_data").set_value(None if data is None else _files(data, corpus))
        at.run()


def _pairs(cases: list) -> list[tuple]:
    """Refused model and data cases side by side, one run for both (never two sets of
    lowered limits at once); the cases that load run alone."""
    model = [c for c in cases if _is_model(c)]
    data = [c for c in cases if not _is_model(c)]
    out = []
    while model or data:
        m = model.pop(0) if model else None
        d = data.pop(0) if data else None
        if m is not None and d is not None and m.limits and d.limits:
            out += [(m,), (d,)]
        else:
            out.append(tuple(c for c in (m, d) if c is not None))
    return out


def _check_refused(at, cases, models0, data0) -> None:
    assert not at.exception, ([c.name for c in cases], [e.message for e in at.exception])
    errors = [e.value for e in at.error]
    assert len(errors) == len(cases), ([c.name for c in cases], errors)
    left, right = at.columns[0], at.columns[1]  # the page's Model and Data columns
    for case in cases:
        mine = [e.value for e in (left if _is_model(case) else right).error]
        assert len(mine) == 1 and case.match in mine[0], (case.name, mine)
        assert "Traceback" not in mine[0] and len(mine[0]) < 600, (case.name, mine)
        for bad in case.not_in_message:
            assert bad not in mine[0], (case.name, mine[0])
    assert (at.selectbox(key="model").options, at.selectbox(key="data").options) == (models0, data0), \
        f"{[c.name for c in cases]}: joined the sidebar"


def _check_loaded(at, case, models0, data0) -> None:
    """A case that loads: it joins its list (selected); the page's Check may still object."""
    assert not at.exception, (case.name, [e.message for e in at.exception])
    errors = [e.value for e in at.error]
    want = AT_CHECK.get(case.name)
    assert errors == [] if want is None else (len(errors) == 1 and want in errors[0]), (case.name, errors)
    if case.name in GOOD_CHECK:
        notes = [i.value for i in at.info]
        assert any(GOOD_CHECK[case.name] in n for n in notes), (case.name, notes)
    models, data = at.selectbox(key="model").options, at.selectbox(key="data").options
    if _is_model(case):
        assert data == data0 and models[:len(models0)] == models0 and len(models) == len(models0) + 1
    else:
        assert models == models0 and data[:len(data0)] == data0 and len(data) == len(data0) + 1
    assert any(s.value.startswith("Loaded ") for s in at.success), case.name
    at.button(key="byo_forget").click().run()  # back to the bundled model and data only
    assert (at.selectbox(key="model").options, at.selectbox(key="data").options) == (models0, data0)


def test_whole_corpus_through_one_upload_session(demo, corpus, monkeypatch, tiny_keras, tiny_npz):
    t0 = time.time()
    monkeypatch.chdir(corpus / "cwd" / "deep")  # an upload named ../../x must not land in corpus/
    at = new_app().run()
    at.switch_page("pages/bring_your_own.py").run()
    at.selectbox(key="byo_preset").set_value("fashion-mnist").run()  # the corpus' preset
    ok(at)
    models0, data0 = at.selectbox(key="model").options, at.selectbox(key="data").options
    markers = [corpus / c.marker for c in make_corpus.CASES if c.marker]
    assert (corpus / "folder-named-h5.h5").is_dir() and NOT_UPLOADABLE <= set(CASES)

    cases = [c for c in make_corpus.CASES if c.name not in NOT_UPLOADABLE]
    loads = [c for c in cases if c.error is None or c.name in AT_CHECK]
    seen = []
    for group in _pairs([c for c in cases if c not in loads]) + [(c,) for c in loads]:
        seen += [c.name for c in group]
        _send(at, group, corpus, monkeypatch)
        if group[0] in loads:
            _check_loaded(at, group[0], models0, data0)
        else:
            _check_refused(at, group, models0, data0)
        ran = [m.name for m in markers if m.exists()]
        assert not ran, f"{[c.name for c in group]}: a payload ran ({ran})"
        assert not (corpus / "pwned.h5").exists() and not (corpus / "cwd" / "pwned.h5").exists()
    assert sorted(seen) == sorted(c.name for c in cases) and len(seen) >= 85

    # the same session still works: a good model and good data load and are ready to prune
    at.file_uploader(key="byo_model").set_value(("tiny.keras", tiny_keras, MIME))
    at.file_uploader(key="byo_data").set_value([("tiny.npz", tiny_npz, MIME)])
    at.run()
    ok(at)
    assert at.selectbox(key="model").value.startswith("upload-")
    assert at.selectbox(key="data").value.startswith("upload-")
    assert any(s.value.startswith("Ready: the selected model scores") for s in at.success)
    at.switch_page("pages/explore.py").run()
    ok(at)
    print(f"{len(seen)} hostile uploads through one session in {time.time() - t0:.1f}s")

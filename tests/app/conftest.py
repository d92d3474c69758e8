"""AppTest fixtures: small evaluation limits, clean caches, fake demo weights, tiny uploads.

All AppTest instances in one pytest process share a session id and the st caches, so
every test starts from cleared caches, except the two read-only resources every session of a
server shares by design (the bundled dataset and the demo's dense baseline; reloading them cost
every test about a second). The bundled demo weights are replaced by seeded
random weights in a temp folder (tests never depend on the trained file being there).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest



def clear_caches() -> None:
    """Clear st.cache_data and every st.cache_resource of pruning.ui but the two in ``keep``."""
    import sys

    import streamlit as st
    from streamlit.runtime.caching.cache_utils import CachedFunc

    from pruning.ui import session

    keep = (session.bundled_dataset, session._demo_baseline)  # read-only (arrays frozen), keyed by file
    st.cache_data.clear()
    found = 0
    for name, module in list(sys.modules.items()):  # Streamlit is imported under pruning.ui only
        if name == "pruning.ui" or name.startswith("pruning.ui."):
            for obj in list(vars(module).values()):
                if isinstance(obj, CachedFunc) and obj not in keep:
                    obj.clear()
                    found += 1
    assert found >= 2, "no cached functions found under pruning.ui: clear_caches needs updating"
    from pruning.ui.shared import RESULTS  # the process-wide single-flight results

    RESULTS.clear()


@pytest.fixture(autouse=True)
def app_env(monkeypatch, tmp_path):
    """Small val/test limits, a private result store and temp dir, clean caches around every test.

    The temp dir holds the retraining checkpoints, keyed by session id: every AppTest has the
    same one, so without a private temp dir a test (or a pytest-xdist worker running beside it)
    could resume another's run."""
    import tempfile

    monkeypatch.setenv("PRUNING_STORE_DIR", str(tmp_path / "store"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("PRUNING_VAL_LIMIT", "300")
    monkeypatch.setenv("PRUNING_TEST_LIMIT", "300")
    monkeypatch.setenv("PRUNING_SETTLE_S", "0")
    monkeypatch.setenv("PRUNING_WARM", "0")  # no server thread racing the cleared caches
    clear_caches()
    yield
    clear_caches()


@pytest.fixture(scope="session")
def fake_demo_dir(tmp_path_factory) -> Path:
    """A folder holding seeded random fashion-mnist weights under the bundled file name."""
    import keras

    from pruning.export import write_legacy_h5
    from pruning.models import BUNDLED_WEIGHTS, build_preset

    keras.utils.set_random_seed(0)
    d = tmp_path_factory.mktemp("weights")
    write_legacy_h5(build_preset("fashion-mnist"), d / BUNDLED_WEIGHTS["fashion-mnist"])
    return d


@pytest.fixture()
def demo(monkeypatch, fake_demo_dir) -> Path:
    """Point pruning.models.bundled_weights() at the fake demo weights."""
    import pruning.models

    monkeypatch.setattr(pruning.models, "WEIGHTS_DIR", fake_demo_dir)
    return fake_demo_dir


@pytest.fixture(scope="session")
def tiny_keras(tiny_files) -> bytes:
    """The trained tiny model (12x12x1, 3 classes) as a full .keras file."""
    return tiny_files.keras.read_bytes()


@pytest.fixture(scope="session")
def tiny_npz(tiny_data) -> bytes:
    """Tiny val/test data as an .npz upload."""
    buf = io.BytesIO()
    np.savez(buf, x_val=tiny_data.val.x, y_val=tiny_data.val.y, x_test=tiny_data.test.x,
             y_test=tiny_data.test.y)
    return buf.getvalue()


@pytest.fixture()
def tiny_app(demo, tiny_keras, tiny_npz):
    """An app session with the tiny model and tiny data uploaded and selected, on Explore."""
    from app_helpers import new_app, ok, upload

    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras), [("tiny.npz", tiny_npz)])
    ok(at)
    assert at.session_state["model"].startswith("upload-")
    assert at.session_state["data"].startswith("upload-")
    at.switch_page("pages/explore.py").run()
    ok(at)
    return at

"""Class mode (test accuracy and gzip size on request): the slider's level costs one val pass;
the .h5 is built when clicked, and its size is the size every level's uncompressed file has."""

from __future__ import annotations

import gzip

import numpy as np
from app_helpers import metrics, ok, pct


def test_class_mode_defers_test_gzip_and_the_file(tiny_app, tmp_path, monkeypatch):
    import keras

    from pruning import ui
    from pruning.export import write_legacy_h5
    from pruning.models import build_model

    monkeypatch.setenv("PRUNING_EXPLORE_FULL", "0")
    assert ui.full_figures_default() is False
    at = tiny_app
    at.toggle(key="explore_full").set_value(False).run()
    at.slider(key="sparsity").set_value(63.0).run()
    ok(at)
    shown = metrics(at)
    assert shown["Test accuracy"] == "on request" and shown["gzip size"] == "on request"
    assert ui.peek_h5(at.session_state["_bench"].key, "global", "all", 0.63) is None  # not built

    b = at.session_state["_bench"]
    model = keras.models.clone_model(b.wb.model)  # an independent file of the same model
    model.set_weights(list(b.wb.baseline.arrays))
    write_legacy_h5(model, tmp_path / "dense.h5")
    size = (tmp_path / "dense.h5").stat().st_size
    assert shown[".h5 size"] == ui.fmt_bytes(size)
    label = at.download_button(key="download_h5").label
    assert shown["Sparsity"] in label and ui.fmt_bytes(size) in label  # names the level shown

    made = ui.export_for_download(b, "global", 0.63, "all", "h5")()  # what a click builds
    assert len(made) == size  # every level's uncompressed .h5 has that size
    (tmp_path / "p.h5").write_bytes(made)
    twin = build_model((12, 12, 1), 3, width=0.25)
    twin.load_weights(tmp_path / "p.h5")
    arrays = twin.get_weights()
    zeros = sum(a.size - np.count_nonzero(a) for a in arrays) / sum(a.size for a in arrays)
    assert pct(shown["Sparsity"]) == round(100 * zeros, 2)

    at.toggle(key="explore_full").set_value(True).run()  # on request: both figures appear
    ok(at)
    shown = metrics(at)
    x, y = b.wb.test.split.x, b.wb.test.split.y
    want = float(np.mean(twin.predict(x, verbose=0).argmax(1) == y))
    assert pct(shown["Test accuracy"]) == round(100 * want, 2)
    assert shown["gzip size"] == ui.fmt_bytes(len(gzip.compress(made, 9, mtime=0)))

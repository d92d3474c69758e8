"""A weights-only upload: every page shows the per-array sparsity (no shape error), and an
upload error never stands beside an earlier success message."""

from __future__ import annotations

import numpy as np
from app_helpers import new_app, upload


def test_an_upload_error_never_stands_beside_an_earlier_success(demo, tiny_keras):
    at = new_app().run()
    upload(at, ("tiny.keras", tiny_keras))
    assert not at.error and any("Loaded tiny.keras" in s.value for s in at.success)
    at.file_uploader(key="byo_model").set_value(("broken.h5", b"not HDF5", "application/octet-stream"))
    at.run()
    assert any("broken.h5" in e.value for e in at.error)
    assert not any("Loaded" in s.value for s in at.success), [s.value for s in at.success]


def test_weights_only_pages_show_per_array_sparsity(demo, tmp_path):
    import keras

    from pruning.export import write_legacy_h5
    from pruning.masks import array_sparsity
    from pruning.models import build_preset

    keras.utils.set_random_seed(1)
    model = build_preset("cmu-10605")  # 25x25x3 weights: the bundled 28x28x1 data cannot run them
    w = model.get_weights()
    w[0][np.abs(w[0]) < np.quantile(np.abs(w[0]), 0.4)] = 0  # conv2d kernel 40 % zeros
    model.set_weights(w)
    path = tmp_path / "cmu.h5"
    write_legacy_h5(model, path)
    at = new_app().run()
    upload(at, ("cmu.h5", path.read_bytes()), preset="cmu-10605")
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    ref = {r.name: r for r in array_sparsity(w, ["kernel" if a.ndim > 1 else "bias" for a in w],
                                             [v.path.split("/", 1)[1] for v in model.weights])}
    for page in ("pages/bring_your_own.py", "pages/explore.py", "pages/frontier.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
        table = at.table[0].value
        row = table.loc["conv2d/kernel"]
        assert row["zeros"] == ref["conv2d/kernel"].zeros
        assert row["sparsity (%)"] == round(100 * ref["conv2d/kernel"].sparsity, 2)
        assert row["size"] == w[0].size
        assert any("25x25x3" in i.value or "(25, 25, 3)" in i.value for i in at.info), page

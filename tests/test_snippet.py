"""The Keras lines shown beside a download really rebuild the model and load the file."""

import numpy as np

from pruning.snippet import load_snippet


def test_snippet_loads_a_legacy_and_a_keras3_download(tmp_path, monkeypatch):
    import keras

    from pruning.export import write_legacy_h5
    from pruning.models import build_preset

    keras.utils.set_random_seed(3)
    model = build_preset("fashion-mnist")
    want = model.get_weights()
    write_legacy_h5(model, tmp_path / "pruned-global-50.0pct.h5")
    model.save_weights(tmp_path / "pruned-global-50.0pct.weights.h5")
    model.save(tmp_path / "pruned-global-50.0pct.keras")
    monkeypatch.chdir(tmp_path)
    for name in ("pruned-global-50.0pct.h5", "pruned-global-50.0pct.weights.h5",
                 "pruned-global-50.0pct.keras"):
        scope: dict = {}
        exec(load_snippet(name, (28, 28, 1), 10), scope)  # plain Keras, nothing from pruning
        got = scope["model"].get_weights()
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert "pruning" not in load_snippet("x.h5")

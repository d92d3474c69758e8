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


def test_snippet_for_a_model_that_is_not_the_seed_stack_never_shows_that_stack(tmp_path, monkeypatch):
    import keras

    from pruning.export import write_legacy_h5
    from pruning.models import build_model, build_preset
    from pruning.snippet import is_seed_stack, snippet_for

    assert is_seed_stack(build_preset("cmu-10605"))
    keras.utils.set_random_seed(4)
    own = build_model((12, 12, 1), 3, width=0.25)  # the seed's layer kinds, other widths
    assert not is_seed_stack(own)
    lines = snippet_for(own, "pruned.h5")
    assert "Conv2D" not in lines and "load_weights('pruned.h5')" in lines
    own.save(tmp_path / "your_model.keras")
    write_legacy_h5(own, tmp_path / "pruned.h5")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(lines, scope)  # the user's architecture, then the download's weights
    for a, b in zip(scope["model"].get_weights(), own.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_litert_snippet_runs_a_float_and_a_full_int8_download(tmp_path, monkeypatch, tiny_model, tiny_data):
    from pruning.snippet import litert_snippet
    from pruning.tflite import convert

    x = tiny_data.val.x[:1]
    want = tiny_model.predict(x, verbose=0)
    calib = tiny_data.train.x[:40]
    monkeypatch.chdir(tmp_path)
    for fmt, tol in (("tflite", 1e-5), ("tflite-int8-full", None)):
        (tmp_path / f"m-{fmt}.tflite").write_bytes(convert(tiny_model, fmt, calib, sparse=False))
        scope = {"images": tiny_data.val.x}
        exec(litert_snippet(f"m-{fmt}.tflite"), scope)  # ai_edge_litert and numpy only
        probs = scope["probs"]
        if tol is not None:
            np.testing.assert_allclose(probs, want, atol=tol)
        else:  # int8 out: the class with the top score agrees with Keras
            assert probs.dtype == np.int8 and int(probs.argmax()) == int(want.argmax())

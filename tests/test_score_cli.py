"""``python -m pruning score`` agrees with the challenge leaderboard bit for bit."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from challenge_fixtures import keras_bytes, npz_bytes, pruned_bytes, tiny_model
from references import demo_pixels
from pruning.challenge import Challenges, ChallengeSpec
from pruning.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_tiny_keras_submission_matches_leaderboard(tmp_path, capsys, tiny_weights_path, tiny_data):
    model = tiny_model(tiny_weights_path)
    data = npz_bytes(tiny_data)
    hub = Challenges(tmp_path / "store")
    made = hub.create(ChallengeSpec("Tiny", model="upload", data="upload", floor=0.4, min_interval_s=0),
                      model_bytes=keras_bytes(model), model_name="t.keras", data_bytes=data)
    sub_bytes = pruned_bytes(model, 0.7, "keras")
    me = hub.join(made.code, "Ada")
    hub.submit(made.code, me.token, sub_bytes, "ada.keras")
    row = hub.leaderboard(made.code).iloc[0]

    (tmp_path / "ada.keras").write_bytes(sub_bytes)
    (tmp_path / "tiny.npz").write_bytes(data)
    code, out, err = run(capsys, "score", tmp_path / "ada.keras", "--data", tmp_path / "tiny.npz",
                         "--split", "test", "--floor", "0.4", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert {"sparsity", "accuracy", "score"} <= set(got)
    fields = ("sparsity", "accuracy", "score")
    assert tuple(got[f] for f in fields) == tuple(row[f] for f in fields)
    assert got["images"] == len(tiny_data.test) and got["split"] == "test"
    # the public split gives another accuracy: the split really is the one named
    code, out, _ = run(capsys, "score", tmp_path / "ada.keras", "--data", tmp_path / "tiny.npz",
                       "--split", "val", "--json")
    assert code == 0 and json.loads(out)["images"] == len(tiny_data.val)


def test_preset_h5_submission_matches_leaderboard_and_plain_numpy(tmp_path, capsys):
    from pruning.data import load_fashion_mnist
    from pruning.models import load_model

    fm = load_fashion_mnist()
    buf = io.BytesIO()
    np.savez(buf, x_val=fm.val.x[:200], y_val=fm.val.y[:200], x_test=fm.test.x[:300], y_test=fm.test.y[:300])
    hub = Challenges(tmp_path / "store")
    made = hub.create(ChallengeSpec("Demo arch", model="preset", data="upload"), data_bytes=buf.getvalue())
    sub_bytes = pruned_bytes(load_model(None), 0.8, "h5")
    me = hub.join(made.code, "Bob")
    hub.submit(made.code, me.token, sub_bytes, "bob.h5")
    row = hub.leaderboard(made.code).iloc[0]

    (tmp_path / "bob.h5").write_bytes(sub_bytes)
    (tmp_path / "d.npz").write_bytes(buf.getvalue())
    code, out, err = run(capsys, "score", tmp_path / "bob.h5", "--preset", "fashion-mnist",
                         "--data", tmp_path / "d.npz", "--json")
    assert code == 0, err
    got = json.loads(out)
    fields = ("sparsity", "accuracy", "score")
    assert tuple(got[f] for f in fields) == tuple(row[f] for f in fields)
    model = load_model(tmp_path / "bob.h5")  # independent: count zeros and run Keras predict
    w = model.get_weights()
    zeros = sum((a == 0).sum() for a in w) / sum(a.size for a in w)
    assert got["sparsity"] == pytest.approx(zeros, abs=1e-12)
    pred = model.predict(demo_pixels(fm.test.x[:300]), verbose=0).argmax(1)
    assert got["accuracy"] == pytest.approx(np.mean(pred == fm.test.y[:300]), abs=1.01 / 300)
    assert got["score"] == pytest.approx((got["sparsity"] + got["accuracy"]) / 2, abs=1e-15)
    code, out, _ = run(capsys, "score", tmp_path / "bob.h5", "--data", tmp_path / "d.npz")
    assert code == 0 and "sparsity" in out and "score" in out


def test_bad_files_are_one_line_errors(tmp_path, capsys):
    code, _, err = run(capsys, "score", tmp_path / "missing.h5")
    assert code == 1 and "no such file" in err
    (tmp_path / "junk.h5").write_bytes(b"not a model" * 10)
    code, _, err = run(capsys, "score", tmp_path / "junk.h5")
    assert code == 1 and "not an HDF5 file" in err and "Traceback" not in err
    (tmp_path / "x.pkl").write_bytes(b"\x80\x04N.")
    code, _, err = run(capsys, "score", tmp_path / "x.pkl")
    assert code == 1 and ".weights.h5 or .keras" in err

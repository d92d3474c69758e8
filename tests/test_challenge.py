"""Challenge backend: keys, codes, limits, refusals, ranking, restart, deadline/close, CSV.

Every score is checked against plain Keras/NumPy (``challenge_fixtures.reference_numbers``).
"""

from __future__ import annotations

import io
import sqlite3
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from challenge_fixtures import keras_bytes, npz_bytes, pruned_bytes, reference_numbers, tiny_model
from pruning.challenge import ChallengeError, Challenges, ChallengeSpec, Refused, keys

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
import make_corpus  # noqa: E402


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture()
def model(tiny_weights_path):
    return tiny_model(tiny_weights_path)


@pytest.fixture(scope="module")
def files(tiny_weights_path, tiny_data):
    m = tiny_model(tiny_weights_path)
    return {"keras": keras_bytes(m), "npz": npz_bytes(tiny_data),
            **{s: pruned_bytes(m, s) for s in (0.0, 0.3, 0.6, 0.8, 0.95)}}


@pytest.fixture()
def clock():
    return Clock()


def make(tmp_path, files, clock, **rules):
    hub = Challenges(tmp_path / "store", clock=clock)
    spec = ChallengeSpec("Tiny", model="upload", data="upload", min_interval_s=rules.pop("min_interval_s", 0),
                         **rules)
    made = hub.create(spec, model_bytes=files["keras"], model_name="tiny.keras", data_bytes=files["npz"])
    return hub, made


# ------------------------------------------------------------------ keys and codes

def test_key_hash_is_salted_slow_and_verifies_only_the_key():
    h1, h2 = keys.hash_key("secret"), keys.hash_key("secret")
    assert h1 != h2 and h1.startswith("scrypt$") and "secret" not in h1  # fresh salt each time
    assert keys.verify_key("secret", h1) and keys.verify_key("secret", h2)
    assert not keys.verify_key("Secret", h1) and not keys.verify_key("", h1)
    assert not keys.verify_key("secret", "garbage") and not keys.verify_key("secret", "md5$x$y$z$aa$bb")
    import hashlib

    _, n, r, p, salt, digest = h1.split("$")
    assert hashlib.scrypt(b"secret", salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                          dklen=32).hex() == digest and int(n) >= 2**14


def test_join_codes_are_short_unambiguous_and_normalised():
    codes = {keys.new_join_code() for _ in range(500)}
    assert len(codes) > 490
    assert all(len(c) == 6 and set(c) <= set(keys.CODE_ALPHABET) for c in codes)
    assert not set("0O1IL") & set(keys.CODE_ALPHABET)
    assert keys.normalize_code(" k7q-m2x ") == "K7QM2X"


def test_created_key_is_shown_once_and_stored_hashed(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock)
    assert len(made.code) == 6 and made.key
    raw = (tmp_path / "store" / "challenges.sqlite").read_bytes()
    wal = tmp_path / "store" / "challenges.sqlite-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert made.key.encode() not in raw
    assert hub.is_teacher(made.code, made.key) and not hub.is_teacher(made.code, made.key + "x")
    assert not hub.is_teacher(made.code, "")
    with pytest.raises(ChallengeError, match="wrong teacher key"):
        hub.set_closed(made.code, "nope", True)
    with pytest.raises(ChallengeError, match="wrong teacher key"):
        hub.export_csv(made.code, "nope")
    assert (tmp_path / "store" / "challenges.sqlite").exists()
    conn = sqlite3.connect(tmp_path / "store" / "challenges.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_class_server_key_from_environment(tmp_path, files, clock, monkeypatch):
    monkeypatch.setenv("PRUNING_TEACHER_KEY", "class-key-123")
    hub = Challenges(tmp_path / "store", clock=clock)
    spec = ChallengeSpec("Env", model="upload", data="upload")
    kw = dict(model_bytes=files["keras"], model_name="tiny.keras", data_bytes=files["npz"])
    with pytest.raises(ChallengeError, match="PRUNING_TEACHER_KEY"):
        hub.create(spec, **kw)
    with pytest.raises(ChallengeError, match="PRUNING_TEACHER_KEY"):
        hub.create(spec, teacher_key="wrong", **kw)
    made = hub.create(spec, teacher_key="class-key-123", **kw)
    assert made.key is None and hub.is_teacher(made.code, "class-key-123")
    assert not hub.is_teacher(made.code, "class-key-12")
    assert hub.set_closed(made.code, "class-key-123", True).closed


# ------------------------------------------------------------------ joining and scoring

def test_join_names_and_tokens(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock)
    ada = hub.join(made.code.lower(), "  Ada   L ")
    assert ada.name == "Ada L" and hub.student(made.code, ada.token) == ada
    with pytest.raises(ChallengeError, match="taken"):
        hub.join(made.code, "ada l")  # same name, no token: somebody else
    assert hub.join(made.code, "ADA L", token=ada.token).id == ada.id
    with pytest.raises(ChallengeError, match="display name"):
        hub.join(made.code, "   ")
    with pytest.raises(ChallengeError, match="no challenge"):
        hub.join("ZZZZZZ", "Bob")
    assert hub.student(made.code, "forged") is None
    with pytest.raises(ChallengeError, match="join the challenge first"):
        hub.submit(made.code, "forged", files[0.3], "x.h5")


@pytest.mark.parametrize("fmt", ["h5", "weights.h5", "keras"])
def test_submission_scored_on_hidden_split_like_plain_keras(tmp_path, files, clock, model, tiny_data, fmt):
    hub, made = make(tmp_path, files, clock, floor=0.5)
    me = hub.join(made.code, "Ada")
    data = files[0.6] if fmt == "h5" else pruned_bytes(model, 0.6, fmt)
    sub = hub.submit(made.code, me.token, data, f"ada.{fmt}")
    sparsity, accuracy = reference_numbers(model, files["npz"], data, fmt)
    assert sub["sparsity"] == pytest.approx(sparsity, abs=1e-12) and sparsity > 0.59
    assert sub["accuracy"] == pytest.approx(accuracy, abs=1.01 / len(tiny_data.test))
    assert sub["images"] == len(tiny_data.test)
    assert sub["score"] == pytest.approx((sub["sparsity"] + sub["accuracy"]) / 2, abs=1e-15)
    hist = hub.history(made.code, me.token)
    assert list(hist["id"]) == [sub["id"]] and hist["file_name"][0] == f"ada.{fmt}"


def test_uploaded_files_are_not_kept(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock)
    me = hub.join(made.code, "Ada")
    hub.submit(made.code, me.token, files[0.3], "ada.h5")
    store = tmp_path / "store"
    kept = [p for p in store.rglob("*") if p.is_file() and p.read_bytes() == files[0.3]]
    assert kept == []
    assert sorted(p.name for p in (store / "challenges" / made.code).iterdir()) == ["data.npz", "model.keras"]


def test_public_split_download_never_holds_the_hidden_split(tmp_path, files, clock, tiny_data):
    hub, made = make(tmp_path, files, clock)
    with np.load(io.BytesIO(hub.public_data(made.code))) as z:
        assert sorted(z.files) == ["x_val", "y_val"]
        np.testing.assert_array_equal(z["y_val"], tiny_data.val.y)


# ------------------------------------------------------------------ refusals and limits

def corpus_file(tmp_path, name: str) -> tuple[bytes, str]:
    folder = make_corpus.build(tmp_path / "corpus", [name])
    case = next(c for c in make_corpus.CASES if c.name == name)
    return (folder / case.file).read_bytes(), case.file


@pytest.mark.parametrize("what", ["not-hdf5", "lambda", "wrong-architecture", "other-suffix", "empty"])
def test_refused_file_is_a_clear_message_and_costs_no_submission(tmp_path, files, clock, what):
    hub, made = make(tmp_path, files, clock, max_submissions=1)
    me = hub.join(made.code, "Eve")
    bad = {"not-hdf5": (b"this is not a model" * 10, "eve.h5"),
           "wrong-architecture": (pruned_bytes(tiny_model_fashion(), 0.5), "eve.h5"),
           "other-suffix": (files[0.3], "eve.pkl"),
           "empty": (b"", "eve.weights.h5")}.get(what) or corpus_file(tmp_path, "keras-lambda-layer")
    message = {"not-hdf5": "not an HDF5 file", "lambda": "refused, the model contains code",
               "wrong-architecture": "layers|shape", "other-suffix": r"\.h5, \.weights\.h5 or \.keras",
               "empty": "empty"}[what]
    with pytest.raises(Refused, match=message):
        hub.submit(made.code, me.token, *bad)
    assert hub.submissions(made.code).empty
    if what == "lambda":
        assert not (tmp_path / "corpus" / "lambda-ran").exists()
    hub.submit(made.code, me.token, files[0.3], "eve.h5")  # the one allowed submission is still there
    with pytest.raises(Refused, match="all 1 submissions"):
        hub.submit(made.code, me.token, files[0.6], "eve.h5")
    assert len(hub.submissions(made.code)) == 1


def tiny_model_fashion():
    from pruning.models import build_model

    return build_model((12, 12, 1), 3, width=0.5)  # the same stack, twice as wide: other shapes


def test_size_limit(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock, max_bytes=len(files[0.3]) - 1)
    me = hub.join(made.code, "Big")
    with pytest.raises(Refused, match="over this challenge's"):
        hub.submit(made.code, me.token, files[0.3], "big.h5")
    assert hub.submissions(made.code).empty


def test_wait_between_submissions_and_uploads_per_minute(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock, min_interval_s=30, attempts_per_minute=3)
    me, other = hub.join(made.code, "Fast"), hub.join(made.code, "Other")
    hub.submit(made.code, me.token, files[0.3], "a.h5")
    clock.t += 10
    with pytest.raises(Refused, match="wait 20 s"):
        hub.submit(made.code, me.token, files[0.6], "a.h5")
    hub.submit(made.code, other.token, files[0.6], "o.h5")  # limits are per student
    clock.t += 25
    hub.submit(made.code, me.token, files[0.6], "a.h5")
    assert len(hub.history(made.code, me.token)) == 2
    clock.t += 61  # a fresh minute: 3 uploads allowed, refused ones included
    for _ in range(3):
        with pytest.raises(Refused, match="not an HDF5"):
            hub.submit(made.code, me.token, b"junk" * 20, "a.h5")
    with pytest.raises(Refused, match="too many uploads"):
        hub.submit(made.code, me.token, files[0.8], "a.h5")
    clock.t += 61
    hub.submit(made.code, me.token, files[0.8], "a.h5")
    assert len(hub.history(made.code, me.token)) == 3


def test_close_reopen_and_deadline(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock, deadline=clock.t + 100)
    me = hub.join(made.code, "Ada")
    assert hub.set_closed(made.code, made.key, True).closed
    with pytest.raises(Refused, match="closed"):
        hub.submit(made.code, me.token, files[0.3], "a.h5")
    assert not hub.set_closed(made.code, made.key, False).closed
    hub.submit(made.code, me.token, files[0.3], "a.h5")
    clock.t += 100
    assert not hub.get(made.code).open_now(clock.t)
    with pytest.raises(Refused, match="deadline"):
        hub.submit(made.code, me.token, files[0.6], "a.h5")
    assert len(hub.submissions(made.code)) == 1


def test_bad_challenge_definitions_are_refused(tmp_path, files, clock, tiny_data):
    hub = Challenges(tmp_path / "store", clock=clock)
    with pytest.raises(ChallengeError, match="hidden scoring split must differ"):
        ChallengeSpec("x", public_split="test", hidden_split="test")
    with pytest.raises(ChallengeError, match="floor"):
        ChallengeSpec("x", floor=1.5)
    buf = io.BytesIO()
    np.savez(buf, x_val=tiny_data.val.x, y_val=tiny_data.val.y)  # no test split to score on
    with pytest.raises(ChallengeError, match="no test split"):
        hub.create(ChallengeSpec("x", model="upload", data="upload"), model_bytes=files["keras"],
                   model_name="t.keras", data_bytes=buf.getvalue())
    with pytest.raises(ChallengeError, match="shape"):  # the demo CNN takes 28x28 images
        hub.create(ChallengeSpec("x", model="preset", data="upload"), data_bytes=files["npz"])
    assert hub.list() == [] and list((tmp_path / "store" / "challenges").iterdir()) == []


# ------------------------------------------------------------------ ranking, frontier, restart

def test_ranking_is_best_per_student(tmp_path, files, clock, model):
    hub, made = make(tmp_path, files, clock, floor=0.5)
    plan = {"Ann": [0.3, 0.8], "Ben": [0.95, 0.6], "Cat": [0.0]}
    tokens = {n: hub.join(made.code, n).token for n in plan}
    for n, levels in plan.items():
        for s in levels:
            clock.t += 1
            hub.submit(made.code, tokens[n], files[s], f"{n}.h5")
    subs = hub.submissions(made.code)
    expected = {}
    for n, levels in plan.items():  # independent: plain Keras numbers, best score per student
        scores = []
        for s in levels:
            sp, acc = reference_numbers(model, files["npz"], files[s], "h5")
            scores.append((sp + acc) / 2 if acc > 0.5 else -1)
        expected[n] = max(scores)
    order = sorted(expected, key=lambda n: -expected[n])
    board = hub.leaderboard(made.code)
    assert list(board["name"]) == order
    assert list(board["rank"]) == [1, 2, 3]
    assert list(board["submissions"]) == [len(plan[n]) for n in order]
    for _, row in board.iterrows():
        mine = subs[subs["name"] == row["name"]]
        assert row["score"] == mine["score"].max()
        assert row["score"] == pytest.approx(expected[row["name"]], abs=0.01)
    front = hub.frontier(made.code)
    s, a = subs["sparsity"].to_numpy(), subs["accuracy"].to_numpy()
    dominated = [any((s2 >= s1 and a2 >= a1 and (s2 > s1 or a2 > a1)) for s2, a2 in zip(s, a))
                 for s1, a1 in zip(s, a)]
    assert sorted(front["id"]) == sorted(subs["id"][~np.array(dominated)])


def test_below_floor_students_are_listed_unranked_and_ties_share_a_rank():
    from pruning.challenge import leaderboard
    from pruning.challenge.board import submissions_frame

    rows = [dict(id=1, student=1, name="A", sparsity=0.9, accuracy=0.7, score=0.8, created=1.0),
            dict(id=2, student=2, name="B", sparsity=0.99, accuracy=0.1, score=None, created=2.0),
            dict(id=3, student=3, name="C", sparsity=0.7, accuracy=0.9, score=0.8, created=3.0),
            dict(id=4, student=1, name="A", sparsity=0.5, accuracy=0.9, score=0.7, created=4.0)]
    board = leaderboard(submissions_frame(rows))
    assert list(board["name"]) == ["A", "C", "B"]
    assert board["rank"].tolist()[:2] == [1, 1] and pd.isna(board["rank"][2])
    assert list(board["best_id"]) == [1, 3, 2]


def test_restart_keeps_challenge_students_and_submissions(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock)
    ada, bob = hub.join(made.code, "Ada"), hub.join(made.code, "Bob")
    hub.submit(made.code, ada.token, files[0.6], "a.h5")
    hub.submit(made.code, bob.token, files[0.3], "b.h5")
    hub.set_closed(made.code, made.key, True)
    before, board = hub.submissions(made.code), hub.leaderboard(made.code)
    hub.close()

    again = Challenges(tmp_path / "store", clock=clock)  # a fresh process would see this
    assert again.get(made.code).closed and again.get(made.code).title == "Tiny"
    pd.testing.assert_frame_equal(again.submissions(made.code), before)
    pd.testing.assert_frame_equal(again.leaderboard(made.code), board)
    assert again.is_teacher(made.code, made.key)
    assert again.student(made.code, ada.token).name == "Ada"
    again.set_closed(made.code, made.key, False)
    clock.t += 1
    sub = again.submit(made.code, ada.token, files[0.8], "a.h5")  # the reference is rebuilt from disk
    assert sub["sparsity"] > 0.79 and len(again.history(made.code, ada.token)) == 2


def test_csv_export_has_every_submission(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock)
    for n, s in (("Ada", 0.3), ("Bob", 0.6), ("Ada", 0.8)):
        tok = hub.join(made.code, n, token=None if n == "Bob" or s == 0.3 else ada.token).token
        if n == "Ada":
            ada = hub.student(made.code, tok)
        clock.t += 1
        hub.submit(made.code, tok, files[s], f"{n}.h5")
    csv = pd.read_csv(io.StringIO(hub.export_csv(made.code, made.key)))
    subs = hub.submissions(made.code)
    assert list(csv["id"]) == list(subs["id"]) and list(csv["name"]) == ["Ada", "Bob", "Ada"]
    np.testing.assert_array_equal(csv["sparsity"].to_numpy(), subs["sparsity"].to_numpy())
    assert csv["best"].sum() == 2 and set(csv["rank"].dropna()) <= {1, 2}


def test_three_students_submit_at_once(tmp_path, files, clock):
    hub, made = make(tmp_path, files, clock)
    students = [hub.join(made.code, n) for n in ("A", "B", "C")]
    levels = dict(zip("ABC", (0.3, 0.6, 0.8)))
    errors: list[BaseException] = []

    def go(st):
        try:
            hub.submit(made.code, st.token, files[levels[st.name]], f"{st.name}.h5")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=go, args=(st,)) for st in students]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    subs = hub.submissions(made.code).set_index("name")
    solo = Challenges(tmp_path / "store", clock=clock)
    for n, s in levels.items():  # each equals a solo scoring of the same file
        r = solo.score_bytes(made.code, files[s], "x.h5")
        assert (subs.loc[n, "sparsity"], subs.loc[n, "accuracy"]) == (r.sparsity, r.accuracy)


def test_demo_challenge_scores_on_the_bundled_test_split(tmp_path, monkeypatch):
    from pruning.data import load_fashion_mnist
    from pruning.models import bundled_weights

    monkeypatch.setenv("PRUNING_STORE_DIR", str(tmp_path / "env-store"))
    hub = Challenges()  # the result store's folder by default
    made = hub.create(ChallengeSpec("Demo"))
    assert (tmp_path / "env-store" / "challenges.sqlite").exists()
    data, name = hub.starting_model(made.code)
    assert data == bundled_weights().read_bytes() and name.endswith(".h5")
    assert hub.public_data(made.code) is None  # the bundled data is in the repository already
    ref, fm = hub.reference(made.code), load_fashion_mnist()
    np.testing.assert_array_equal(ref.hidden.y, fm.test.y)
    np.testing.assert_array_equal(ref.public.y, fm.val.y)

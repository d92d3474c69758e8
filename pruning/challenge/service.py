"""Challenge mode: create, join, submit, rank (the server side; no Streamlit).

Example::

    hub = Challenges(store_dir)
    made = hub.create(ChallengeSpec("Prune the CNN"))          # made.code 'K7QM2X', made.key shown once
    me = hub.join(made.code, "Ada")
    sub = hub.submit(made.code, me.token, file_bytes, "ada.h5")   # scored on the hidden split
    hub.leaderboard(made.code)                                  # best per student, ranked
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import pandas as pd

from ..data import DataError, Dataset, format_bytes, load_fashion_mnist, load_npz
from ..models import ModelError, build_preset, bundled_weights, load_model
from . import board, keys
from .db import ChallengeDB
from .scoring import Result, check_fits, check_suffix, score_file
from .spec import ChallengeError, ChallengeSpec

NAME_MAX = 40
SCORING_SLOTS = 2  # submissions scored at once; the rest wait (2-core class servers)


class Refused(ChallengeError):
    """A submission refused before it was scored or counted; it costs no submission."""


@dataclass(frozen=True)
class Created:
    """A new challenge: its join code, and the teacher key (None when the server's env key is used)."""

    code: str
    key: str | None


@dataclass(frozen=True)
class Challenge:
    """A stored challenge."""

    code: str
    title: str
    spec: ChallengeSpec
    closed: bool
    created: float

    def open_now(self, now: float) -> bool:
        return not self.closed and (self.spec.deadline is None or now < self.spec.deadline)


@dataclass(frozen=True)
class Student:
    id: int
    challenge: str
    name: str
    token: str


@dataclass(frozen=True)
class Reference:
    """What scoring needs, built once per challenge and shared read-only across sessions."""

    template: keras.Model  # never evaluated itself: submissions go into clones of it
    hidden: object  # Split
    public: object  # Split


class Challenges:
    """Every challenge of one server, backed by ``challenges.sqlite`` in the store folder.

    Args:
        path: the folder; default ``pruning.store.default_dir()`` ($PRUNING_STORE_DIR).
        clock: seconds since the epoch (tests pass a fake one to step through limits).
    """

    def __init__(self, path: str | Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = ChallengeDB(path)
        self.clock = clock
        self._refs: dict[str, Reference] = {}
        self._refs_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(SCORING_SLOTS)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ teacher

    def create(self, spec: ChallengeSpec, teacher_key: str | None = None,
               model_bytes: bytes | None = None, model_name: str | None = None,
               data_bytes: bytes | None = None) -> Created:
        """Store a new challenge after checking its model and data load and fit together.

        With ``$PRUNING_TEACHER_KEY`` set, ``teacher_key`` must equal it and the challenge uses
        it; otherwise a fresh key is made, returned once and stored as a salted scrypt hash.
        """
        env = keys.env_teacher_key()
        if env is not None and not keys.matches_env_key(teacher_key or ""):
            raise ChallengeError("this server has a class teacher key (PRUNING_TEACHER_KEY); "
                                 "enter it to create a challenge")
        if spec.model == "upload":
            if not model_bytes or not model_name:
                raise ChallengeError("upload the challenge's model (.keras, .h5 or .weights.h5)")
            spec = ChallengeSpec(**{**spec.__dict__, "model_file": "model" + check_suffix(model_name)})
        if spec.data == "upload" and not data_bytes:
            raise ChallengeError("upload the challenge's data (.npz with the public and hidden splits)")
        code = self._free_code()
        folder = self.db.files_dir(code)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            if spec.model == "upload":
                (folder / str(spec.model_file)).write_bytes(model_bytes)  # type: ignore[arg-type]
            if spec.data == "upload":
                (folder / "data.npz").write_bytes(data_bytes)  # type: ignore[arg-type]
            ref = self._build_reference(code, spec)
            key = None if env is not None else keys.new_secret()
            with self.db.tx() as conn:
                conn.execute("INSERT INTO challenges (code, title, spec, key_hash, closed, created) "
                             "VALUES (?, ?, ?, ?, 0, ?)",
                             (code, spec.title.strip(), spec.to_json(),
                              None if key is None else keys.hash_key(key), self.clock()))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._refs_lock:
            self._refs[code] = ref
        return Created(code, key)

    def _free_code(self) -> str:
        for _ in range(100):
            code = keys.new_join_code()
            if self.db.one("SELECT 1 FROM challenges WHERE code = ?", (code,)) is None:
                return code
        raise ChallengeError("could not find a free join code; try again")

    def is_teacher(self, code: str, key: str) -> bool:
        """True when ``key`` opens challenge ``code`` (its own key or the server's env key)."""
        row = self.db.one("SELECT key_hash FROM challenges WHERE code = ?", (keys.normalize_code(code),))
        if row is None or not key:
            return False
        if keys.matches_env_key(key):
            return True
        return row["key_hash"] is not None and keys.verify_key(key, row["key_hash"])

    def require_teacher(self, code: str, key: str) -> Challenge:
        ch = self.get(code)
        if not self.is_teacher(ch.code, key):
            raise ChallengeError("wrong teacher key for this challenge")
        return ch

    def set_closed(self, code: str, key: str, closed: bool) -> Challenge:
        """Close (no more submissions) or reopen a challenge; needs the teacher key."""
        ch = self.require_teacher(code, key)
        with self.db.tx() as conn:
            conn.execute("UPDATE challenges SET closed = ? WHERE code = ?", (int(closed), ch.code))
        return self.get(ch.code)

    def export_csv(self, code: str, key: str) -> str:
        """Every submission as CSV (fractions 0..1, UTC times); needs the teacher key."""
        ch = self.require_teacher(code, key)
        return board.export_frame(self.submissions(ch.code)).to_csv(index=False)

    # ------------------------------------------------------------ anyone

    def get(self, code: str) -> Challenge:
        row = self.db.one("SELECT * FROM challenges WHERE code = ?", (keys.normalize_code(code),))
        if row is None:
            raise ChallengeError(f"no challenge with code {keys.normalize_code(code) or code!r}; "
                                 "check the code on the projector")
        return Challenge(row["code"], row["title"], ChallengeSpec.from_json(row["spec"]),
                         bool(row["closed"]), row["created"])

    def list(self) -> list[Challenge]:
        rows = self.db.rows("SELECT code FROM challenges ORDER BY created DESC")
        return [self.get(r["code"]) for r in rows]

    def join(self, code: str, name: str, token: str | None = None) -> Student:
        """Join with a display name; the same name comes back only with its token."""
        ch = self.get(code)
        name = " ".join(str(name).split())
        if not name or len(name) > NAME_MAX or not name.isprintable():
            raise ChallengeError(f"pick a display name of 1-{NAME_MAX} printable characters")
        row = self.db.one("SELECT * FROM students WHERE challenge = ? AND name_key = ?",
                          (ch.code, name.casefold()))
        if row is not None:
            if token and row["token"] == keys.token_digest(token):
                return Student(row["id"], ch.code, row["name"], token)
            raise ChallengeError(f"the name {name!r} is taken in this challenge; pick another "
                                 "(or come back through the link you joined with)")
        token = keys.new_secret()
        with self.db.tx() as conn:
            cur = conn.execute("INSERT INTO students (challenge, name, name_key, token, created) "
                               "VALUES (?, ?, ?, ?, ?)",
                               (ch.code, name, name.casefold(), keys.token_digest(token), self.clock()))
        return Student(int(cur.lastrowid), ch.code, name, token)

    def student(self, code: str, token: str) -> Student | None:
        """The student holding ``token`` in challenge ``code`` (None when unknown)."""
        row = self.db.one("SELECT * FROM students WHERE challenge = ? AND token = ?",
                          (keys.normalize_code(code), keys.token_digest(token or "")))
        return None if row is None else Student(row["id"], row["challenge"], row["name"], token)

    def submissions(self, code: str) -> pd.DataFrame:
        """Every submission of a challenge (teacher view and leaderboard input)."""
        rows = self.db.rows("SELECT s.*, st.name FROM submissions s JOIN students st ON st.id = s.student "
                            "WHERE s.challenge = ? ORDER BY s.id", (keys.normalize_code(code),))
        return board.submissions_frame([dict(r) for r in rows])

    def history(self, code: str, token: str) -> pd.DataFrame:
        """One student's own submissions, oldest first."""
        me = self.student(code, token)
        subs = self.submissions(code)
        return subs[subs["student"] == (me.id if me else -1)].reset_index(drop=True)

    def leaderboard(self, code: str) -> pd.DataFrame:
        return board.leaderboard(self.submissions(code))

    def frontier(self, code: str) -> pd.DataFrame:
        return board.class_frontier(self.submissions(code))

    def starting_model(self, code: str) -> tuple[bytes, str] | None:
        """The dense model students start from (bundled demo or the teacher's upload)."""
        ch = self.get(code)
        if ch.spec.model == "demo":
            path = bundled_weights("fashion-mnist")
            return path.read_bytes(), path.name
        if ch.spec.model == "upload":
            path = self.db.files_dir(ch.code) / str(ch.spec.model_file)
            return path.read_bytes(), f"challenge-{ch.code}{check_suffix(path.name)}"
        return None

    def public_data(self, code: str) -> bytes | None:
        """The public split as an .npz (x_<split>, y_<split>) for uploaded data; never the hidden one."""
        ch = self.get(code)
        if ch.spec.data != "upload":
            return None
        split, name = self.reference(ch.code).public, ch.spec.public_split
        buf = io.BytesIO()
        np.savez_compressed(buf, **{f"x_{name}": split.x, f"y_{name}": split.y})
        return buf.getvalue()

    # ------------------------------------------------------------ submissions

    def _gate(self, ch: Challenge, me: Student, now: float) -> None:
        """Refuse when the challenge is closed or past its deadline, or the quota or wait applies."""
        spec = ch.spec
        if ch.closed:
            raise Refused("the challenge is closed; the teacher can reopen it")
        if spec.deadline is not None and now >= spec.deadline:
            raise Refused("the deadline has passed; submissions are no longer accepted")
        row = self.db.one("SELECT COUNT(*) AS n, MAX(created) AS last FROM submissions WHERE student = ?",
                          (me.id,))
        if spec.max_submissions is not None and row["n"] >= spec.max_submissions:
            raise Refused(f"you have used all {spec.max_submissions} submissions of this challenge")
        if row["last"] is not None and now - row["last"] < spec.min_interval_s:
            wait = spec.min_interval_s - (now - row["last"])
            raise Refused(f"please wait {wait:.0f} s before your next submission "
                          f"(one every {spec.min_interval_s:g} s); this upload was not counted")

    def _attempt(self, ch: Challenge, me: Student, now: float) -> int:
        """Record an upload attempt, or refuse when the student made too many in the last minute."""
        with self.db.tx() as conn:
            n = conn.execute("SELECT COUNT(*) FROM attempts WHERE student = ? AND created > ?",
                             (me.id, now - 60)).fetchone()[0]
            if n >= ch.spec.attempts_per_minute:
                raise Refused(f"too many uploads: at most {ch.spec.attempts_per_minute} a minute; "
                              "wait a moment and try again")
            return int(conn.execute("INSERT INTO attempts (student, accepted, message, created) "
                                    "VALUES (?, 0, '', ?)", (me.id, now)).lastrowid)

    def _note(self, attempt: int, accepted: bool, message: str) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE attempts SET accepted = ?, message = ? WHERE id = ?",
                         (int(accepted), message[:500], attempt))

    def submit(self, code: str, token: str, data: bytes, file_name: str) -> dict:
        """Score an upload on the hidden split and record it; returns the stored row.

        Raises:
            Refused: closed, past the deadline, quota or wait, too large, wrong format or
                architecture, unsafe file; nothing is counted then.
            ChallengeError: unknown challenge or student.
        """
        ch = self.get(code)
        me = self.student(ch.code, token)
        if me is None:
            raise ChallengeError("join the challenge first (your session does not hold a student token)")
        base = str(file_name).replace("\\", "/").split("/")[-1] or "upload"
        now = self.clock()
        attempt = self._attempt(ch, me, now)
        try:
            self._gate(ch, me, now)
            if len(data) > ch.spec.max_bytes:
                raise Refused(f"{base}: {format_bytes(len(data))} is over this challenge's "
                              f"{format_bytes(ch.spec.max_bytes)} limit")
            if not data:
                raise Refused(f"{base}: the file is empty")
            try:
                result = self.score_bytes(ch.code, data, base)
            except ModelError as e:
                raise Refused(str(e)) from None
            except Exception as e:  # anything else a broken upload can raise: refused, never a crash
                raise Refused(f"{base}: could not be read as Keras weights ({type(e).__name__}: "
                              f"{str(e)[:200]})") from None
            with self.db.tx() as conn:  # checked again: another upload may have landed meanwhile
                self._gate(ch, me, self.clock())
                sid = conn.execute(
                    "INSERT INTO submissions (challenge, student, file_name, file_sha256, file_bytes, "
                    "sparsity, accuracy, score, params, nonzeros, images, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (ch.code, me.id, base, hashlib.sha256(data).hexdigest(), len(data),
                     result.sparsity, result.accuracy, result.as_dict()["score"], result.params,
                     result.nonzeros, result.images, self.clock())).lastrowid
        except Refused as e:
            self._note(attempt, False, str(e))
            raise
        self._note(attempt, True, "")
        return dict(self.submissions(ch.code).set_index("id").loc[sid].to_dict(), id=sid)

    def score_bytes(self, code: str, data: bytes, file_name: str) -> Result:
        """Score file bytes on challenge ``code``'s hidden split (nothing is recorded)."""
        ch = self.get(code)
        ref = self.reference(ch.code)
        with self._slots, tempfile.TemporaryDirectory(prefix="challenge-upload-") as d:
            path = Path(d) / ("upload" + check_suffix(file_name))
            path.write_bytes(data)
            return score_file(path, file_name, ref.template, ref.hidden, ch.spec.floor)

    # ------------------------------------------------------------ reference model + data

    def reference(self, code: str) -> Reference:
        """The challenge's architecture and splits (built on first use, then shared)."""
        with self._refs_lock:
            if code in self._refs:
                return self._refs[code]
        ref = self._build_reference(code, self.get(code).spec)
        with self._refs_lock:
            return self._refs.setdefault(code, ref)

    def _build_reference(self, code: str, spec: ChallengeSpec) -> Reference:
        folder = self.db.files_dir(code)
        try:
            if spec.model == "demo":
                template = load_model(None, "fashion-mnist")
            elif spec.model == "preset":
                template = build_preset(spec.preset)
            else:
                template = load_model(folder / str(spec.model_file), spec.preset)
            classes = int(template.output_shape[-1])
            data: Dataset = (load_fashion_mnist() if spec.data == "fashion-mnist"
                             else load_npz(folder / "data.npz", classes, name="challenge data"))
            hidden = check_fits(template, data, spec.hidden_split)
            public = check_fits(template, data, spec.public_split)
        except (ModelError, DataError) as e:
            raise ChallengeError(str(e)) from None
        return Reference(template, hidden, public)

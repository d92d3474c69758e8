"""The challenge database: SQLite in WAL mode in the result store's folder.

    <store>/challenges.sqlite        challenges, students, submissions, upload attempts
    <store>/challenges/<code>/       the teacher's model / data files (server-side only)

Student uploads are never kept: only their sha256, size and the scores.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..store import default_dir

DB_NAME = "challenges.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS challenges (
    code TEXT PRIMARY KEY, title TEXT NOT NULL, spec TEXT NOT NULL, key_hash TEXT,
    closed INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY AUTOINCREMENT, challenge TEXT NOT NULL REFERENCES challenges(code),
    name TEXT NOT NULL, name_key TEXT NOT NULL, token TEXT NOT NULL UNIQUE, created REAL NOT NULL,
    UNIQUE (challenge, name_key));
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, challenge TEXT NOT NULL REFERENCES challenges(code),
    student INTEGER NOT NULL REFERENCES students(id), file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL, file_bytes INTEGER NOT NULL, sparsity REAL NOT NULL,
    accuracy REAL NOT NULL, score REAL, params INTEGER NOT NULL, nonzeros INTEGER NOT NULL,
    images INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, student INTEGER NOT NULL REFERENCES students(id),
    accepted INTEGER NOT NULL, message TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS submissions_by_challenge ON submissions (challenge, student);
CREATE INDEX IF NOT EXISTS attempts_by_student ON attempts (student, created);
"""


class ChallengeDB:
    """One SQLite connection behind a lock, shared by every thread of the process.

    Other processes (a second server, a restart) coordinate through SQLite's file locks.

    Args:
        path: the folder (created if missing); default ``pruning.store.default_dir()``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_dir()
        self.path.mkdir(parents=True, exist_ok=True)
        self.db_path = self.path / DB_NAME
        self._lock = threading.RLock()
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        conn.row_factory = sqlite3.Row
        self._db: sqlite3.Connection | None = conn

    def files_dir(self, code: str) -> Path:
        """Where the teacher's files of challenge ``code`` live (server-side only)."""
        return self.path / "challenges" / code

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"{self.db_path}: the challenge database is closed")
        return self._db

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: checks and the insert they guard are atomic)."""
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn().execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "ChallengeDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

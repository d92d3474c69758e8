"""Retraining runs owned by the server, not by a page: they survive a page switch or reload.

A run is a thread keyed by its settings (bench key, method, target, scope, budget, recipe),
so any session that asks for the same settings attaches to the run in progress instead of
starting a second one, and a cancelled run's checkpoint (also keyed by the settings, not by
the session) lets any session resume it. The thread never touches Streamlit: it records
progress rows; pages read them (``st.fragment(run_every=…)``) and turn the finished result
into their own entries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

Progress = Callable[[int, int, dict], None]


class Cancelled(Exception):
    """Raised inside a run's progress callback when someone pressed Cancel."""


@dataclass
class BackgroundRun:
    """One server-owned run: what it trains, how far it got, how it ended."""

    id: str
    info: dict
    rows: list[dict] = field(default_factory=list)  # finished epochs (rows with val_accuracy)
    done: int = 0
    total: int = 1
    text: str = "Waiting for a free slot…"
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set() and self.result is None

    def progress(self, done: int, total: int, row: dict) -> None:
        """The progress callback given to the training loop (raises ``Cancelled`` on Cancel)."""
        if self.cancel.is_set():
            raise Cancelled
        self.done, self.total = done, max(total, 1)
        loss = row.get("loss", float("nan"))
        text = f"{row.get('phase', '')} epoch {row.get('epoch', '?')}: loss {loss:.3f}"
        if "val_accuracy" in row:
            text += f", val accuracy {100 * row['val_accuracy']:.2f} %"
        if "sparsity" in row:
            text += f", sparsity {100 * row['sparsity']:.1f} %"
        self.text = text
        if "val_accuracy" in row and (not self.rows or row != self.rows[-1]):
            self.rows.append(dict(row))


_RUNS: dict[str, BackgroundRun] = {}
_LOCK = threading.Lock()
KEEP_ENDED_S = 24 * 3600  # an ended run's record is forgotten after this long


def background_run(run_id: str) -> BackgroundRun | None:
    """The run with these settings (running, or ended within ``KEEP_ENDED_S``), or None."""
    with _LOCK:
        now = time.time()
        for k in [k for k, r in _RUNS.items() if r.ended and now - r.ended > KEEP_ENDED_S]:
            del _RUNS[k]
        return _RUNS.get(run_id)


def start_run(run_id: str, info: dict, work: Callable[[Progress], Any]) -> BackgroundRun:
    """Start ``work(progress)`` in a server thread under ``run_id``; if a run with that id
    is already going, return it instead (one run per settings, whoever asks)."""
    with _LOCK:
        cur = _RUNS.get(run_id)
        if cur is not None and cur.running:
            return cur
        run = BackgroundRun(run_id, dict(info))

        def body() -> None:
            try:
                run.result = work(run.progress)
            except Cancelled:
                pass
            except Exception as e:  # shown to whoever looks at the run; the server keeps going
                run.error = str(e) or type(e).__name__
            finally:
                run.ended = time.time()

        run.thread = threading.Thread(target=body, name=f"retrain-{run_id}", daemon=True)
        _RUNS[run_id] = run
        run.thread.start()
        return run


def forget_run(run_id: str) -> None:
    """Drop an ended run's record (a new start with the same settings begins afresh)."""
    with _LOCK:
        r = _RUNS.get(run_id)
        if r is not None and not r.running:
            del _RUNS[run_id]

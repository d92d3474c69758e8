"""One process-wide cache of finished results, keyed by content, computed once per key.

Thirty students asking for the same level must cost one forward pass, not thirty: the
first session to ask computes the value, every other session asking the same key waits
on that key's lock and reads the result (single flight). Keys hold content hashes (model,
data, limits), the method, scope and level, so sessions with different uploads never meet.
Values are immutable (floats, tuples, bytes, frozen dicts by convention): never mutate one.
``peek`` answers without computing, so a page can show an estimate first on a miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

MISSING = object()


class SharedCache:
    """A bounded LRU map with per-key single-flight computation (thread-safe)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[Hashable, threading.Lock] = {}
        self.computed = 0  # how many values were computed (not served): for tests and benches
        self.in_flight = 0  # computations running now (a background filler waits for 0)

    def peek(self, key: Hashable) -> Any:
        """The stored value, or ``MISSING`` (never computes)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        return MISSING

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``key``; computed by ``compute()`` if no session has it yet.

        A second caller of the same key while the first computes waits for it and gets its
        value; an exception is not stored (the next caller tries again).
        """
        value = self.peek(key)
        if value is not MISSING:
            return value
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            value = self.peek(key)
            if value is not MISSING:
                return value
            with self._lock:
                self.in_flight += 1
            try:
                value = compute()
                with self._lock:
                    self._values[key] = value
                    self.computed += 1
                    while len(self._values) > self.max_entries:
                        self._values.popitem(last=False)
            finally:
                with self._lock:
                    self._flights.pop(key, None)
                    self.in_flight -= 1
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


RESULTS = SharedCache()

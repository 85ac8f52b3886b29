"""A server-wide bound on what visitors' models and uploads hold in memory.

Every visitor's parsed model and scored upload is large (a 1M-row file is hundreds of MB), and a
shared server has many visitors. `HeldObjects` keeps them in one least-recently-used store bounded
by entries and bytes: putting a new object in drops the least recently used others until both
bounds hold. A dropped object is simply gone; its owner reads or scores it again when it is next
asked for. Sizes are what the caller measures (or estimates); thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

__all__ = ["HeldObjects"]


@dataclass
class _Entry:
    value: Any
    size: int
    idle: float | None  # seconds without use after which it goes
    used: float


class HeldObjects:
    """Objects by key, at most `max_entries` of them and `max_bytes` in all (least recently used
    first out). An object larger than `max_bytes` on its own is held alone."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("the bounds must be positive")
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The object, marked as just used; None if it was never put, was dropped or has expired."""
        with self._lock:
            self._drop_idle()
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry.used = time.monotonic()
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: str, value: Any, size: int, idle: float | None = None) -> list[str]:
        """Hold `value` (replacing the key's last one; dropped after `idle` seconds without use, if
        given), then drop least recently used others until the bounds hold. Returns the keys
        dropped for room."""
        with self._lock:
            self._drop_idle()
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(value, max(0, int(size)), idle, time.monotonic())
            self._bytes += max(0, int(size))
            dropped = []
            while len(self._entries) > 1 and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                oldest = next(iter(self._entries))
                self._drop(oldest)
                dropped.append(oldest)
            return dropped

    def pop(self, key: str) -> None:
        with self._lock:
            if key in self._entries:
                self._drop(key)

    def _drop_idle(self) -> None:
        now = time.monotonic()
        for key in [k for k, e in self._entries.items() if e.idle is not None and now - e.used >= e.idle]:
            self._drop(key)

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

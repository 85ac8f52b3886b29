"""A server-wide bound on what visitors' models, uploads and computed views hold in memory, shared
fairly between the visitors.

Every visitor's parsed model and scored upload is large (a 1M-row file is hundreds of MB), and a
shared server has many visitors. `HeldObjects` keeps them in one store bounded by entries and
bytes, each entry owned by the visitor who put it (their session's token):

- a visitor holds at most `share_entries` entries and `share_bytes` bytes: past that, their own
  least recently used entries go, never anyone else's;
- when the whole store is past its bounds, entries go from the visitor holding the most beyond an
  equal split of the store between the visitors in it (their least recently used first): a
  visitor within an equal split loses nothing to another;
- an entry nobody used for its `idle` seconds goes too (a visitor who left), and one past its
  `ttl` (an answer that may be stale).

A released entry is gone; its owner rebuilds it (or uploads its file again) when it is next
asked for. Each release is recorded with its reason, for the owner's page to say
(`released(owner)`). Sizes are what the caller measures or estimates (`resize` when it grows);
thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from .limits import human_bytes

__all__ = ["HeldObjects", "Release"]

_NOTICES = 8  # releases remembered per owner until they are read


@dataclass
class _Entry:
    value: Any
    size: int
    owner: str
    label: str
    idle: float | None  # seconds without use after which it goes
    expires: float | None  # monotonic time after which it goes, used or not
    used: float


@dataclass(frozen=True)
class Release:
    """An entry the store let go: what it was (`label`), its size and why."""

    key: str
    label: str
    size: int
    reason: str

    @property
    def text(self) -> str:
        return f"{self.label} ({human_bytes(self.size)}): {self.reason}"


class HeldObjects:
    """Objects by key, at most `max_entries` of them and `max_bytes` in all, each visitor
    (`owner`) at most `share_entries` and `share_bytes` of that. An object larger than the bounds
    on its own is held alone."""

    def __init__(
        self, max_entries: int, max_bytes: int, share_entries: int | None = None, share_bytes: int | None = None
    ) -> None:
        share_entries = max_entries if share_entries is None else share_entries
        share_bytes = max_bytes if share_bytes is None else share_bytes
        if min(max_entries, max_bytes, share_entries, share_bytes) < 1:
            raise ValueError("the bounds must be positive")
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.share_entries, self.share_bytes = min(share_entries, max_entries), min(share_bytes, max_bytes)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._bytes = 0
        self._notices: defaultdict[str, list[Release]] = defaultdict(list)
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The object, marked as just used; None if it was never put, was released or has expired."""
        with self._lock:
            self._drop_stale()
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry.used = time.monotonic()
            self._entries.move_to_end(key)
            return entry.value

    def put(
        self,
        key: str,
        value: Any,
        size: int,
        idle: float | None = None,
        *,
        owner: str = "",
        label: str = "",
        ttl: float | None = None,
    ) -> list[str]:
        """Hold `value` for `owner` (replacing the key's last one; released after `idle` seconds
        without use, or `ttl` seconds after now, if given), then release others until the bounds
        hold. Returns the keys released for room."""
        with self._lock:
            self._drop_stale()
            if key in self._entries:
                self._drop(key)
            now = time.monotonic()
            expires = now + ttl if ttl is not None else None
            self._entries[key] = _Entry(value, max(0, int(size)), owner, label or key, idle, expires, now)
            self._bytes += max(0, int(size))
            return self._make_room(key)

    def resize(self, key: str, size: int) -> list[str]:
        """The held object's size changed (a view that keeps more as it is used): the bounds again."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return []
            self._bytes += max(0, int(size)) - entry.size
            entry.size = max(0, int(size))
            return self._make_room(key)

    def pop(self, key: str) -> None:
        with self._lock:
            if key in self._entries:
                self._drop(key)

    def released(self, owner: str) -> list[Release]:
        """The releases of `owner`'s entries not read yet (each is read once), oldest first."""
        with self._lock:
            self._drop_stale()
            return self._notices.pop(owner, [])

    def owned(self, owner: str) -> tuple[int, int]:
        """(entries, bytes) `owner` holds now."""
        with self._lock:
            return self._held_by(owner)

    # --- inside the lock

    def _make_room(self, newest: str) -> list[str]:
        """Release entries until the owner's share and the store's bounds hold; never `newest`."""
        owner = self._entries[newest].owner
        released: list[str] = []
        while True:
            mine = [k for k, e in self._entries.items() if e.owner == owner and k != newest]
            count, size = self._held_by(owner)
            if mine and (count > self.share_entries or size > self.share_bytes):
                reason = (
                    f"you held more than one visitor may ({self.share_entries} items, "
                    f"{human_bytes(self.share_bytes)}); your least recently used went first"
                )
                released.append(self._release(mine[0], reason))
                continue
            if len(self._entries) <= self.max_entries and self._bytes <= self.max_bytes:
                return released
            victim = self._over_equal_split(newest)
            if victim is None:
                return released
            who = self._entries[victim].owner
            n_owners = len({e.owner for e in self._entries.values()})
            reason = (
                "the server needed room and you held the most beyond an equal share of its memory "
                f"(1/{n_owners} of {self.max_entries} items, {human_bytes(self.max_bytes)})"
                if who != owner
                else f"the server's memory for all visitors was full ({self.max_entries} items, "
                f"{human_bytes(self.max_bytes)}); your least recently used went first"
            )
            released.append(self._release(victim, reason))

    def _held_by(self, owner: str) -> tuple[int, int]:
        mine = [e for e in self._entries.values() if e.owner == owner]
        return len(mine), sum(e.size for e in mine)

    def _over_equal_split(self, newest: str) -> str | None:
        """The least recently used entry (never `newest`) of the owner furthest past an equal split
        of the store (the larger of their shares of its entries and of its bytes)."""
        counts: defaultdict[str, int] = defaultdict(int)
        sizes: defaultdict[str, int] = defaultdict(int)
        for entry in self._entries.values():
            counts[entry.owner] += 1
            sizes[entry.owner] += entry.size
        n_owners = len(counts)
        equal_entries, equal_bytes = self.max_entries / n_owners, self.max_bytes / n_owners

        def excess(owner: str) -> float:
            return max(counts[owner] / equal_entries, sizes[owner] / equal_bytes)

        candidates = [k for k in self._entries if k != newest]
        if not candidates:
            return None
        worst = max({self._entries[k].owner for k in candidates}, key=excess)
        return next(k for k in candidates if self._entries[k].owner == worst)

    def _release(self, key: str, reason: str) -> str:
        entry = self._entries[key]
        notices = self._notices[entry.owner]
        notices.append(Release(key, entry.label, entry.size, reason))
        del notices[:-_NOTICES]
        self._drop(key)
        return key

    def _drop_stale(self) -> None:
        now = time.monotonic()
        for key, entry in list(self._entries.items()):
            if entry.idle is not None and now - entry.used >= entry.idle:
                self._release(key, f"unused for {entry.idle / 60:.0f} minutes")
            elif entry.expires is not None and now >= entry.expires:
                self._drop(key)  # an answer that may be stale: read again when asked, nothing to say

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

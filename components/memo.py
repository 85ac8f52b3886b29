"""Values computed from others, kept for this visitor and keyed by what they are computed from.

`memo(name, key, compute)` returns the value kept for `key` under `name`, computing it once. `key`
must say everything the value depends on, cheaply (a file's identity, a block's fingerprint, the
columns chosen), never the big objects themselves. Each name keeps its last `keep` values: a new
file or block pushes the oldest out, so a session holds a bounded number of them.

The values themselves are in the server-wide held store (`loaders.held()`), as this visitor's, with
their size (`nbytes` when they have one, measured again at each use: a fleet log keeps what it
computes): they count toward the server's bound and the visitor's share like uploads do, and the
store may release them for room, in which case they are computed again when next asked for.
"""

from __future__ import annotations

import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

import streamlit as st

from . import loaders, state

T = TypeVar("T")


def size_of(value: object) -> int:
    """What a kept value holds: its `nbytes` (arrays, fleet logs), else its own size."""
    nbytes = getattr(value, "nbytes", None)
    return int(nbytes) if isinstance(nbytes, (int, float)) else sys.getsizeof(value)


def memo(name: str, key: Hashable, compute: Callable[[], T], keep: int = 1) -> T:
    """`compute()` once per `key` (the last `keep` keys of `name` are kept)."""
    kept: OrderedDict[Hashable, str] | None = st.session_state.get(state.memo(name))
    if kept is None:
        kept = st.session_state[state.memo(name)] = OrderedDict()
    store = loaders.held()
    held_key = kept.get(key)
    if held_key is not None:
        value = store.get(held_key)
        if value is not None:
            kept.move_to_end(key)
            store.resize(held_key, size_of(value))
            return cast(T, value)
    value = compute()
    held_key = f"{loaders.visitor()}:memo:{name}:{uuid.uuid4().hex}"
    store.put(held_key, value, size_of(value), owner=loaders.visitor(), label=name.replace("_", " "))
    kept[key] = held_key
    kept.move_to_end(key)
    while len(kept) > keep:
        store.pop(kept.popitem(last=False)[1])
    return value


def forget(name: str) -> None:
    """Drop every value kept under `name` (e.g. when the file they came from is released)."""
    kept: OrderedDict[Hashable, str] | None = st.session_state.pop(state.memo(name), None)
    for held_key in (kept or {}).values():
        loaders.held().pop(held_key)

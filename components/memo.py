"""Values computed from others, kept in this visitor's session and keyed by what they are computed from.

`memo(name, key, compute)` returns the value kept for `key` under `name`, computing it once. `key`
must say everything the value depends on, cheaply (a file's identity, a block's fingerprint, the
columns chosen), never the big objects themselves. Each name keeps its last `keep` values: a new
file or block pushes the oldest out, so a session holds a bounded number of them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

import streamlit as st

from . import state

T = TypeVar("T")


def memo(name: str, key: Hashable, compute: Callable[[], T], keep: int = 1) -> T:
    """`compute()` once per `key` (the last `keep` keys of `name` are kept)."""
    kept: OrderedDict[Hashable, object] | None = st.session_state.get(state.memo(name))
    if kept is None:
        kept = st.session_state[state.memo(name)] = OrderedDict()
    if key in kept:
        kept.move_to_end(key)
        return cast(T, kept[key])
    value = compute()
    kept[key] = value
    while len(kept) > keep:
        kept.popitem(last=False)
    return value


def forget(name: str) -> None:
    """Drop every value kept under `name` (e.g. when the file they came from is released)."""
    st.session_state.pop(state.memo(name), None)

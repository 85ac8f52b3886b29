"""What the server released of this visitor's work, and why, said on the page (once per release).

The held store (`loaders.held()`, `ei_anomaly.held`) releases a visitor's entries when they pass
their share, when the server needs room and they hold more than an equal share, or when unused
for an hour; it records each release for its owner. app.py calls `show_releases` on every page.
"""

from __future__ import annotations

import streamlit as st

from . import loaders
from .text import md_escape


def show_releases() -> None:
    """An info box listing this visitor's releases since the last run (nothing when there are none)."""
    releases = loaders.held().released(loaders.visitor())
    if not releases:
        return
    lines = "\n".join(f"- {md_escape(r.text, 400)}" for r in releases)
    st.info(
        "To keep the server's memory within its bounds, it released:\n\n" + lines + "\n\nEach is read or computed "
        "again when you next need it; a released upload needs uploading again.",
        icon=":material/memory:",
    )

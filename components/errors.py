"""The last line of defence: an unexpected exception becomes a short message, never a traceback."""

from __future__ import annotations

import logging

import streamlit as st

log = logging.getLogger("anomaly_lens")


def show_unexpected(exc: Exception, secrets: tuple[str, ...] = ()) -> None:
    """Tell the user something broke, log one line (no traceback), and never echo a secret."""
    text = f"{type(exc).__name__}: {exc}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    log.warning("page failed: %s", text[:500])
    st.error(
        "Something unexpected went wrong on this page. The other pages still work; "
        f"if it keeps happening, please report it with this detail: {text[:300]}",
        icon=":material/bug_report:",
    )

"""Untrusted text (from the API, a metadata file or a feature file) shown as text, never rendered.

Streamlit renders markdown in st.markdown, st.caption, st.error/warning/info, st.title, widget
labels and help: `![x](http://host/x.png)` would become an image the browser fetches, `[a](url)`
a live link, `:red[x]` a colour, `$x$` maths. (Charts escape their own text: `ei_anomaly.figures.text`.)
Long texts are cut for display (a 1 MB description must not freeze the page).
"""

from __future__ import annotations

import re

from ei_anomaly.visible import visible_controls

TEXT_DISPLAY_LIMIT = 300  # characters of one untrusted text shown in a label, caption or banner
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"[a-z][a-z0-9+.-]*:(?=//)|\b(?:mailto|xmpp):|\bwww(?=\.)|@", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`[^`]+`)")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&\"'^%@])")


def shorten(text: object, limit: int = TEXT_DISPLAY_LIMIT) -> str:
    """`text` as a string of at most `limit` characters, cut with "…" and the full length said."""
    s = str(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}… ({len(s):,} characters; the first {limit:,} shown)"


def md_escape(text: object, limit: int | None = TEXT_DISPLAY_LIMIT) -> str:
    """Text for any Streamlit markdown context, shown literally: outside `code spans`, every ASCII
    punctuation character that markdown or Streamlit's extensions could act on is backslash-escaped
    (CommonMark allows `\\` before any of them); line breaks become spaces; control and
    bidi-control characters show as escapes (`ei_anomaly.visible`)."""
    s = shorten(text, limit) if limit is not None else str(text)
    s = visible_controls(" ".join(s.splitlines()))
    # `code spans` (the core's messages name fields that way) stay: their content is never
    # rendered as markdown. Everything outside them is escaped, stray backticks included.
    parts = _CODE_SPAN.split(s)
    return "".join(p if i % 2 else _MARKDOWN_SPECIAL.sub(r"\\\1", _no_autolink(p)) for i, p in enumerate(parts))


def _no_autolink(text: str) -> str:
    """GitHub-flavoured markdown links bare URLs, `www.` names and e-mail addresses after
    escapes are resolved, so escaping cannot stop it: an invisible word joiner (U+2060) after
    `scheme:`, inside `www.` and after `@` does. The text reads the same."""
    return _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, text)

"""Characters from outside that would act instead of being shown: made visible as escapes.

A control character (an ESC starts a terminal sequence, BEL rings) and a bidirectional override or
isolate (U+202E turns "gnp.exe" into what reads as "exe.png") change how the text around them is
shown. Every renderer of outside text (the terminal, Streamlit's markdown, Plotly, the report)
shows them as `\\u202e`-style escapes instead. Other format characters (joiners in emoji, soft
hyphens) and right-to-left letters are left alone.
"""

from __future__ import annotations

import re

__all__ = ["ACTING_CHARACTERS", "visible_controls"]

# C0 and C1 controls (tab and line feed aside: callers that need one line join lines themselves),
# DEL, and the bidi marks, embeddings, overrides and isolates.
ACTING_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    """`text` with each control or bidi-control character replaced by its escape (`\\x1b`, `\\u202e`)."""
    return ACTING_CHARACTERS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)

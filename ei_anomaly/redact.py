"""Keep secrets out of text that is shown or logged, in every spelling an echo could use."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

__all__ = ["redact", "url_without_credentials"]

MASK = "***"


def _spellings(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], repr(secret)[1:-1]}


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each non-empty secret replaced by *** (plain, URL-encoded, JSON- or repr-escaped)."""
    forms = {form for s in secrets if s and s.strip() for form in _spellings(s.strip()) if form}
    for form in sorted(forms, key=len, reverse=True):  # longest first: one spelling may contain another
        text = text.replace(form, MASK)
    return text


def url_without_credentials(url: str) -> str:
    """`url` without the user name and password it may carry (`https://user:pw@host/v1` ->
    `https://host/v1`): for anything shown or logged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()

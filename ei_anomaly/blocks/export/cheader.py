"""Just enough C to read what Edge Impulse generates: `#define`s, array and struct definitions with
their brace initializers, and numeric literals turned into the float32 values the compiler makes.

Generated headers are data, not programs: nothing here evaluates an expression beyond a product of
integers (`float x[1*4]`), follows an `#include`, or expands a macro. A literal with an `f` suffix is
rounded once from its decimal digits to float32, as C does; one without is a `double` constant that
the compiler converts to float32 (rounded to double first, then to float32: two roundings, which
differ from one on rare ties; both are exact here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from math import prod

import numpy as np

from ...errors import MetadataError

__all__ = [
    "Definition",
    "c_float32",
    "c_int",
    "defines",
    "definitions",
    "designated",
    "elements",
    "strip_comments",
]

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\])*\"", re.S)
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+([^\n]*?)[ \t]*$", re.M)
# `[const] [ALIGN(16)] [static] <type> NAME[dims] = {` or `<type> NAME = {` (the type may be a template)
_DEFINITION = re.compile(
    r"(?:^|[;}\n])\s*(?:(?:const|static|constexpr|volatile|extern)\s+|ALIGN\s*\(\s*\d+\s*\)\s*|"
    r"__attribute__\s*\(\(\s*\w+(?:\s*\(\s*\d+\s*\))?\s*\)\)\s*)*"
    r"(?P<type>(?:(?:unsigned|signed|long|short|struct)\s+)*[A-Za-z_][\w:]*(?:\s*<[^<>;{}]*>)?(?:\s*\*)?)\s+(?:(?:const|ALIGN\s*\(\s*\d+\s*\))\s+)*"
    r"(?P<name>[A-Za-z_]\w*)\s*(?P<dims>(?:\[[^\]\n]*\]\s*)*)(?:ALIGN\s*\(\s*\d+\s*\)\s*)?=?\s*\{"
)
_NUMBER = re.compile(r"^[+-]?(?:0[xX][0-9a-fA-F.]+(?:[pP][+-]?\d+)?|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_INT_SUFFIX = re.compile(r"[uUlL]+$")


def strip_comments(text: str) -> str:
    """The text without // and /* */ comments (string literals kept as they are)."""
    return _COMMENT.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)


def defines(text: str) -> dict[str, str]:
    """`#define NAME value` lines (comments stripped first): the last definition of a name wins."""
    return {m.group(1): m.group(2).strip() for m in _DEFINE.finditer(strip_comments(text))}


@dataclass(frozen=True)
class Definition:
    """One `type name[dims] = { ... }` of a file: its type, name, array dimensions (None where
    the brackets are empty) and the text between its outer braces."""

    type: str
    name: str
    dims: tuple[int | None, ...]
    body: str


def _matching_brace(text: str, start: int) -> int:
    """The index just after the brace that closes the one at `start` (strings and chars skipped)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            end = text.find(ch, i + 1)
            while end > 0 and text[end - 1] == "\\":
                end = text.find(ch, end + 1)
            i = end if end > 0 else n
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise MetadataError("a brace is never closed: the file is cut short")


def _dimension(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"\d+(\s*\*\s*\d+)*", text):
        return None  # a macro (EI_CLASSIFIER_ANOM_AXIS_SIZE): the initializer says the size
    return prod(int(p) for p in text.split("*"))


def definitions(text: str) -> dict[str, Definition]:
    """Every braced definition of the (comment-free) text, by name; a later one of a name replaces
    an earlier one (a header that defines a name twice under #if branches keeps the last)."""
    found: dict[str, Definition] = {}
    for m in _DEFINITION.finditer(text):
        brace = m.end() - 1
        end = _matching_brace(text, brace)
        dims = tuple(_dimension(d) for d in re.findall(r"\[([^\]]*)\]", m.group("dims")))
        found[m.group("name")] = Definition(
            " ".join(m.group("type").split()), m.group("name"), dims, text[brace + 1 : end - 1]
        )
    return found


def elements(body: str) -> list[str | list]:  # type: ignore[type-arg]
    """The top-level elements of an initializer body: text, or a nested list for a braced element.
    A cast before a braced element (`( float[3] ) { ... }`) is dropped."""
    out: list[str | list] = []  # type: ignore[type-arg]
    i, n, start = 0, len(body), 0
    pending: list | None = None  # type: ignore[type-arg]
    while i < n:
        ch = body[i]
        if ch == "{":
            end = _matching_brace(body, i)
            pending = elements(body[i + 1 : end - 1])
            i = end
            continue
        if ch in "\"'":
            close = body.find(ch, i + 1)
            while close > 0 and body[close - 1] == "\\":
                close = body.find(ch, close + 1)
            i = close + 1 if close > 0 else n
            continue
        if ch == ",":
            out.append(pending if pending is not None else body[start:i].strip())
            pending, start = None, i + 1
        i += 1
    tail = body[start:].strip()
    if pending is not None:
        out.append(pending)
    elif tail:
        out.append(tail)
    return out


def designated(body: str) -> dict[str, str | list]:  # type: ignore[type-arg]
    """`.field = value` elements of a struct initializer, by field name."""
    fields: dict[str, str | list] = {}  # type: ignore[type-arg]
    for item in elements(body):
        if isinstance(item, str):
            m = re.match(r"^\.(\w+)\s*=\s*(.*)$", item, re.S)
            if m:
                fields[m.group(1)] = m.group(2).strip()
    return fields


def _literal(text: str, what: str) -> tuple[str, str]:
    """(number, suffix) of a C numeric literal, casts and parentheses removed."""
    t = re.sub(r"^\(\s*\w+\s*\)\s*", "", text.strip())  # a cast: (float) 1.5
    t = t.strip().strip("()").strip()
    m = _NUMBER.match(t)
    if not m:
        raise MetadataError(f"{what}: expected a number, found {text.strip()[:40]!r}")
    suffix = t[m.end() :].strip()
    if suffix not in ("", "f", "F", "l", "L", "u", "U", "ul", "UL", "ull", "ULL", "ll", "LL"):
        raise MetadataError(f"{what}: expected a number, found {text.strip()[:40]!r}")
    return m.group(0), suffix


def c_int(text: str, what: str = "a value") -> int:
    """An integer literal (decimal or hex, any suffix)."""
    number, _ = _literal(_INT_SUFFIX.sub("", text.strip()), what)
    try:
        return int(number, 0) if not re.fullmatch(r"[+-]?0\d+", number) else int(number, 8)
    except ValueError:
        raise MetadataError(f"{what}: expected a whole number, found {text.strip()[:40]!r}") from None


def _nearest_float32(exact: Fraction, guess: np.float32) -> np.float32:
    """The float32 nearest to `exact` among `guess` and its neighbours; ties to the even one."""
    candidates = [
        np.nextafter(guess, np.float32(-np.inf)),
        guess,
        np.nextafter(guess, np.float32(np.inf)),
    ]
    finite = [c for c in candidates if np.isfinite(c)]
    best = min(finite, key=lambda c: (abs(Fraction(float(c)) - exact), int(np.array([c]).view(np.uint32)[0]) & 1))
    return np.float32(best)


def c_float32(text: str, what: str = "a value") -> np.float32:
    """The float32 a C compiler stores for `float x = <text>;`."""
    number, suffix = _literal(text, what)
    try:
        double = float.fromhex(number) if number.lower().lstrip("+-").startswith("0x") else float(number)
    except ValueError:
        raise MetadataError(f"{what}: expected a number, found {text.strip()[:40]!r}") from None
    with np.errstate(over="ignore"):
        value = np.float32(double)
    if not np.isfinite(value):
        raise MetadataError(f"{what}: {number[:40]} does not fit in float32")
    if suffix.lower() != "f":
        return value  # a double constant, converted to float: rounded twice, as the compiler does
    # A float literal is rounded once. Rounding the double again differs only when the double
    # lands exactly halfway between two float32 values.
    lo = np.nextafter(value, np.float32(-np.inf))
    hi = np.nextafter(value, np.float32(np.inf))
    if double not in ((float(lo) + float(value)) / 2, (float(value) + float(hi)) / 2):
        return value
    exact = Fraction(number) if "x" not in number.lower() else Fraction(double)
    return _nearest_float32(exact, value)

"""Check the links of the README and docs/: every relative target exists, every `#anchor` is a
heading of its target page as GitHub names it.

Run: python -m scripts.check_links   (prints each broken link; exit code 1 when there is one)
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[(?:[^\]]|\][^(])*?\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (a link or heading there is only text)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, without punctuation, spaces as dashes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    for line in prose(page.read_text()):
        if heading := HEADING.match(line):
            base = slug(heading["text"])
            seen[base] = seen.get(base, -1) + 1
            if seen[base]:
                seen[f"{base}-{seen[base]}"] = 0
    return set(seen)


def broken_links(page: Path) -> list[str]:
    problems = []
    text = "\n".join(prose(page.read_text()))  # a link's text may run over two lines
    # Inline code can show link syntax without being a link.
    for link in LINK.finditer(re.sub(r"`[^`]*`", "``", text)):
        target = link["target"]
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        name = f"{os.path.relpath(page, ROOT)}: {target}"
        if not where.exists():
            problems.append(f"{name}: no such file")
        elif anchor and (where.suffix != ".md" or anchor not in anchors(where)):
            problems.append(f"{name}: no heading #{anchor} in {os.path.relpath(where, ROOT)}")
    return problems


def main() -> int:
    problems = [problem for page in pages() for problem in broken_links(page)]
    print("\n".join(problems) or f"{len(pages())} pages, no broken links")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

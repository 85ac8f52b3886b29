"""Write requirements.txt and requirements-dev.txt from pyproject.toml, the one dependency list.

pyproject.toml holds every dependency: the wheel's in `[project].dependencies` and its extras
(`report`, `dask`), what the app and development add in `[dependency-groups]` (`app`, `dev`; PEP 735,
which the pip this project supports cannot install, hence these two files). Each file is a list of
those lists:

    requirements.txt      [project].dependencies, the `report` extra, the `app` group
    requirements-dev.txt  -r requirements.txt, the `dask` extra, the `dev` group

A comment on a requirement's line in pyproject.toml, and the comment lines just above it, go with it.
tests/test_requirements.py fails when a file differs from what this writes.

Run: python -m scripts.sync_requirements
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the `dev` group installs it there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


@dataclass(frozen=True)
class RequirementsFile:
    name: str
    purpose: str
    includes: str | None  # another requirements file, installed first (`-r`)
    lists: tuple[str, ...]  # pyproject.toml tables, as dotted keys


FILES = (
    RequirementsFile(
        "requirements.txt",
        "The app (`streamlit run app.py`): the core package, what its HTML report draws with, and Streamlit.",
        None,
        ("project.dependencies", "project.optional-dependencies.report", "dependency-groups.app"),
    ),
    RequirementsFile(
        "requirements-dev.txt",
        "Tests, benchmarks, linting and regenerating the demo project: the app's, Dask's and the tools.",
        "requirements.txt",
        ("project.optional-dependencies.dask", "dependency-groups.dev"),
    ),
)

# One requirement per line, as a TOML string ("..." or '...'), with an optional comment after it.
ENTRY = re.compile(r"""^\s*(?:"(?P<basic>[^"\\]*)"|'(?P<literal>[^']*)'),?\s*(?:#\s?(?P<note>.*))?$""")
COMMENT = re.compile(r"^\s*#\s?(?P<text>.*)$")


@dataclass(frozen=True)
class Note:
    above: tuple[str, ...]  # comment lines just above the requirement
    after: str  # the comment on its line


def notes(pyproject_text: str) -> dict[str, Note]:
    """The comments of every one-per-line string in the file, by its value."""
    found: dict[str, Note] = {}
    above: list[str] = []
    for line in pyproject_text.splitlines():
        if entry := ENTRY.match(line):
            found[entry["basic"] if entry["basic"] is not None else entry["literal"]] = Note(
                tuple(above), entry["note"] or ""
            )
            above = []
        elif comment := COMMENT.match(line):
            above.append(comment["text"])
        else:
            above = []
    return found


def table(pyproject: dict[str, Any], dotted: str) -> list[str]:
    value: Any = pyproject
    for key in dotted.split("."):
        value = value[key]
    return list(value)


def heading(dotted: str) -> str:
    """`project.optional-dependencies.report` -> `[project.optional-dependencies] report`."""
    parent, _, key = dotted.rpartition(".")
    return f"[{parent}] {key}"


def load(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def render(pyproject_text: str) -> dict[str, str]:
    """Each requirements file's text, by file name."""
    pyproject = load(pyproject_text)
    comments = notes(pyproject_text)
    texts = {}
    for file in FILES:
        lines = [
            "# Generated from pyproject.toml by `python -m scripts.sync_requirements`: edit that, not this file.",
            f"# {file.purpose}",
        ]
        if file.includes:
            lines.append(f"-r {file.includes}")
        for dotted in file.lists:
            lines.append(f"# {heading(dotted)}")
            for requirement in table(pyproject, dotted):
                note = comments.get(requirement, Note((), ""))
                lines.extend(f"# {text}" if text else "#" for text in note.above)
                lines.append(f"{requirement}  # {note.after}" if note.after else requirement)
        texts[file.name] = "\n".join(lines) + "\n"
    return texts


def main() -> None:
    for name, text in render(PYPROJECT.read_text()).items():
        path = ROOT / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {name}")
        else:
            print(f"{name} is up to date")


if __name__ == "__main__":
    main()

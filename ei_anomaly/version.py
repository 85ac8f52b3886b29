"""The tool's version, as the report, the JSON snapshot and `--version` say it."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["tool_version"]


@lru_cache(maxsize=1)
def tool_version() -> str:
    """`anomaly-lens` as installed, else the version in the checkout's pyproject.toml."""
    from importlib import metadata

    try:
        return metadata.version("anomaly-lens")
    except metadata.PackageNotFoundError:
        pass
    try:  # tomllib is Python 3.11+; the one line needed is easy to find without it
        text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    except OSError:
        return "unknown"
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else "unknown"

"""Names a package exports, imported on first use (PEP 562): `import ei_anomaly` stays cheap, so
`python -m ei_anomaly score` can start reading a file while the scoring kernel loads."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `name` from the submodule `where[name]` of `package`."""

    def attribute(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f".{where[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return attribute

"""How the command line says its results: one formatter for `score`, `report` and `batch`.

Import-free on purpose: `score` prints it and starts in a fraction of a second.
"""

from __future__ import annotations

__all__ = ["counts_line"]


def counts_line(rows: int, anomalies: int, unscorable: int, threshold: float, mapping: str) -> str:
    """`N rows, A anomalies (score > T), U unscorable; mapping: HOW`."""
    return f"{rows} rows, {anomalies} anomalies (score > {threshold:g}), {unscorable} unscorable; mapping: {mapping}"

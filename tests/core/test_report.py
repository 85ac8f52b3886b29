"""The stakeholder report: its structure, its safety with hostile metadata, the CLI, and the app button."""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import streamlit as st
from plotly.offline import get_plotlyjs
from streamlit.testing.v1 import AppTest

from ei_anomaly import load_metadata
from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, demo_files, load_demo_model
from ei_anomaly.errors import UsageError
from ei_anomaly.features import map_columns, read_feature_file
from ei_anomaly.report import report_filename
from ei_anomaly.scored_file import ScoredFile
from tests.support.cli import run_cli
from tests.support.constants import ROOT, tiny_metadata
from tests.support.report import DEMO_FIGURES, SCORING_FIGURES, hostile_demo_metadata, report_html, scored_demo_file

BARE_SECTIONS = ["summary", "clusters", "validation", "on-device", "threshold"]
SECTIONS = [*BARE_SECTIONS, "guarantee"]  # the guarantee: from the validation windows labelled normal
MB = 1_000_000


class Parsed(HTMLParser):
    """Sections, plot divs, figure scripts and every URL-carrying attribute of a report."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.plots: list[str] = []
        self.figure_json: dict[str, str] = {}
        self.urls: list[str] = []
        self.scripts = 0
        self.links = 0
        self._in_figure: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset", "poster", "data")]
        if tag == "section":
            self.sections.append(a.get("id") or "")
        if tag == "div" and "plot" in (a.get("class") or "").split():
            self.plots.append(a.get("id") or "")
        if tag == "script":
            self.scripts += 1
            self._in_figure = a.get("data-figure")
        if tag == "link":
            self.links += 1

    def handle_data(self, data: str) -> None:
        if self._in_figure:
            self.figure_json[self._in_figure] = self.figure_json.get(self._in_figure, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_figure = None


@pytest.fixture(scope="module")
def demo_model():
    return load_demo_model()


@pytest.fixture(scope="module")
def plain_report(demo_model) -> str:
    return report_html(demo_model, threshold=0.3, title="Demo review", source_label="demo")


@pytest.fixture(scope="module")
def scored_report(demo_model) -> str:
    return report_html(
        demo_model,
        threshold=0.3,
        title="Demo review",
        source_label="demo",
        scored=scored_demo_file(demo_model),
    )


def check_self_contained(html: str, n_figures: int) -> Parsed:
    parsed = Parsed(html)
    assert html.count(get_plotlyjs()[:2000]) == 1, "Plotly's JavaScript must be inlined exactly once"
    assert len(parsed.plots) == n_figures
    assert len(set(parsed.plots)) == n_figures
    assert sorted(parsed.figure_json) == sorted(parsed.plots)  # one JSON figure per div, and no other
    for text in parsed.figure_json.values():
        assert json.loads(text)["data"], "every figure has traces"
    assert parsed.scripts == n_figures + 2  # the figures, Plotly's JS, the loader
    # no request can leave the file: every src/href is an in-page anchor; no <link>, no CSS url()
    assert all(u.startswith("#") for u in parsed.urls), [u for u in parsed.urls if not u.startswith("#")]
    assert parsed.links == 0
    style = html[html.index("<style>") : html.index("</style>")]
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert len(html.encode()) < 6 * MB
    return parsed


def test_demo_report_without_features(plain_report):
    parsed = check_self_contained(plain_report, DEMO_FIGURES)
    assert parsed.sections == SECTIONS
    assert "Demo review" in plain_report
    assert "illustrative" in plain_report
    assert "98.2%" in plain_report  # float32 accuracy on the validation set
    assert "Cortex-M4F 80MHz" in plain_report  # the default MCU
    assert "strictly greater than 0.3" in plain_report


def test_demo_report_with_features(demo_model, scored_report):
    parsed = check_self_contained(scored_report, DEMO_FIGURES + SCORING_FIGURES)
    assert parsed.sections == [*SECTIONS, "scoring"]
    scores = scored_demo_file(demo_model).scores
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", scored_report))
    assert f"Anomalies {scores.count_anomalies(0.3)} score &gt; 0.3" in text
    assert "Rows 595" in text
    assert "Unscorable rows 3" in text
    # the top anomalies table starts with the highest score
    top = int(scores.top_indices(1)[0])
    first_row = re.search(r"<tbody><tr><td>(\d+)</td><td>([\d.]+)</td>", scored_report)
    assert first_row and int(first_row.group(1)) == top
    assert float(first_row.group(2)) == pytest.approx(float(scores.score[top]), rel=1e-3)
    # the scored rows are drawn on the cluster map too
    cluster_map = json.loads(parsed.figure_json[parsed.plots[0]])
    assert {"file: normal", "file: anomaly"} <= {t.get("name") for t in cluster_map["data"]}


def test_report_threshold_is_the_one_given(demo_model):
    html = report_html(demo_model, threshold=1.5, title="t", source_label="s", scored=scored_demo_file(demo_model))
    scores = scored_demo_file(demo_model).scores
    assert "strictly greater than 1.5" in html
    assert f"{scores.count_anomalies(1.5)} anomalies" in html or f"{scores.count_anomalies(1.5)} anomaly" in html
    assert "Normal vs anomaly at 1.5" in html


def test_text_from_metadata_is_escaped_never_rendered():
    model = load_metadata(hostile_demo_metadata())
    html = report_html(model, threshold=0.3, title="<i>t</i>", source_label="<b>src</b>")
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "**bold**" in html and "<strong>bold</strong>" not in html  # markdown stays literal
    assert "<script>window.__injected" not in html  # neither in the page nor inside a figure's JSON
    assert "&lt;i&gt;t&lt;/i&gt;" in html and "&lt;b&gt;src&lt;/b&gt;" in html
    parsed = check_self_contained(html, DEMO_FIGURES)  # no script element was broken out of
    latency = json.loads(parsed.figure_json[parsed.plots[3]])
    assert any("window.__injected='mcu'" in str(t.get("y")) for t in latency["data"])  # the name is there, as data
    matrix = json.loads(parsed.figure_json[parsed.plots[1]])
    assert matrix["layout"]["title"]["text"] == "Confusion matrix (&lt;a href='https://evil.example'&gt;int8&lt;/a&gt;)"


def test_a_bare_model_gets_a_short_report_that_says_what_is_missing():
    model = load_metadata(tiny_metadata())
    html = report_html(model, threshold=0.4, title="tiny", source_label="tiny.json")
    parsed = check_self_contained(html, 1)  # the cluster map only
    assert parsed.sections == BARE_SECTIONS  # no validation windows: no guarantee
    assert "carries no validation metrics" in html
    assert "no on-device estimates" in html
    assert "no file was scored" in html


def test_non_finite_threshold_is_refused(demo_model):
    with pytest.raises(UsageError, match="finite"):
        report_html(demo_model, threshold=float("nan"), title="t", source_label="s")


def test_report_filename_is_safe():
    assert report_filename("Continuous motion (demo)") == "anomaly-report-continuous-motion-demo.html"
    assert report_filename("../../etc/passwd") == "anomaly-report-etc-passwd.html"
    assert report_filename("***") == "anomaly-report-model.html"


# --- CLI ------------------------------------------------------------------------------------------

META = DEMO_DIR / "metadata.json"


def run(*args):
    return run_cli("report", *args)


def run_process(*args):
    """`python -m ei_anomaly report ...` in a new interpreter, as a user types it."""
    proc = subprocess.run(
        [sys.executable, "-m", "ei_anomaly", "report", *map(str, args)], cwd=ROOT, capture_output=True, timeout=120
    )
    assert b"Traceback" not in proc.stderr
    return proc


@pytest.mark.slow
def test_cli_report_with_features(tmp_path, demo_model):
    """A real process on purpose: the report as a user makes it, with Plotly and Jinja2 imported
    by the command itself (the core starts without them) and the file complete before `os._exit`."""
    out = tmp_path / "review.html"
    proc = run_process(META, "-o", out, "--features", ANOMALY_SESSION_CSV, "--threshold", "0.5", "--title", "Q3 review")
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    parsed = check_self_contained(html, DEMO_FIGURES + SCORING_FIGURES)
    assert parsed.sections == [*SECTIONS, "scoring"]
    assert "<title>Q3 review</title>" in html
    assert "illustrative" in html  # the bundled demo is recognised
    assert "accX RMS" in html  # ... and gets its axis names
    n = scored_demo_file(demo_model).scores.count_anomalies(0.5)
    assert f"595 rows, {n} anomalies (score > 0.5), 3 unscorable" in proc.stderr.decode()
    assert [p.name for p in tmp_path.iterdir()] == ["review.html"]


def test_cli_report_of_a_plain_metadata_file(tmp_path):
    meta = tmp_path / "tiny.json"
    meta.write_text(json.dumps(tiny_metadata()))
    out = tmp_path / "r.html"
    proc = run(meta, "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert "illustrative" not in html
    assert "Anomaly model review: tiny" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "nope.csv"], "error: features: cannot read nope.csv"),
        (["--features", META], "error: features: cannot parse the CSV"),
        (["--threshold", "nan"], "error: argument --threshold: must be a finite number"),
    ],
)
def test_cli_errors_exit_2_and_leave_the_old_file_alone(tmp_path, args, message):
    out = tmp_path / "report.html"
    out.write_text("the previous report")
    proc = run(META, "-o", out, *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert out.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no .part left behind


def test_cli_bad_metadata_and_bad_output_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = run(bad, "-o", tmp_path / "r.html")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: metadata: not valid JSON")
    assert not (tmp_path / "r.html").exists()
    proc = run(META, "-o", tmp_path)
    assert proc.returncode == 2 and "is a folder" in proc.stderr
    assert run(META).returncode == 2  # -o is required


@pytest.mark.slow
def test_the_core_does_not_import_plotly_to_start():
    """A new interpreter on purpose: what importing the CLI imports."""
    code = "import sys, ei_anomaly.cli; print('plotly' in sys.modules, 'jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# --- the app --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()


def test_overview_offers_the_report_at_the_shared_threshold_with_the_upload(fresh_caches):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    assert [b.label for b in at.get("download_button")][-1] == "Download this view"
    assert "Report at threshold 0.3; score a file" in " ".join(c.value for c in at.caption)
    at = at.switch_page("pages/scoring.py").run()
    at.file_uploader[0].set_value(("session.csv", ANOMALY_SESSION_CSV.read_bytes(), "text/csv")).run()
    at.slider[0].set_value(0.8).run()
    at = at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert "Report at threshold 0.8; with your last scored upload." in " ".join(c.value for c in at.caption)


def test_the_report_button_builds_nothing_until_clicked(fresh_caches, monkeypatch):
    import components.report_download as button

    calls = []
    monkeypatch.setattr(button, "Review", lambda *a, **k: calls.append(1) or "")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.run()
    assert not at.exception
    assert calls == [], "the report must be built on click, not on every rerun"


def test_a_big_file_keeps_the_report_small_and_says_what_is_drawn(demo_model):
    import numpy as np
    import pyarrow as pa

    from ei_anomaly.features import FeatureTable
    from ei_anomaly.score_views import ENVELOPE_COLUMNS, FLAGGED_CAP

    rng = np.random.default_rng(1)
    columns = {f"f{i}": rng.normal(1.5, 1.5, 60_000) for i in range(23)}
    table = FeatureTable(pa.table(columns), list(columns), "big.csv")
    scored = ScoredFile.score(table, demo_model, map_columns(table, demo_model), "big.csv", "big")
    n_flagged = scored.flagged(0.3).total
    assert n_flagged > FLAGGED_CAP  # random data: most rows are anomalies
    html = report_html(demo_model, threshold=0.3, title="t", source_label="s", scored=scored)
    parsed = check_self_contained(html, DEMO_FIGURES + SCORING_FIGURES)
    timeline = json.loads(parsed.figure_json[parsed.plots[-1]])

    def points(trace: dict) -> int:  # plotly sends numpy arrays as base64 typed arrays
        y = trace["y"]
        return len(base64.b64decode(y["bdata"])) // np.dtype(y["dtype"]).itemsize if isinstance(y, dict) else len(y)

    assert points(timeline["data"][0]) <= 2 * ENVELOPE_COLUMNS
    marked = points(timeline["data"][1])
    assert marked <= FLAGGED_CAP
    assert f"{marked:,} of the {n_flagged:,} anomalies are marked: the highest in each marker-sized patch" in html
    assert len(html) < 6_000_000


def test_without_validation_the_file_feeds_the_threshold_section_once(tmp_path):
    model = load_metadata(tiny_metadata())
    csv = tmp_path / "f.csv"
    csv.write_text("a,b,c\n" + "".join(f"{i % 7},{i % 5},{i % 3}\n" for i in range(50)))
    table = read_feature_file(csv)
    mapping = map_columns(table, model)
    scored = ScoredFile.score(table, model, mapping, "f.csv", "f")
    html = report_html(model, threshold=0.4, title="tiny", source_label="tiny.json", scored=scored)
    parsed = check_self_contained(html, 3)  # cluster map, the file's histogram (in Threshold), its timeline
    assert parsed.sections == [*BARE_SECTIONS, "scoring"]
    assert "Scores from 50 scored rows of f.csv (no labels)" in html
    titles = [json.loads(parsed.figure_json[p])["layout"]["title"]["text"] for p in parsed.plots]
    assert titles[1:] == ["Score distribution", "Score along the file"]


# --- drift between the report and the other views (each failed before the review moved to the core) ---


def test_cli_report_says_the_mapping_in_words_as_score_does(tmp_path, demo_model):
    proc = run(META, "-o", tmp_path / "r.html", "--features", ANOMALY_SESSION_CSV)
    assert proc.returncode == 0, proc.stderr
    how = map_columns(read_feature_file(ANOMALY_SESSION_CSV), demo_model).how
    stderr = proc.stderr
    assert f"mapping: {how}" in stderr
    assert "ColumnMapping(" not in stderr


def test_cli_report_keeps_an_edited_demo_block_as_it_is(tmp_path):
    """Metadata that scores as the demo does but whose threshold and description were edited is
    reported as it is, with the demo's axis names: never swapped for the bundled file."""
    edited = copy.deepcopy(demo_files()["metadata"])
    anomaly = next(t for t in edited["thresholds"] if t["key"] == "min_anomaly_score")
    anomaly.update(value=0.75, description="Edited by the review team")
    meta = tmp_path / "edited.json"
    meta.write_text(json.dumps(edited))
    proc = run(meta, "-o", tmp_path / "r.html")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "r.html").read_text()
    assert "Edited by the review team" in html
    assert "This report uses <strong>0.75</strong>" in html
    assert "accX RMS" in html  # the same block: the demo's axis names apply
    assert "Anomaly model review: edited" in html  # not the demo's title: it is not the bundled file


def test_a_block_value_that_is_no_number_is_reported_as_the_block_says_it():
    model = load_metadata(tiny_metadata(thresholds=[{"key": "min_anomaly_score", "value": "auto"}]))
    html = report_html(model, threshold=0.5, title="t", source_label="s")
    assert "block value auto" in html

"""One review, three renderings, the same numbers: the pages (AppTest), the HTML report and
`report --format json`, for the demo K-means block at a moved threshold, with the demo's anomaly
session uploaded and the demo fleet log under the Fleet page's smoothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ei_anomaly.cli import main
from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV
from tests.support.apptest import goto, metric, no_problems

THRESHOLD = 0.5  # not the block's own 0.3: every rendering must follow the reviewed threshold
TILE = re.compile(r'<div class="label">([^<]+)</div>\s*<div class="value"[^>]*>([^<]+)</div>')


def report(tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / f"review.{fmt}"
    argv = ["report", str(DEMO_DIR / "metadata.json"), "-o", str(out), "--format", fmt]
    argv += ["--threshold", str(THRESHOLD), "--features", str(ANOMALY_SESSION_CSV)]
    argv += ["--fleet", str(FLEET_LOG_CSV), "--smooth", "10:7"]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def renderings(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    snapshot = json.loads(report(tmp, "json").read_text())
    html = report(tmp, "html").read_text()
    return snapshot, html


def tiles(html: str, section: str) -> dict[str, str]:
    """The report's tiles (label -> shown value) in one section."""
    start = html.index(f'<section id="{section}">')
    body = html[start : html.index("</section>", start)]
    return {label: value.strip() for label, value in TILE.findall(body)}


@pytest.fixture(scope="module")
def pages():
    """What the pages show for the same inputs, read once: Scoring, Thresholds, Fleet, Overview."""
    from tests.support.apptest import clear_streamlit_caches, score_demo_csv, start_app

    clear_streamlit_caches()
    at = score_demo_csv(start_app())
    at.slider[0].set_value(THRESHOLD).run()
    no_problems(at)
    shown = {"scoring": {m.label: m.value for m in at.metric}}
    at = goto(at, "thresholds")
    no_problems(at)
    shown["thresholds"] = {m.label: m.value for m in at.metric}
    at = goto(at, "fleet")
    at.radio(key="fleet_source").set_value("Demo fleet log").run()
    no_problems(at)
    assert at.slider[0].value == pytest.approx(THRESHOLD)  # the shared threshold
    shown["fleet"] = {m.label: m.value for m in at.metric}
    at = goto(at, "overview")
    shown["overview"] = {"Clusters": metric(at, "Clusters")}
    return shown


def test_the_snapshot_says_what_it_is_of(renderings):
    snapshot, _ = renderings
    assert snapshot["threshold"] == THRESHOLD
    assert snapshot["block"]["kind"] == "anomaly" and len(snapshot["block"]["fingerprint"]) == 16
    assert snapshot["policy"] == "smoothing 10:7, no cool-down"
    assert snapshot["anomaly_lens"]["version"]
    assert snapshot["fleet"]["policy"].startswith(f"threshold {THRESHOLD:g}, smoothing 10:7")


def test_the_scored_file_the_same_on_the_page_in_the_report_and_in_json(renderings, pages):
    snapshot, html = renderings
    s = snapshot["scoring"]
    page, shown = pages["scoring"], tiles(html, "scoring")
    assert page["Rows"] == shown["Rows"] == f"{s['rows']:,}" == "595"
    assert page["Anomalies"] == shown["Anomalies"] == f"{s['anomalies']:,}"
    assert page["Unscorable rows"] == shown["Unscorable rows"] == f"{s['unscorable']:,}" == "3"
    assert page["Anomaly rate"] == f"{s['anomaly_rate']:.1%}"
    assert shown["Anomaly rate"] == f"{s['anomaly_rate'] * 100:.1f}%"
    assert s["threshold"] == THRESHOLD and 0 < s["anomalies"] < s["rows"]


def test_the_threshold_decision_the_same_everywhere(renderings, pages):
    snapshot, html = renderings
    t = snapshot["tuning"]
    labelled = t["labelled"]
    page, shown = pages["thresholds"], tiles(html, "threshold")
    assert page["Flagged as anomaly"] == f"{t['scores']['flagged']:,} / {t['scores']['count']:,}"
    assert (
        page["Precision"] == f"{labelled['precision']:.0%}"
        and shown["Precision"] == f"{labelled['precision'] * 100:.0f}%"
    )
    assert page["Recall"] == f"{labelled['recall']:.0%}" and shown["Recall"] == f"{labelled['recall'] * 100:.0f}%"
    assert page["False alarms"] == shown["False alarms"] == str(labelled["false_positives"])
    assert f"{t['scores']['flagged']:,}</span> of {t['scores']['count']:,} above the threshold" in html


def test_the_fleet_the_same_everywhere(renderings, pages):
    snapshot, html = renderings
    f = snapshot["fleet"]
    page, shown = pages["fleet"], tiles(html, "fleet")
    assert page["Devices"] == shown["Devices"] == f"{f['devices']:,}" == "36"
    assert page["Alarms"] == shown["Alarms"] == f"{f['alarms']:,}"
    assert page["Alarms per device per day"] == shown["Alarms per device per day"]
    assert page["Alarms per device per day"] == f"{f['alarms_per_device_per_day']:.3g}"
    assert page["Devices alarming daily"] == shown["Devices alarming daily"] == f"{f['devices_alarming_daily']:,}"


def test_the_card_the_same_everywhere(renderings, pages):
    snapshot, html = renderings
    card = snapshot["card"]
    assert pages["overview"]["Clusters"] == str(card["clusters"]) == "32"
    assert tiles(html, "summary")["Anomaly threshold"] == f"{THRESHOLD:.4g}"
    assert f"{card['accuracy'] * 100:.1f}%" == tiles(html, "summary")["Accuracy"]


PARITY_ROW = re.compile(r"<tr><td>([^<]+)</td><td>([\d,]+)</td><td>([\d,]+)</td>")


@pytest.fixture(scope="module")
def moved_export(tmp_path_factory):
    """The demo block's deployment export with one centre moved: block B of a comparison."""
    from ei_anomaly.blocks import load_block
    from tests.support import exports

    block = load_block(DEMO_DIR / "metadata.json")
    files = exports.kmeans_metadata(block)
    name = "model-parameters/anomaly_metadata.h"
    first_centre = f"{float(block.centers[0][0]):.17g}"
    files[name] = files[name].replace(first_centre, f"{float(block.centers[0][0]) + 0.25:.17g}", 1)
    return exports.write_export(tmp_path_factory.mktemp("export") / "firmware", files, zipped=True)


def test_the_parity_of_two_blocks_the_same_on_compare_in_the_report_and_in_json(tmp_path, moved_export):
    """A: the demo block; B: its export with a moved centre. Each compared part, and how many of its
    numbers differ, as the Compare page, the HTML report and the JSON show them."""
    from tests.support.apptest import clear_streamlit_caches, start_app

    base = ["report", str(DEMO_DIR / "metadata.json"), "--compare", str(moved_export)]
    assert main([*base, "-o", str(tmp_path / "r.json"), "--format", "json"]) == 0
    assert main([*base, "-o", str(tmp_path / "r.html")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())["parity"]
    in_json = {p["part"]: (p["values"], p["differing"]) for p in data["parts"]}
    html = (tmp_path / "r.html").read_text()
    in_html = {part: (int(n.replace(",", "")), int(d.replace(",", ""))) for part, n, d in PARITY_ROW.findall(html)}
    clear_streamlit_caches()
    at = goto(start_app(), "compare")
    at.radio(key="compare_source").set_value(at.radio(key="compare_source").options[-1]).run()
    at.file_uploader(key="compare_files").set_value([("firmware.zip", moved_export.read_bytes(), "application/zip")])
    at.run()
    no_problems(at)
    frame = next(f.value for f in at.dataframe if "compared" in f.value.columns)
    on_page = {row["compared"]: (int(row["values"]), int(row["differ"])) for _, row in frame.iterrows()}
    assert in_json == in_html == on_page
    assert in_json["centers"] == (96, 1) and in_json["scores on 2,000 probe rows"][1] > 0
    assert data["same"] is False and not in_json["maxError"][1]

"""`Review`: one snapshot of a block's review, rendered as HTML, in a notebook and as JSON."""

from __future__ import annotations

import html as html_lib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ei_anomaly import Review
from ei_anomaly.alarms import FleetPolicy, Smoothing, simulate
from ei_anomaly.alarms.log_file import FleetFile, read_fleet_file
from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV, GMM_DEMO_DIR
from ei_anomaly.errors import MetadataError
from ei_anomaly.review import NamedLog
from tests.support.constants import ROOT
from tests.support.report import scored_demo_file

SECTIONS = ["card", "map", "validation", "on_device", "tuning", "scoring", "fleet", "comparison", "fleet_comparison"]


@pytest.fixture(scope="module")
def full_review() -> Review:
    return Review(
        DEMO_DIR / "metadata.json",
        0.4,
        features=ANOMALY_SESSION_CSV,
        fleet=FLEET_LOG_CSV,
        policy="10:7",
        compare=GMM_DEMO_DIR,
    )


def test_every_section_is_in_the_json_and_the_json_is_strict(full_review):
    data = full_review.to_dict()
    assert [k for k in data if k in SECTIONS] == SECTIONS
    assert all(data[k] is not None for k in SECTIONS)
    text = json.dumps(data, allow_nan=False)  # NaN would not be JSON a pipeline can read
    assert json.loads(text) == data
    assert data["comparison"]["b"]["title"] == "GMM anomaly block"
    assert data["fleet_comparison"]["policy"] == "smoothing 10:7, no cool-down"


def test_the_snapshot_is_computed_once(full_review):
    assert full_review.snapshot is full_review.snapshot
    first = full_review.to_dict()
    assert full_review.to_dict() == first


def test_the_numbers_are_the_cores_run_directly(full_review):
    data = full_review.to_dict()
    scored = scored_demo_file(full_review.inputs.block)
    assert data["scoring"]["anomalies"] == scored.scores.count_anomalies(0.4)
    log = read_fleet_file(FleetFile(FLEET_LOG_CSV), full_review.inputs.block).log
    result = simulate(log, FleetPolicy(Smoothing(10, 7)).at(0.4))
    assert data["fleet"]["alarms"] == result.total_alarms
    assert data["fleet"]["alarms_per_device_per_day"] == pytest.approx(result.fleet_rate)


def test_loaded_objects_give_the_same_review_as_paths(full_review, demo_model):
    log = read_fleet_file(FleetFile(FLEET_LOG_CSV), demo_model).log
    again = Review(
        demo_model,
        0.4,
        features=scored_demo_file(demo_model),
        fleet=NamedLog(FLEET_LOG_CSV.name, log),
        policy=FleetPolicy(Smoothing(10, 7)),
    ).to_dict()
    want = full_review.to_dict()
    for section in ("card", "tuning", "fleet"):
        assert again[section] == want[section]
    assert again["scoring"]["anomalies"] == want["scoring"]["anomalies"]


def test_to_html_and_to_json_write_atomically(full_review, tmp_path):
    page = full_review.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == page and '<section id="fleet-compared">' in page
    text = full_review.to_json(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]


def test_a_gmm_block_is_reviewed_by_the_same_code():
    data = Review(GMM_DEMO_DIR).to_dict()
    assert data["card"]["components"] == 8 and data["block"]["kind_label"] == "GMM"
    assert data["threshold"] == 2.05
    assert [row["component"] for row in data["map"]["components"]] == list(range(8))
    assert data["card"]["exact_to"].startswith("the SDK built for a Linux/x86 runner: LiteRT's reference interpreter")


def test_a_bad_block_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"axes": []}')
    with pytest.raises(MetadataError):
        Review(bad)


def test_the_notebook_view_renders_offline_in_a_plain_python_session(tmp_path):
    """`_repr_html_` in a fresh interpreter (no Jupyter, no Streamlit): one frame holding the whole
    report, Plotly's JavaScript inline, nothing loaded from the network."""
    code = (
        "import sys; from ei_anomaly import Review; "
        f"sys.stdout.write(Review({str(GMM_DEMO_DIR)!r}, features={str(ANOMALY_SESSION_CSV)!r})._repr_html_())"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout's package, run from elsewhere
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout
    assert shown.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in shown
    inner = html_lib.unescape(shown.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert inner.startswith("<!DOCTYPE html>") and "Plotly.newPlot" in inner
    page = inner.split("<script>", 1)[0]  # the report's own markup, before Plotly's inlined JavaScript
    assert "<script src=" not in page and "http://" not in page and "https://" not in page
    assert inner.count('data-figure="figure-') >= 9
    assert "Scoring: session_with_anomalies.csv" in inner
    assert "sys.modules" not in proc.stderr  # nothing warned about


def test_the_report_command_writes_json(tmp_path):
    from ei_anomaly.cli import main

    out = tmp_path / "r.json"
    assert main(["report", str(GMM_DEMO_DIR), "-o", str(out), "--format", "json"]) == 0
    data = json.loads(out.read_text())
    assert data["block"]["kind"] == "anomaly-gmm" and data["scoring"] is None
    scores = np.asarray(data["tuning"]["scores"]["histogram"]["counts"])
    assert scores.sum() == data["tuning"]["scores"]["count"] == 330
    assert main(["report", str(ROOT / "nope.json"), "-o", str(tmp_path / "x.json"), "--format", "json"]) == 2
    assert not (tmp_path / "x.json").exists()

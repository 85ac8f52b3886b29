"""The report's fleet section: present when a fleet log is given (API and `report --fleet`), its
numbers the simulation's, device ids from the log shown as text."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from ei_anomaly.alarms import AlarmPolicy, FleetPolicy, Smoothing, build_fleet_log, simulate
from ei_anomaly.demo import FLEET_LOG_CSV
from ei_anomaly.review import NamedLog
from tests.support.cli import run_cli
from tests.support.constants import ROOT
from tests.support.fleet import demo_fleet_log
from tests.support.report import DEMO_FIGURES, report_html

META = ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json"


def figure_count(html: str) -> int:
    return len(re.findall(r'<script type="application/json" data-figure=', html))


def test_the_fleet_section_shows_the_policy_outcome(demo_model):
    log = demo_fleet_log()
    result = simulate(log, AlarmPolicy(0.3, Smoothing(4, 3), 1800))
    html = report_html(
        demo_model,
        threshold=0.3,
        title="t",
        source_label="s",
        fleet=NamedLog("fleet.csv", log),
        policy=FleetPolicy(Smoothing(4, 3), 1800),
    )
    assert '<section id="fleet">' in html and 'href="#fleet"' in html
    assert figure_count(html) == DEMO_FIGURES + 2  # the device-by-time grid and the alarms-per-day curve
    assert f'<div class="value">{result.total_alarms:,}</div>' in html
    assert "smoothing 4:3" in html and "cool-down 1800 s" in html
    worst = result.devices[int(result.worst_first()[0])]
    assert f"<tr><td>{worst}</td>" in html
    assert "And 16 more devices" in html  # 36 devices, 20 in the table


def test_without_a_fleet_there_is_no_section(demo_model):
    html = report_html(demo_model, threshold=0.3, title="t", source_label="s")
    assert 'id="fleet"' not in html and figure_count(html) == DEMO_FIGURES


def test_device_ids_from_the_log_stay_text(demo_model):
    devices = pa.array(["<img src=x onerror=alert(1)>", "ok"] * 5)
    log = build_fleet_log(np.linspace(0, 1, 10, dtype=np.float32), devices, pa.array(np.arange(10.0) * 3600))
    html = report_html(
        demo_model,
        threshold=0.3,
        title="t",
        source_label="s",
        fleet=NamedLog("<b>f</b>", log),
    )
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>f</b>" not in html


def test_report_command_with_a_fleet_log(tmp_path):
    out = tmp_path / "r.html"
    command = ["report", META, "-o", out, "--fleet", FLEET_LOG_CSV, "--smooth", "4:3"]
    proc = run_cli(*command)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    expected = simulate(demo_fleet_log(), AlarmPolicy(0.3, Smoothing(4, 3)))
    assert "Fleet: fleet_log.csv" in html and f'<div class="value">{expected.total_alarms:,}</div>' in html
    bad = run_cli(*command[:-1], "9:10")
    assert bad.returncode == 2 and "between 1 and n readings" in bad.stderr

"""One review, three renderings, the same numbers: the pages (AppTest), the HTML report and
`report --format json`, for the demo K-means block at a moved threshold, with the demo's anomaly
session uploaded, the demo fleet log under the Fleet page's smoothing and alarm budget, and the
demo's normal session for the false-alarm guarantee; and `ei-anomaly threshold` on the same
normal session gives the guarantee's numbers too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ei_anomaly.cli import main
from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV, NORMAL_SESSION_CSV
from ei_anomaly.review.guarantee import percent
from tests.support.apptest import goto, metric, no_problems
from tests.support.cli import run_cli

THRESHOLD = 0.5  # not the block's own 0.3: every rendering must follow the reviewed threshold
BUDGET = 1.0  # alarms per device per day: the Fleet page's default budget
TILE = re.compile(r'<div class="label">([^<]+)</div>\s*<div class="value"[^>]*>([^<]+)</div>')


def report(tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / f"review.{fmt}"
    argv = ["report", str(DEMO_DIR / "metadata.json"), "-o", str(out), "--format", fmt]
    argv += ["--threshold", str(THRESHOLD), "--features", str(ANOMALY_SESSION_CSV)]
    argv += ["--fleet", str(FLEET_LOG_CSV), "--smooth", "10:7", "--budget", str(BUDGET)]
    argv += ["--normal", str(NORMAL_SESSION_CSV), "--fpr", "0.01", "--confidence", "0.95"]
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
    at.radio(key="thresholds_normal_source").set_value("A file of normal operation").run()
    at.button(key="thresholds_normal_demo").click().run()  # the demo's normal session
    no_problems(at)
    shown["guarantee"] = {m.label: m.value for m in at.metric}
    shown["guarantee_text"] = [s.value for s in at.success] + [m.value for m in at.markdown]
    at = goto(at, "fleet")
    at.radio(key="fleet_source").set_value("Demo fleet log").run()
    no_problems(at)
    assert at.slider[0].value == pytest.approx(THRESHOLD)  # the shared threshold
    shown["fleet"] = {m.label: m.value for m in at.metric}
    shown["fleet_text"] = [c.value for c in at.caption]
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


@pytest.fixture(scope="module")
def command():
    """`ei-anomaly threshold` on the same normal session, with the reviewed threshold to bound."""
    argv = ["threshold", DEMO_DIR / "metadata.json", NORMAL_SESSION_CSV, "--fpr", "0.01", "--confidence", "0.95"]
    argv += ["--threshold", THRESHOLD]
    as_json, as_text = run_cli(*argv, "--json"), run_cli(*argv)
    assert as_json.returncode == as_text.returncode == 0, as_json.stderr
    return json.loads(as_json.stdout), as_text.stdout.splitlines()


def unescaped(text: str) -> str:
    """Text as shown on the page (markdown escapes removed)."""
    return text.replace("\\", "")


def test_the_guarantee_the_same_on_the_page_in_the_report_in_json_and_from_the_command(renderings, pages, command):
    snapshot, html = renderings
    g = snapshot["guarantee"]
    out, lines = command
    page, shown = pages["guarantee"], tiles(html, "guarantee")
    assert g["source"] == "file" and "normal_session.csv" in g["origin"] and g["unit"] == out["unit"] == "every window"
    # the threshold: the same float32 everywhere, printed as the same shortest decimal
    assert page["Guaranteed threshold"] == shown["Guaranteed threshold"] == g["threshold_text"]
    assert lines[0] == f"threshold {g['threshold_text']}"
    assert np.float32(out["threshold"]) == np.float32(g["threshold"]) == np.float32(float(g["threshold_text"]))
    assert out["m"] == g["m"] == 2 and f"the 3rd largest of {g['n']:,} normal windows" in unescaped(
        pages["guarantee_text"][0]
    )
    assert page["Normal windows"] == shown["Normal windows"] == f"{g['n']:,}" == f"{out['n']:,}" == "650"
    assert page["n needed"] == shown["n needed"] == f"{g['needed']:,}" == f"{out['needed']:,}" == "299"
    # the reviewed threshold's bound
    at = g["at_threshold"]
    assert at["threshold"] == out["at_threshold"]["threshold"] == THRESHOLD
    assert page["Bound at the threshold"] == shown["Bound at the threshold"] == percent(at["upper_bound"])
    assert at == out["at_threshold"]
    said = f"At {THRESHOLD:g}: {at['above']:,} of {at['n']:,} normal windows above; false-alarm rate <= "
    said += f"{percent(at['upper_bound'])} with 95% confidence."
    assert said in [unescaped(t) for t in pages["guarantee_text"]] and said in html.replace("&lt;", "<")
    assert lines[-1] == said[0].lower() + said[1:]
    # the achieved bound and m's probability, in JSON and from the command
    for key in ("upper_bound", "exceed_probability", "above", "rank"):
        assert g[key] == out[key], key


def test_the_fleets_interval_and_bound_budget_the_same_everywhere(renderings, pages):
    snapshot, html = renderings
    f = snapshot["fleet"]
    interval = f["alarms_per_device_per_day_interval"]
    page, shown = pages["fleet"], tiles(html, "fleet")
    assert page["95% interval"] == shown["95% interval"] == f"{interval['low']:.3g} – {interval['high']:.3g}"
    assert interval["replicates"] >= 1_000 and interval["resampled"] == 36 and interval["seed"] == 0
    bound = f["lowest_threshold_by_upper_bound"]
    assert f["budget_per_device_per_day"] == BUDGET and bound["upper_bound_per_device_per_day"] <= BUDGET
    caption = next(c for c in pages["fleet_text"] if "on the upper bound" in c)
    assert f"**{bound['threshold']:.6g}** on the upper bound" in caption
    assert f"**{f['lowest_threshold']:.6g}** on the point estimate" in caption
    assert f"<strong>{bound['threshold']:.6g}</strong>" in html


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

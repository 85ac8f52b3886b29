"""Issue 17: outside text stays text wherever it lands, ranges read are ranges written, limits count
what they say. One test (or small group) per reproduced defect; each failed on the code before its fix."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ei_anomaly import load_metadata
from ei_anomaly.client import EdgeImpulseClient
from ei_anomaly.deploy import DeploySettings, resolve_endpoint
from ei_anomaly.errors import AnomalyLensError, ApiError, FeatureFileError, MetadataError
from ei_anomaly.evaluation import threshold_exports
from ei_anomaly.features import map_columns, read_feature_file
from ei_anomaly.features.spreadsheet import csv_ready
from ei_anomaly.limits import Limits
from ei_anomaly.metadata import parse_metadata
from ei_anomaly.scored_file import ScoredFile
from tests.support.cli import CliResult, run_cli
from tests.support.constants import API_KEY, BLOCK_ID, PROJECT_ID, ROOT, free_port, tiny_metadata

DEMO = ROOT / "ei_anomaly" / "data" / "demo"
FIGURE_SCRIPT = re.compile(r'<script type="application/json" data-figure="([^"]+)">(.*?)</script>', re.S)


def run(*args: object, key: str | None = None) -> CliResult:
    return run_cli(*args, env={"EI_API_KEY": key})


def markup_outside_templates(node: object, path: str = "") -> list[str]:
    """Every string of a figure's JSON that Plotly would parse as markup: any `<` outside the
    templates (hovertemplate, texttemplate), which are the code that formats the data."""
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if not str(k).endswith("template"):
                found += markup_outside_templates(v, f"{path}.{k}")
    elif isinstance(node, list):
        for v in node:
            found += markup_outside_templates(v, path)
    elif isinstance(node, str) and "<" in node:
        found.append(f"{path}: {node[:80]}")
    return found


# --- 1. text a chart uses as data is text, in the offline report too --------------------------


def hostile_session(tmp_path: Path) -> Path:
    lines = (DEMO / "session_with_anomalies.csv").read_text().splitlines()
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        stamp = (
            f'"<a href=""http://127.0.0.1:9/{i}"">t{i}</a>"'
            if i % 2
            else f'"<span style=""background:url(http://127.0.0.1:9/s{i})"">t{i}</span>"'
        )
        out.append(stamp + line[line.index(",") :])
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def test_chart_data_from_a_feature_file_reaches_the_report_as_text(tmp_path, demo_model):
    from tests.support.report import report_html

    path = hostile_session(tmp_path)
    table = read_feature_file(path)
    scored = ScoredFile.score(table, demo_model, map_columns(table, demo_model), path.name, str(path))
    html = report_html(demo_model, threshold=0.3, title="t", source_label="s", scored=scored)
    figures = {fid: json.loads(text) for fid, text in FIGURE_SCRIPT.findall(html)}
    assert len(figures) >= 9
    markup = [m for fig in figures.values() for m in markup_outside_templates(fig)]
    assert not markup, markup[:5]
    timeline = figures[max(figures, key=lambda f: int(f.split("-")[1]))]
    xs = [x for trace in timeline["data"] for x in trace.get("x", []) if isinstance(x, str)]
    assert '&lt;a href="http://127.0.0.1:9/1"&gt;t1&lt;/a&gt;' in xs


def test_safe_figure_escapes_every_text_property_and_keeps_templates():
    import plotly.graph_objects as go

    from ei_anomaly.figures.text import safe_figure

    bad = '<a href="http://127.0.0.1:9/x">x</a>'
    fig = go.Figure(
        go.Scatter(
            x=[bad, "b"],
            y=[1, 2],
            name=bad,
            text=[bad, bad],
            hovertext=bad,
            customdata=np.array([[bad], ["ok"]], dtype=object),
            hovertemplate="%{x}<br>%{customdata[0]}<extra></extra>",
        )
    )
    fig.add_annotation(text=bad, x=0, y=0)
    fig.update_layout(
        title=bad, xaxis={"title": bad, "tickvals": [0], "ticktext": [bad], "categoryarray": [bad]}, meta=bad
    )
    out = safe_figure(fig)
    assert not markup_outside_templates(out)
    assert out["data"][0]["hovertemplate"] == "%{x}<br>%{customdata[0]}<extra></extra>"
    assert out["data"][0]["x"][0] == '&lt;a href="http://127.0.0.1:9/x"&gt;x&lt;/a&gt;'
    assert out["data"][0]["y"] == [1, 2] or list(out["data"][0]["y"]) == [1, 2]
    assert fig.data[0].name == bad, "the figure given is left as it was"


# --- 3. the Linux-runner command is quoted for the shell ----------------------------------------


@pytest.mark.parametrize("key", ["min_anomaly_score", "x $(touch /tmp/pwned) `id`; rm -rf ~", "it's"])
def test_runner_override_is_one_shell_word_whatever_the_key(key):
    runner = threshold_exports(BLOCK_ID, key, 0.3)["runner"]
    assert shlex.split(runner) == ["--thresholds", f"{BLOCK_ID}.{key}=0.3"]


# --- 4. spreadsheet-safe CSV: headers and every Arrow text type ---------------------------------


def test_spreadsheet_safe_defuses_headers_and_every_text_encoding():
    cells = ['=HYPERLINK("http://127.0.0.1:9")', "@SUM(A1)", "plain", "-3.5", None]
    table = pa.table(
        {
            "=cmd|' /C calc'!A0": pa.array([1.0, 2.0, 3.0, 4.0, 5.0]),
            "string": pa.array(cells, pa.string()),
            "large": pa.array(cells, pa.large_string()),
            "dictionary": pa.array(cells, pa.string()).dictionary_encode(),
            "view": pa.array(cells, pa.string_view()),
        }
    )
    safe = csv_ready(table, spreadsheet=True)
    assert safe.column_names[0] == "'=cmd|' /C calc'!A0"
    for name in ("string", "large", "dictionary", "view"):
        col = safe.column(safe.column_names[table.column_names.index(name)]).to_pylist()
        assert col == ['\'=HYPERLINK("http://127.0.0.1:9")', "'@SUM(A1)", "plain", "-3.5", None], name
    assert csv_ready(table).column_names == table.column_names  # exact unless asked


def test_score_spreadsheet_safe_defuses_the_header_too(tmp_path):
    lines = (DEMO / "session_with_anomalies.csv").read_text().splitlines()
    path = tmp_path / "f.csv"
    path.write_text("\n".join(["=HYPERLINK(1)" + lines[0][len("timestamp") :], *lines[1:]]) + "\n")
    proc = run("score", DEMO / "metadata.json", path, "--spreadsheet-safe")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith('"\'=HYPERLINK(1)"')


# --- 5. the ranges read are the ranges written ---------------------------------------------------


def set_threshold(base: str, value: str) -> CliResult:
    args = ["set-threshold", "--project-id", PROJECT_ID, "--learn-id", BLOCK_ID, "--base-url", base, f"--value={value}"]
    return run(*args, key=API_KEY)


@pytest.mark.parametrize("value", ["1e39", "-3.5e38"])
def test_set_threshold_refuses_what_float32_cannot_hold(writable_api, value):
    proc = set_threshold(writable_api.base_url, value)
    assert proc.returncode == 2, proc.stderr
    assert "float32" in proc.stderr
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3


def test_the_local_server_refuses_what_float32_cannot_hold(writable_api):
    import requests

    body = {"thresholds": [{"blockId": BLOCK_ID, "key": "min_anomaly_score", "value": 1e39}]}
    body["allowCreatingRegenerateModelTestingJobs"] = False
    url = f"{writable_api.base_url}/api/{PROJECT_ID}/impulse/1/set-thresholds"
    resp = requests.post(url, json=body, headers={"x-api-key": API_KEY}, timeout=10)
    assert resp.status_code == 400 and "float32" in resp.json()["error"]
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3


def test_save_threshold_refuses_what_float32_cannot_hold(writable_api):
    from ei_anomaly.write_back import save_threshold

    client = EdgeImpulseClient(API_KEY, writable_api.base_url)
    with pytest.raises(AnomalyLensError, match="float32"):
        save_threshold(client, PROJECT_ID, BLOCK_ID, "min_anomaly_score", 1e39, False)
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3


# --- 6. every number of the metadata is range-checked where it is parsed ------------------------


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("thresholds[0].suggestedValue", lambda m: m["thresholds"][0].update(suggestedValue=1e300)),
        ("thresholds[0].suggestedValue", lambda m: m["thresholds"][0].update(suggestedValue="1e39")),
        ("defaultMinimumConfidenceRating", lambda m: m.update(defaultMinimumConfidenceRating=-1e300)),
        (
            "modelValidationMetrics[0].report.anomaly.precision",
            lambda m: m.update(modelValidationMetrics=[{"type": "int8", "report": {"anomaly": {"precision": 1e300}}}]),
        ),
        (
            "modelValidationMetrics[0].predictions[0].sampleId",
            lambda m: m.update(modelValidationMetrics=[{"type": "int8", "predictions": [{"sampleId": 2**70}]}]),
        ),
    ],
)
def test_every_number_out_of_range_is_a_metadata_error_naming_its_field(where, change):
    meta = tiny_metadata()
    change(meta)
    with pytest.raises(MetadataError, match=re.escape(f"`{where}`")):
        load_metadata(meta)


# --- 7. limits count what they say ---------------------------------------------------------------


def test_the_text_limit_covers_every_string_keys_included():
    meta = tiny_metadata(modelValidationMetrics=[{"type": "int8", "report": {"x" * 20_000: {"precision": 1.0}}}])
    with pytest.raises(MetadataError, match="ANOMALY_LENS_MAX_TEXT_CHARS"):
        load_metadata(meta)
    meta = tiny_metadata(modelValidationMetrics=[{"type": "int8", "report": {"a": {"note": "y" * 20_000}}}])
    with pytest.raises(MetadataError, match=r"`modelValidationMetrics\[0\]\.report\.a\.note`.*20,000 characters"):
        load_metadata(meta)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(mean=[0.0] * 5_000),
        lambda m: m.update(
            modelValidationMetrics=[
                {"type": "int8", "predictions": [{"sampleId": i, "anomalyScores": [[0.1]]} for i in range(5_000)]}
            ]
        ),
    ],
)
def test_every_array_counts_toward_the_model_size(change):
    meta = tiny_metadata()
    change(meta)
    with pytest.raises(MetadataError, match="ANOMALY_LENS_MAX_MODEL_VALUES"):
        parse_metadata(meta, Limits(model_values=1_000))


# --- 8. credentials inside URLs are never shown --------------------------------------------------


def test_credentials_in_the_configured_base_url_never_reach_a_message():
    settings = DeploySettings.from_sources({"EI_API_BASE_URL": "https://alice:s3cretpw@studio.example.com/v1"})
    with pytest.raises(AnomalyLensError) as caught:
        resolve_endpoint(settings, "k", "https://other.example.com/v1")
    assert "s3cretpw" not in str(caught.value) and "alice" not in str(caught.value)
    assert "s3cretpw" not in repr(settings)


def test_credentials_in_a_base_url_never_reach_an_api_error():
    client = EdgeImpulseClient("k", f"http://alice:s3cretpw@127.0.0.1:{free_port()}/v1", max_retries=0, timeout=2)
    with pytest.raises(ApiError) as caught:
        client.list_projects()
    assert "s3cretpw" not in str(caught.value) and "alice" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


# --- 9. a malformed confusion matrix is a metadata error (exit 2), named -------------------------


def test_a_non_square_confusion_matrix_is_a_metadata_error(tmp_path):
    meta = tiny_metadata(modelValidationMetrics=[{"type": "int8", "confusionMatrix": [[1, 2, 3], [4, 5, 6]]}])
    with pytest.raises(MetadataError, match=re.escape("`modelValidationMetrics[0].confusionMatrix`")):
        load_metadata(meta)
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    proc = run("report", path, "-o", tmp_path / "r.html")
    assert proc.returncode == 2, proc.stderr
    assert "confusionMatrix" in proc.stderr and not (tmp_path / "r.html").exists()


def test_report_renders_the_metadata_it_was_given(tmp_path):
    meta = json.loads((DEMO / "metadata.json").read_text())
    meta["thresholds"][0]["description"] = "Our own <b>words</b>"
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    out = tmp_path / "r.html"
    assert run("report", path, "-o", out).returncode == 0
    html = out.read_text()
    assert "Our own &lt;b&gt;words&lt;/b&gt;" in html


# --- 10. the decoded size of text cells is measured ----------------------------------------------


def test_text_cells_count_at_their_decoded_size(tmp_path):
    path = tmp_path / "text.csv"
    cell = "x" * 100_000
    path.write_text("label,a,b,c\n" + "".join(f"{cell},1,2,3\n" for _ in range(30)))
    with pytest.raises(FeatureFileError, match="ANOMALY_LENS_MAX_DECODED_MB"):
        read_feature_file(path, limits=Limits(decoded_bytes=1024 * 1024))
    assert read_feature_file(path, limits=Limits(decoded_bytes=8 * 1024 * 1024)).table.num_rows == 30


# --- 11. a key HTTP headers cannot carry ---------------------------------------------------------


@pytest.mark.parametrize("key", ["ключ-123", "ei_key\nX-Injected: 1", "del\x7fhere", "ei_ké"])
def test_a_key_headers_cannot_carry_is_a_clear_error_exit_2(key):
    with pytest.raises(AnomalyLensError, match="API key") as caught:
        EdgeImpulseClient(key, "http://127.0.0.1:9/v1")
    assert caught.value.exit_code == 2
    proc = run("blocks", "--project-id", PROJECT_ID, "--base-url", "http://127.0.0.1:9/v1", key=key)
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert err.startswith("error: ") and "API key" in err and len(err.strip().splitlines()) == 1


def test_parsing_leaves_the_given_metadata_unchanged():
    meta = tiny_metadata()
    before = copy.deepcopy(meta)
    load_metadata(meta)
    assert meta == before


# --- a server-wide bound on what visitors' models and uploads hold --------------------------------


def test_held_objects_are_bounded_by_entries_and_bytes_least_recently_used_first():
    from ei_anomaly.held import HeldObjects

    held = HeldObjects(max_entries=3, max_bytes=100)
    assert held.put("a", "A", 40) == [] and held.put("b", "B", 40) == []
    assert held.get("a") == "A"  # a is now the most recently used
    assert held.put("c", "C", 40) == ["b"]  # 120 bytes > 100: the least recently used goes
    assert held.get("b") is None and held.held_bytes == 80
    held.put("d", "D", 1)
    held.put("e", "E", 1)
    assert len(held) == 3 and held.get("a") is None  # 4 entries > 3
    assert held.put("big", "X", 1_000) == ["c", "d", "e"] and held.get("big") == "X"  # held alone
    held.put("t", "T", 1, idle=0)
    assert held.get("t") is None  # unused for its idle time: gone


def test_the_held_limits_come_from_the_environment():
    limits = Limits.from_env({"ANOMALY_LENS_MAX_HELD_ITEMS": "4", "ANOMALY_LENS_MAX_HELD_MB": "100"})
    assert limits.held_items == 4 and limits.held_bytes == 100 * 1024 * 1024


def test_control_characters_from_data_never_reach_the_terminal(tmp_path):
    meta = tiny_metadata(
        modelValidationMetrics=[{"type": "int8", "report": {"\x1b]0;pwned\x07\u202e": {"precision": 1e300}}}]
    )
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    proc = run("report", path, "-o", tmp_path / "r.html")
    assert proc.returncode == 2
    err = proc.stderr
    assert "precision" in err and "\x1b" not in err and "\x07" not in err and "\u202e" not in err, err


def test_bidi_and_control_characters_are_shown_not_obeyed_in_markdown_charts_and_the_report(demo_model):
    import plotly.graph_objects as go

    from components.text import md_escape
    from ei_anomaly.figures.text import safe_figure
    from tests.support.report import report_html

    spoof = "invoice\u202egnp.exe\u202c \x1b[31m"
    assert "\u202e" not in md_escape(spoof) and "\x1b" not in md_escape(spoof)
    assert "u202e" in md_escape(spoof)  # shown, as an escape
    fig = safe_figure(go.Figure(go.Bar(x=[spoof], y=[1], name=spoof)))
    assert "\u202e" not in json.dumps(fig, default=str, ensure_ascii=False)
    meta = json.loads((DEMO / "metadata.json").read_text())
    meta["thresholds"][0]["description"] = spoof
    html = report_html(load_metadata(meta), threshold=0.3, title=spoof, source_label=spoof)
    assert "\u202e" not in html and "\x1b" not in html

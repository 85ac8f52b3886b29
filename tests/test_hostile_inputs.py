"""Hostile and odd-but-valid inputs (issue 9's probe table): each ends in a clear message, in
bounded time and memory, or is read correctly. Nothing here may end in "unexpected failure"."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ei_anomaly import AnomalyLensError, FeatureFileError, MetadataError, load_metadata
from ei_anomaly.features import read_feature_file, scored_csv
from ei_anomaly.limits import MB, Limits
from ei_anomaly.metadata import parse_metadata
from ei_anomaly.review import SourceKind
from tests.support.cli import CliResult, run_cli
from tests.support.constants import ROOT, tiny_metadata


def cli(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """The command in this process, from the repository root as the user's shell would be."""
    return run_cli(*args, env=env, cwd=ROOT)


def write_json(tmp_path: Path, text: str, name: str = "meta.json") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def tiny_text(**extra: object) -> str:
    return json.dumps(tiny_metadata(**extra))


# ---------------------------------------------------------------- limits: configuration


def test_limits_default_and_from_environment():
    assert Limits.from_env({}) == Limits()
    limits = Limits.from_env({"ANOMALY_LENS_MAX_ROWS": "1_000", "ANOMALY_LENS_MAX_METADATA_MB": "2"})
    assert limits.rows == 1000
    assert limits.metadata_bytes == 2 * MB
    with pytest.raises(AnomalyLensError, match="ANOMALY_LENS_MAX_COLUMNS must be a positive whole number"):
        Limits.from_env({"ANOMALY_LENS_MAX_COLUMNS": "lots"})


# ---------------------------------------------------------------- metadata


def nested(depth: int) -> str:
    return tiny_text()[:-1] + ', "extra": ' + "[" * depth + "1" + "]" * depth + "}"


def test_metadata_nested_deeper_than_python_recursion_is_a_metadata_error(tmp_path):
    with pytest.raises(MetadataError, match="nested too deeply"):
        load_metadata(nested(5000).encode())
    run = cli("score", str(write_json(tmp_path, nested(5000))), str(ROOT / "ei_anomaly/data/demo/normal_session.csv"))
    assert run.returncode == 2, run.stderr
    assert "nested too deeply" in run.stderr and "unexpected" not in run.stderr


def test_metadata_nesting_within_reason_is_still_read():
    assert load_metadata(nested(500).encode()).n_clusters == 2


def test_a_5000_digit_integer_is_a_metadata_error(tmp_path):
    key = '"defaultMinimumConfidenceRating": '
    text = tiny_text().replace(key + "0.3", key + "9" * 5000)
    with pytest.raises(MetadataError, match="too long to read"):
        load_metadata(text.encode())
    run = cli("score", str(write_json(tmp_path, text)), str(ROOT / "ei_anomaly/data/demo/normal_session.csv"))
    assert run.returncode == 2 and "too long to read" in run.stderr, run.stderr


def test_axes_beyond_int64_are_a_metadata_error(tmp_path):
    with pytest.raises(MetadataError, match=r"`axes\[0\]`"):
        load_metadata(tiny_metadata(axes=[2**70, 0, 1]))
    run = cli("score", str(write_json(tmp_path, tiny_text(axes=[2**70, 0, 1]))), str(tmp_path / "meta.json"))
    assert run.returncode == 2 and "axes[0]" in run.stderr and "unexpected" not in run.stderr, run.stderr


@pytest.mark.parametrize(
    ("overrides", "field", "what"),
    [
        ({"scale": [1e-50, 2.0, 4.0]}, "scale[0]", "becomes 0"),
        ({"mean": [0.0, 1e39, 2.0]}, "mean[1]", "overflows"),
        ({"clusters": [{"center": [0.0, 0.0, 1e39], "maxError": 0.5}]}, "clusters[0].center[2]", "overflows"),
        (
            {"clusters": [{"center": [0.0, 0.0, 0.0], "maxError": 0.5}, {"center": [0, 0, 0], "maxError": 1e39}]},
            "clusters[1].maxError",
            "overflows",
        ),
    ],
)
def test_values_finite_in_float64_but_not_in_float32_are_refused_by_name(overrides, field, what):
    with pytest.raises(MetadataError, match=f"`{re.escape(field)}`.*{what}"):
        load_metadata(tiny_metadata(**overrides))


def test_a_huge_text_field_is_refused_by_the_text_limit_naming_the_field():
    meta = tiny_metadata()
    meta["thresholds"][0]["description"] = "x" * 1_000_000
    with pytest.raises(MetadataError, match=r"`thresholds\[0\]\.description`.*1,000,000 characters.*10,000"):
        load_metadata(meta)
    raised = parse_metadata(meta, Limits(text_chars=2_000_000))  # a deployer may allow it
    assert len(raised.thresholds[0].description) == 1_000_000


def test_metadata_json_size_and_model_size_are_checked_before_parsing(tmp_path):
    path = write_json(tmp_path, tiny_text())
    with pytest.raises(MetadataError, match="ANOMALY_LENS_MAX_METADATA_MB"):
        parse_metadata(path, Limits(metadata_bytes=100))
    with pytest.raises(MetadataError, match="ANOMALY_LENS_MAX_METADATA_MB"):
        parse_metadata(path.read_bytes(), Limits(metadata_bytes=100))
    with pytest.raises(MetadataError, match=r"2 clusters x 3 axes.*6 values.*ANOMALY_LENS_MAX_MODEL_VALUES"):
        parse_metadata(tiny_metadata(), Limits(model_values=5))
    padded = write_json(tmp_path, tiny_text(padding="x" * 2 * MB), "padded.json")
    session = str(ROOT / "ei_anomaly/data/demo/normal_session.csv")
    run = cli("score", str(padded), session, env={"ANOMALY_LENS_MAX_METADATA_MB": "1"})
    assert run.returncode == 2, run.stderr
    assert "the JSON is 2.0 MB; the limit is 1.0 MB" in run.stderr
    run = cli("score", str(ROOT / "ei_anomaly/data/demo/metadata.json"), str(padded))  # a 2 MB cell
    assert run.returncode == 2 and "cannot parse the CSV" in run.stderr, run.stderr


# ---------------------------------------------------------------- feature files: limits


def zeros_parquet(path: Path, row_groups: int, rows_per_group: int = 1_000_000, columns: int = 3) -> Path:
    batch = pa.table({f"f{j}": np.zeros(rows_per_group) for j in range(columns)})
    with pq.ParquetWriter(path, batch.schema, compression="zstd") as writer:
        for _ in range(row_groups):
            writer.write_table(batch)
    return path


def peak_rss_mb_of(code: str) -> tuple[subprocess.CompletedProcess, float]:
    run = subprocess.run(
        # VmHWM: this process's own peak (ru_maxrss would include the forking test process's)
        [sys.executable, "-c", code + "\nprint(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run, int(run.stdout.split()[-1]) / 1024 if run.stdout.split() else float("nan")


@pytest.mark.slow
def test_a_small_parquet_file_that_decodes_to_gigabytes_is_refused_from_its_footer(tmp_path):
    """The probe's file: 200M rows of zeros (4.8 GB read) in a few MB. Refused before decoding.
    Read in a new interpreter on purpose: its own peak memory is measured."""
    path = zeros_parquet(tmp_path / "bomb.parquet", row_groups=200)
    assert path.stat().st_size < 30 * MB
    started = time.perf_counter()
    run, peak = peak_rss_mb_of(
        "from ei_anomaly.features import read_feature_file\n"
        "from ei_anomaly import FeatureFileError\n"
        f"try:\n    read_feature_file({str(path)!r})\nexcept FeatureFileError as e:\n    print(e)"
    )
    assert "200,000,000 rows; the limit is 10,000,000" in run.stdout, run.stdout + run.stderr
    assert time.perf_counter() - started < 30
    assert peak < 400, f"peak RSS {peak:.0f} MB"


def test_parquet_decoded_size_is_checked_from_the_footer(tmp_path):
    path = zeros_parquet(tmp_path / "wide.parquet", row_groups=1, rows_per_group=100_000, columns=10)
    with pytest.raises(FeatureFileError, match=r"read, it is 7.6 MB; the limit is 1.0 MB.*ANOMALY_LENS_MAX_DECODED_MB"):
        read_feature_file(path, limits=Limits(decoded_bytes=MB))
    assert read_feature_file(path).n_rows == 100_000


def test_a_lying_parquet_footer_is_caught_while_reading(tmp_path, monkeypatch):
    path = zeros_parquet(tmp_path / "big.parquet", row_groups=3, rows_per_group=300_000, columns=1)
    monkeypatch.setattr("ei_anomaly.features.parquet_reader.decoded_estimate", lambda meta, schema: 0)
    with pytest.raises(FeatureFileError, match="over .* MB; the limit is 4.0 MB"):
        read_feature_file(path, limits=Limits(decoded_bytes=4 * MB))


def test_csv_size_rows_and_columns_limits(tmp_path):
    text = "a,b,c\n" + "1,2,3\n" * 1000
    with pytest.raises(FeatureFileError, match="is 5.9 KB; the limit is 1.0 KB.*ANOMALY_LENS_MAX_FEATURE_FILE_MB"):
        read_feature_file(text.encode(), limits=Limits(feature_file_bytes=1024))
    with pytest.raises(FeatureFileError, match="about 1,001 rows; the limit is 500.*ANOMALY_LENS_MAX_ROWS"):
        read_feature_file(text.encode(), limits=Limits(rows=500))
    with pytest.raises(FeatureFileError, match="3 columns wide; the limit is 2.*ANOMALY_LENS_MAX_COLUMNS"):
        read_feature_file(text.encode(), limits=Limits(columns=2))
    path = tmp_path / "f.csv"
    path.write_text(text)
    run = cli("score", str(ROOT / "ei_anomaly/data/demo/metadata.json"), str(path), env={"ANOMALY_LENS_MAX_ROWS": "10"})
    assert run.returncode == 2 and "ANOMALY_LENS_MAX_ROWS" in run.stderr, run.stderr


# ---------------------------------------------------------------- feature files: reading right


def frame_csv(frame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_a_numeric_header_written_by_pandas_is_a_header():
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(10, 33)))  # columns 0..32, as pandas names them
    table = read_feature_file(frame_csv(frame))
    assert table.n_rows == 10
    assert table.columns == [str(i) for i in range(33)]
    assert table.table.column("0").to_pylist() == pytest.approx(frame[0].tolist())


@pytest.mark.parametrize(
    "first_row",
    ["0.5,1.25,2.75", "0,1,2"],  # floats; or integers, when every data row is integers too
)
def test_a_headerless_numeric_file_keeps_its_first_row(first_row):
    rest = "0.5,1.5,2.5\n3.25,4.5,5.75\n" if "." in first_row else "0,1,2\n3,4,5\n"
    table = read_feature_file((first_row + "\n" + rest).encode())
    assert table.n_rows == 3
    assert table.columns == ["column 1", "column 2", "column 3"]


def test_a_first_line_over_64_kib_is_read(tmp_path):
    rng = np.random.default_rng(1)
    names = ",".join(f"spectral_feature_{i}" for i in range(9216))
    rows = "\n".join(",".join(f"{v:.6f}" for v in rng.normal(size=9216)) for _ in range(4))
    table = read_feature_file(f"{names}\n{rows}\n".encode())
    assert (table.n_rows, len(table.columns)) == (4, 9216)
    headerless = read_feature_file(f"{rows}\n".encode())
    assert (headerless.n_rows, len(headerless.columns)) == (4, 9216)


def test_a_utf16_csv_is_decoded_and_said():
    text = "timestamp,accX rms,accY rms,accZ rms\n2024-01-01,1.5,2.5,3.5\n2024-01-02,1.0,2.0,3.0\n"
    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        data = text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode("utf-16-be")
        table = read_feature_file(data)
        assert table.columns == ["timestamp", "accX rms", "accY rms", "accZ rms"], encoding
        assert table.table.column("accZ rms").to_pylist() == [3.5, 3.0]
        assert any("UTF-" in n for n in table.notes)


def test_a_latin1_header_keeps_its_accented_letter_and_says_so():
    data = "température,pression\n21.5,1013\n22.0,1012\n".encode("latin-1")
    table = read_feature_file(data)
    assert table.columns == ["température", "pression"]
    assert any("not UTF-8" in n and "Windows-1252" in n for n in table.notes)


def test_rescoring_a_scored_file_replaces_the_results(tmp_path):
    meta = ROOT / "ei_anomaly/data/demo/metadata.json"
    once, twice = tmp_path / "once.csv", tmp_path / "twice.csv"
    session = ROOT / "ei_anomaly/data/demo/session_with_anomalies.csv"
    assert cli("score", str(meta), str(session), "-o", str(once)).returncode == 0
    run = cli("score", str(meta), str(once), "-o", str(twice), "--threshold", "0.1")
    assert run.returncode == 0, run.stderr
    first = pacsv.read_csv(once)
    second = pacsv.read_csv(twice)
    assert second.column_names == first.column_names  # no anomaly_score_1 beside a stale anomaly_score
    assert second.column("anomaly_score").to_pylist() == first.column("anomaly_score").to_pylist()
    flagged = [sum(filter(None, t.column("is_anomaly").to_pylist())) for t in (first, second)]
    assert flagged[1] > flagged[0]  # the new threshold's flags, not the old ones
    assert "replaced the input's earlier results (anomaly_score, nearest_cluster, is_anomaly)" in run.stderr


def test_rescoring_a_scored_parquet_file_replaces_the_results_too(tmp_path):
    """Parquet input streams through its own reader: it too must not take old results as features."""
    meta = ROOT / "ei_anomaly/data/demo/metadata.json"
    once, twice = tmp_path / "once.parquet", tmp_path / "twice.parquet"
    features = tmp_path / "axes.csv"
    features.write_text("c0,c1,c2\n0.1,0.5,9.8\n5.0,7.0,1.0\n")  # exactly the 3 axes, in order
    assert cli("score", str(meta), str(features), "-o", str(once)).returncode == 0
    run = cli("score", str(meta), str(once), "-o", str(twice))
    assert run.returncode == 0, run.stderr
    assert pq.read_table(twice).column_names == pq.read_table(once).column_names
    assert pq.read_table(twice).column("anomaly_score").equals(pq.read_table(once).column("anomaly_score"))


def nested_parquet(path: Path) -> Path:
    table = pa.table(
        {
            "accX": [0.1, 0.2],
            "accY": [0.5, 0.4],
            "accZ": [9.8, 9.7],
            "tags": [["a", "b"], []],
            "meta": [{"device": "x", "n": 1}, None],
            "blob": pa.array([b"\xff\x00", b"ok"]),
        }
    )
    pq.write_table(table, path)
    return path


def test_parquet_with_list_and_struct_columns_scores_to_csv(tmp_path, demo_model):
    path = nested_parquet(tmp_path / "nested.parquet")
    run = cli("score", str(ROOT / "ei_anomaly/data/demo/metadata.json"), str(path))
    assert run.returncode == 0, run.stderr
    out = pacsv.read_csv(io.BytesIO(run.stdout.encode()))
    assert out.column("tags").to_pylist() == ['["a", "b"]', "[]"]
    assert json.loads(out.column("meta").to_pylist()[0]) == {"device": "x", "n": 1}
    assert out.column("blob").to_pylist() == ["ff00", "6f6b"]
    from ei_anomaly.features import map_columns, score_table

    table = read_feature_file(path)
    scores = score_table(table, demo_model, map_columns(table, demo_model))
    assert b'"[""a"", ""b""]"' in scored_csv(table, scores, 0.3)


# ---------------------------------------------------------------- CLI arguments and CSV injection


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
@pytest.mark.parametrize("command", ["score", "batch", "report"])
def test_threshold_must_be_finite(value, command):
    output = ["-o", "out"] if command != "score" else []
    run = cli(command, str(ROOT / "ei_anomaly/data/demo/metadata.json"), "x.csv", *output, f"--threshold={value}")
    assert run.returncode == 2
    assert "must be a finite number" in run.stderr


FORMULAS = 'note,accX rms,accY rms,accZ rms\n=HYPERLINK("http://x"),1,2,3\n+1+2,-1.5,2,3\n@SUM(A1),1,2,3\n-1.5,1,2,3\nok,1,2,3\n'


def test_formula_like_text_is_kept_exact_by_default_and_defused_on_request(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(FORMULAS)
    meta = str(ROOT / "ei_anomaly/data/demo/metadata.json")
    exact = cli("score", meta, str(path))
    assert exact.returncode == 0, exact.stderr
    notes = pacsv.read_csv(io.BytesIO(exact.stdout.encode())).column("note").to_pylist()
    assert notes == ['=HYPERLINK("http://x")', "+1+2", "@SUM(A1)", "-1.5", "ok"]
    safe = cli("score", meta, str(path), "--spreadsheet-safe")
    out = pacsv.read_csv(io.BytesIO(safe.stdout.encode()))
    assert out.column("note").to_pylist() == ['\'=HYPERLINK("http://x")', "'+1+2", "'@SUM(A1)", "-1.5", "ok"]
    assert out.column("accX rms").to_pylist() == [1, -1.5, 1, 1, 1]  # numbers stay numbers


def test_spreadsheet_safe_leaves_numbers_and_plain_numeric_text_alone():
    from ei_anomaly.features import spreadsheet_safe

    column = pa.chunked_array([pa.array(["-1.5", "+3", "=1+1", "-cmd", None, "a=b"])])
    assert spreadsheet_safe(column).to_pylist() == ["-1.5", "+3", "'=1+1", "'-cmd", None, "a=b"]
    numbers = pa.chunked_array([pa.array([-1.5, 2.0])])
    assert spreadsheet_safe(numbers) is numbers


# ---------------------------------------------------------------- untrusted text in the app

IMG = "![x](http://127.0.0.1:9/x.png)"
LINK = "[click](http://127.0.0.1:9/)"
HTML = '<a href="http://127.0.0.1:9/">MCU</a>'
LIVE_MARKDOWN = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(")


def test_md_escape_and_plotly_escape():
    from components.text import md_escape, shorten
    from ei_anomaly.figures.text import chart_label, plotly_escape

    assert md_escape(IMG) == "\\!\\[x\\]\\(http\\:\u2060//127\\.0\\.0\\.1\\:9/x\\.png\\)"
    # bare URLs, www. names and e-mail addresses: GFM would link them whatever the escapes
    assert md_escape("http://h www.h.com a@h.com mailto:x") == (
        "http\\:\u2060//h www\u2060\\.h\\.com a\\@\u2060h\\.com mailto\\:\u2060x"
    )
    assert md_escape("metadata: `scale[0]` is 0") == r"metadata\: `scale[0]` is 0"  # the core's code spans stay
    assert not LIVE_MARKDOWN.search(md_escape(f"a `b` c` {IMG} :red[x] $x$ <b>\n# h"))
    assert plotly_escape(HTML) == '&lt;a href="http://127.0.0.1:9/"&gt;MCU&lt;/a&gt;'
    assert plotly_escape("a & b") == "a &amp; b"
    assert chart_label("z" * 200) == "z" * 79 + "…"  # chart labels are cut short
    long = shorten("x" * 1_000_000, 200)
    assert long.startswith("x" * 200 + "…") and "1,000,000 characters" in long and len(long) < 260
    assert len(md_escape("y" * 1_000_000)) < 400


PLAIN_TEXT_FIELDS = {("Selectbox", ".options[]"), ("Multiselect", ".options[]")}  # shown as text, not markdown


def strings_of(at, markdown_only: bool = False) -> list[str]:
    """Every text an AppTest run sent to the browser (element protos' string fields); with
    markdown_only, those Streamlit renders as markdown (not plotly specs, not select options)."""
    from google.protobuf.json_format import MessageToDict

    out: list[str] = []

    def leaves(kind: str, value: object, path: str) -> None:
        if isinstance(value, str):
            plain = (kind, path) in PLAIN_TEXT_FIELDS or path == ".spec"
            if not (markdown_only and plain):
                out.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                leaves(kind, v, f"{path}.{k}")
        elif isinstance(value, list):
            for v in value:
                leaves(kind, v, path + "[]")

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and not isinstance(proto, type):
            leaves(type(node).__name__, MessageToDict(proto), "")
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else children or []:
            walk(child)

    walk(at._tree)
    return out


def hostile_metadata() -> dict:
    meta = json.loads((ROOT / "ei_anomaly/data/demo/metadata.json").read_text())
    t = meta["thresholds"][0]
    t["description"], t["helpText"], t["suggestedValueText"] = IMG, LINK, IMG
    metrics = meta["modelValidationMetrics"]
    metrics[0]["type"] = IMG
    meta["availableModelTypes"] = [IMG, "float32"]
    meta["recommendedModelType"] = "float32"
    for m in metrics:
        perf = m["onDevicePerformance"][0]
        perf["name"], perf["isDefault"] = HTML + " " + IMG, True
        perf["hasPerformance"], perf["profilingError"] = False, "failed: " + LINK
        m["additionalMetrics"][0]["name"] = IMG
        m["additionalMetrics"][0]["tooltipText"] = LINK
    return meta


@pytest.fixture
def fresh_caches():
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def json_source(content: bytes, name: str = "meta.json"):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.sidebar.radio[0].set_value(SourceKind.FILE).run()
    at.sidebar.file_uploader[0].set_value((name, content, "application/json"))
    return at.run()


def assert_shown_as_text(at, payload_escaped: str | None) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    texts = strings_of(at)
    markdown = strings_of(at, markdown_only=True)
    live = [t for t in markdown if LIVE_MARKDOWN.search(re.sub(r"`[^`]+`", "", t))]
    assert not live, live[:3]
    assert payload_escaped is None or any(payload_escaped in t for t in markdown), "the text is not shown at all"
    specs = [t.replace("\\u003c", "<") for t in texts if t.startswith('{"data"')]  # plotly JSON escapes <
    assert not [t for t in specs if "<a href" in t]
    return texts


@pytest.mark.parametrize("page", ["overview", "on_device", "validation", "thresholds", "clusters"])
def test_metadata_text_is_never_rendered_as_markdown_or_html(page, fresh_caches):
    from components.text import md_escape

    at = json_source(json.dumps(hostile_metadata()).encode(), "![n](http://127.0.0.1:9/n.png).json")
    at = at.switch_page(f"pages/{page}.py").run()
    texts = assert_shown_as_text(at, r"\!\[")
    if page == "on_device":
        assert any("&lt;a href" in t for t in texts)  # the MCU name in the charts, as text
        assert any(r"failed\: \[click\]\(http" in t for t in texts)  # the profiling error
    if page == "thresholds":
        assert any(s.label == md_escape(IMG) for s in at.slider)
        assert any(r"\[click\]" in (s.help or "") for s in at.slider)


def test_the_api_error_text_is_shown_as_text(fresh_caches):
    at = json_source(json.dumps({"success": False, "error": f"{IMG} see {LINK}"}).encode())
    assert_shown_as_text(at, r"the API reported failure\: \!\[x\]")
    assert at.error


def test_csv_column_names_are_shown_as_text(fresh_caches):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at = at.switch_page("pages/scoring.py").run()
    header = f'"<a href=""http://127.0.0.1:9/"">time</a>",{IMG},accY rms,accZ rms'
    rows = "\n".join(f"2024-01-0{i % 9 + 1},{i / 10},{i / 5},{i / 3}" for i in range(30))
    at.file_uploader[0].set_value(("f.csv", f"{header}\n{rows}\n".encode(), "text/csv")).run()
    texts = assert_shown_as_text(at, None)
    assert IMG in at.selectbox[0].options  # select options are plain text: shown as written
    timeline = [t for t in texts if '"Score along the file"' in t]
    assert timeline and "&lt;a href" in timeline[0]  # the time column's name as the x-axis title


def test_a_long_threshold_description_is_cut_for_display(monkeypatch, fresh_caches):
    monkeypatch.setenv("ANOMALY_LENS_MAX_TEXT_CHARS", "2000000")  # the deployer allows it
    meta = json.loads((ROOT / "ei_anomaly/data/demo/metadata.json").read_text())
    meta["thresholds"][0]["description"] = "d" * 1_000_000
    meta["thresholds"][0]["helpText"] = "h" * 1_000_000
    at = json_source(json.dumps(meta).encode())
    started = time.perf_counter()
    at = at.switch_page("pages/thresholds.py").run()
    assert time.perf_counter() - started < 30
    assert not at.exception
    assert len(at.slider[0].label) < 300 and "1,000,000 characters" in at.slider[0].label
    assert len(at.slider[0].help) < 1100
    assert max(len(t) for t in strings_of(at) if t.startswith("d") or t.startswith("h")) < 1100


def test_uploads_over_the_limits_get_a_clear_error(monkeypatch, fresh_caches):
    monkeypatch.setenv("ANOMALY_LENS_MAX_METADATA_MB", "1")
    meta = json.loads((ROOT / "ei_anomaly/data/demo/metadata.json").read_text())
    meta["padding"] = "x" * 2 * MB
    at = json_source(json.dumps(meta).encode())
    assert not at.exception
    assert any("ANOMALY_LENS_MAX_METADATA_MB" in e.value for e in at.error)
    monkeypatch.setenv("ANOMALY_LENS_MAX_ROWS", "100")
    at.sidebar.radio[0].set_value(SourceKind.DEMO).run()
    at = at.switch_page("pages/scoring.py").run()
    at.file_uploader[0].set_value(("big.csv", b"a,b,c\n" + b"1,2,3\n" * 1000, "text/csv")).run()
    assert not at.exception
    assert any("1,001 rows; the limit is 100" in e.value and "ANOMALY_LENS_MAX_ROWS" in e.value for e in at.error)


def test_the_scoring_page_says_how_a_file_was_read_and_offers_a_spreadsheet_safe_download(fresh_caches):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at = at.switch_page("pages/scoring.py").run()
    data = (ROOT / "ei_anomaly/data/demo/session_with_anomalies.csv").read_text().encode("utf-16")
    at.file_uploader[0].set_value(("utf16.csv", data, "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("UTF\\-16" in i.value for i in at.info)
    assert [m.value for m in at.metric if m.label == "Rows"] == ["595"]
    assert [c.label for c in at.checkbox] == ["Spreadsheet-safe CSV"]


def test_figures_escape_labels():
    from ei_anomaly.demo import load_demo_model
    from ei_anomaly.evaluation import on_device_frame
    from ei_anomaly.figures import RAM, fig_cluster_map, fig_confusion_matrix, fig_on_device, fig_parallel_centers
    from ei_anomaly.figures.text import safe_figure

    def spec(fig):
        return json.dumps(plotly.io.to_json(safe_figure(fig), validate=False))

    import plotly.io

    text = spec(fig_cluster_map(np.zeros((1, 2)), np.ones(1), (HTML, "y")))
    assert "<a href" not in text and "&lt;a href" in text
    assert "<a href" not in spec(fig_confusion_matrix([[1, 0], [0, 1]], [HTML, "b"], "t"))
    assert "<a href" not in spec(fig_parallel_centers(np.zeros((2, 2)), np.ones(2), [HTML, "b"]))
    frame = on_device_frame(load_demo_model().metadata).query("`model type` == 'int8'")
    frame = frame.replace({"device": {frame["device"].iloc[0]: HTML}})
    text = spec(fig_on_device(frame, RAM))
    assert "<a href" not in text and "&lt;a href" in text


def test_uploaders_refuse_files_over_the_limits_before_sending(monkeypatch, fresh_caches):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("ANOMALY_LENS_MAX_FEATURE_FILE_MB", "5")
    monkeypatch.setenv("ANOMALY_LENS_MAX_EXPORT_MB", "20")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.sidebar.radio[0].set_value(SourceKind.FILE).run()
    # The limits are MiB; the uploader counts 10^6-byte MB: 32 MiB is 33.6 MB, 5 MiB 5.2 MB (rounded up).
    # The sidebar's uploader takes a metadata file or an export: the larger of their limits.
    assert at.sidebar.file_uploader[0].proto.max_upload_size_mb == 34
    monkeypatch.setenv("ANOMALY_LENS_MAX_EXPORT_MB", "100")
    at.run()
    assert at.sidebar.file_uploader[0].proto.max_upload_size_mb == 105
    at.sidebar.radio[0].set_value(SourceKind.DEMO).run()
    at = at.switch_page("pages/scoring.py").run()
    assert at.file_uploader[0].proto.max_upload_size_mb == 6
    monkeypatch.setenv("ANOMALY_LENS_MAX_FEATURE_FILE_MB", "999999")
    at.run()
    import streamlit as st

    server_cap = st.get_option("server.maxUploadSize")  # from .streamlit/config.toml
    assert at.file_uploader[0].proto.max_upload_size_mb == server_cap < 999999  # never above the server's

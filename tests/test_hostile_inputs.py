"""Hostile and odd-but-valid inputs (issue 9's probe table): each ends in a clear message, in
bounded time and memory, or is read correctly. Nothing here may end in "unexpected failure"."""

from __future__ import annotations

import io
import json
import re
import resource
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
from tests.conftest import ROOT, tiny_metadata


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "ei_anomaly", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


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
        ({"clusters": [{"center": [0.0, 0.0, 0.0], "maxError": 0.5}, {"center": [0, 0, 0], "maxError": 1e39}]},
         "clusters[1].maxError", "overflows"),
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
        [sys.executable, "-c", code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run, int(run.stdout.split()[-1]) / 1024 if run.stdout.split() else float("nan")


def test_a_small_parquet_file_that_decodes_to_gigabytes_is_refused_from_its_footer(tmp_path):
    """The probe's file: 200M rows of zeros (4.8 GB read) in a few MB. Refused before decoding."""
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
    assert resource  # (imported for the helper's child process)


def test_parquet_decoded_size_is_checked_from_the_footer(tmp_path):
    path = zeros_parquet(tmp_path / "wide.parquet", row_groups=1, rows_per_group=100_000, columns=10)
    with pytest.raises(FeatureFileError, match=r"read, it is 7.6 MB; the limit is 1.0 MB.*ANOMALY_LENS_MAX_DECODED_MB"):
        read_feature_file(path, limits=Limits(decoded_bytes=MB))
    assert read_feature_file(path).n_rows == 100_000


def test_a_lying_parquet_footer_is_caught_while_reading(tmp_path, monkeypatch):
    path = zeros_parquet(tmp_path / "big.parquet", row_groups=3, rows_per_group=300_000, columns=1)
    monkeypatch.setattr("ei_anomaly.features._decoded_estimate", lambda meta, schema: 0)
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
def test_threshold_must_be_finite(value):
    run = cli("score", str(ROOT / "ei_anomaly/data/demo/metadata.json"), "x.csv", f"--threshold={value}")
    assert run.returncode == 2
    assert "must be a finite number" in run.stderr


FORMULAS = "note,accX rms,accY rms,accZ rms\n=HYPERLINK(\"http://x\"),1,2,3\n+1+2,-1.5,2,3\n@SUM(A1),1,2,3\n-1.5,1,2,3\nok,1,2,3\n"


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
    assert out.column("note").to_pylist() == ["'=HYPERLINK(\"http://x\")", "'+1+2", "'@SUM(A1)", "-1.5", "ok"]
    assert out.column("accX rms").to_pylist() == [1, -1.5, 1, 1, 1]  # numbers stay numbers


def test_spreadsheet_safe_leaves_numbers_and_plain_numeric_text_alone():
    from ei_anomaly.features import spreadsheet_safe

    column = pa.chunked_array([pa.array(["-1.5", "+3", "=1+1", "-cmd", None, "a=b"])])
    assert spreadsheet_safe(column).to_pylist() == ["-1.5", "+3", "'=1+1", "'-cmd", None, "a=b"]
    numbers = pa.chunked_array([pa.array([-1.5, 2.0])])
    assert spreadsheet_safe(numbers) is numbers

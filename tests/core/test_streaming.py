"""The streamed `score` pipeline gives what scoring the whole file gives, block by block."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ei_anomaly import FeatureFileError, streaming
from ei_anomaly.features import map_columns, read_feature_file, score_table, scored_table, write_table
from ei_anomaly.streaming import open_feature_stream, score_stream
from tests.support.cli import run_cli
from tests.support.constants import ROOT, tiny_metadata

SMALL_BLOCK = 8 << 10  # bytes: the generated files below make 20-40 blocks


@pytest.fixture(autouse=True)
def small_row_groups(monkeypatch):
    """A row group per block or two, so the tests see that the output was written block by block."""
    monkeypatch.setattr(streaming, "ROW_GROUP_ROWS", 256)


def whole_output(path, model, fmt, threshold=0.4):
    table = read_feature_file(path)
    scores = score_table(table, model, map_columns(table, model))
    buffer = io.BytesIO()
    write_table(scored_table(table, scores, threshold), fmt, buffer)
    return buffer.getvalue(), scores


def streamed_output(path, model, fmt, threshold=0.4, block_bytes=SMALL_BLOCK, batch_rows=None):
    stream = open_feature_stream(path, block_bytes=block_bytes, batch_rows=batch_rows)
    buffer = io.BytesIO()
    summary = score_stream(stream, model, map_columns(stream.first, model), threshold, fmt, buffer)
    return buffer.getvalue(), summary


def parquet(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


DIALECTS = {
    "comma": dict(sep=",", decimal=".", newline="\n"),
    "semicolon-decimal-comma-crlf": dict(sep=";", decimal=",", newline="\r\n"),
    "bom": dict(sep=",", decimal=".", newline="\n", bom=True),
    "quoted": dict(sep=",", decimal=".", newline="\n", quoted=True),
    "tab": dict(sep="\t", decimal=".", newline="\n"),
    "no-header": dict(sep=",", decimal=".", newline="\n", header=False),
    "cr-only": dict(sep=",", decimal=".", newline="\r"),
}


def feature_csv(path, rows=4000, sep=",", decimal=".", newline="\n", bom=False, quoted=False, header=True, bad=None):
    """time, four features (a full vector for axes [2, 0, 1]), a label; `bad` = {row: (column, text)}."""
    rng = np.random.default_rng(7)
    values = rng.normal(1.0, 2.0, (rows, 4)).round(5)
    labels = ["idle", "wave, fast", "snake", ""]
    lines = []
    if header:
        names = ["time", "f0", '"f1, x"' if quoted else "f1", "f2", "f3", "label"]
        lines.append(sep.join(names))
    for i in range(rows):
        cells = [f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}"]
        cells += [str(v).replace(".", decimal) for v in values[i]]
        if i % 97 == 5:
            cells[2] = ""  # a sensor dropout: an empty cell
        label = labels[i % 4]
        if quoted:
            cells[1] = f'"{cells[1]}"'
            label = f'"{label}"'
        elif sep in label:
            label = label.replace(sep, " ")
        cells.append(label)
        if bad and i in bad:
            column, text = bad[i]
            cells[column] = text
        lines.append(sep.join(cells))
    text = newline.join(lines) + newline
    path.write_bytes((("\ufeff" if bom else "") + text).encode())
    return path


@pytest.mark.parametrize("dialect", DIALECTS, ids=list(DIALECTS))
def test_every_dialect_streams_to_the_same_bytes(dialect, tiny_model, tmp_path):
    path = feature_csv(tmp_path / "f.csv", **DIALECTS[dialect])
    whole_csv, scores = whole_output(path, tiny_model, "csv")
    streamed_csv, summary = streamed_output(path, tiny_model, "csv")
    assert streamed_csv == whole_csv
    streamed_pq, _ = streamed_output(path, tiny_model, "parquet")
    assert parquet(streamed_pq).equals(parquet(whole_output(path, tiny_model, "parquet")[0]))
    assert pq.ParquetFile(io.BytesIO(streamed_pq)).num_row_groups > 10  # it really was streamed
    assert (summary.rows, summary.unscorable) == (4000, scores.unscorable_count) == (4000, 42)
    assert summary.anomalies == scores.count_anomalies(0.4)
    assert summary.bad_cells == 0


def test_demo_files_stream_to_the_same_output(demo_model, demo_dir):
    for name in ("session_with_anomalies.csv", "normal_session.csv"):
        whole, scores = whole_output(demo_dir / name, demo_model, "parquet", demo_model.default_threshold)
        streamed, summary = streamed_output(demo_dir / name, demo_model, "parquet", demo_model.default_threshold)
        assert parquet(streamed).equals(parquet(whole))
        assert pq.ParquetFile(io.BytesIO(streamed)).num_row_groups > 1
        assert (summary.rows, summary.unscorable) == (len(scores.score), scores.unscorable_count)
        assert summary.anomalies == scores.count_anomalies(demo_model.default_threshold)


def test_bad_cell_in_the_first_block_gives_the_same_output(tiny_model, tmp_path):
    path = feature_csv(tmp_path / "f.csv", bad={2: (2, "oops")})
    whole, _ = whole_output(path, tiny_model, "parquet")
    streamed, summary = streamed_output(path, tiny_model, "parquet")
    assert parquet(streamed).equals(parquet(whole))
    assert parquet(streamed).schema.field("f1").type == pa.string()  # as the whole-file reader has it
    assert parquet(streamed).column("f1")[2].as_py() == "oops"
    assert summary.unscorable == 43 and summary.bad_cells == 0


def test_bad_cells_in_later_blocks_keep_rows_schema_and_scores(tiny_model, tmp_path):
    path = feature_csv(tmp_path / "f.csv", bad={3000: (1, "oops"), 3500: (4, "n/a?"), 3600: (5, "x")})
    whole = parquet(whole_output(path, tiny_model, "parquet")[0])
    streamed_bytes, summary = streamed_output(path, tiny_model, "parquet")
    streamed = parquet(streamed_bytes)
    assert streamed.num_rows == whole.num_rows == 4000
    for name in ("anomaly_score", "nearest_cluster", "is_anomaly", "time", "f1", "f2", "label"):
        assert streamed.column(name).equals(whole.column(name)), name
    # the whole-file reader turned f0 and f3 into text; the stream keeps the first block's float64
    assert streamed.schema.field("f0").type == pa.float64()
    as_numbers = pd.to_numeric(whole.column("f0").to_pandas(), errors="coerce")
    np.testing.assert_array_equal(streamed.column("f0").to_numpy(zero_copy_only=False), as_numbers.to_numpy())
    assert streamed.column("f0")[3000].as_py() is None
    assert streamed.column("f3")[3500].as_py() is None  # f3 is not an axis: the row stays scorable
    assert streamed.column("anomaly_score").is_null().to_pylist()[3000] is True
    assert streamed.column("anomaly_score").is_null().to_pylist()[3500] is False
    assert streamed.column("label")[3600].as_py() == "x"
    assert summary.bad_cells == 2
    assert summary.first_bad_cell == streaming.BadCell(row=3001, column="f0", text="oops")
    assert summary.unscorable == 42 + 1  # the dropouts and the row whose f0 is "oops"


def test_a_later_block_cannot_change_a_type_inferred_from_the_first(tiny_model, tmp_path):
    # `label` is empty in the first block (Arrow would infer null) and `count` holds integers there
    lines = ["f0,f1,f2,f3,label,count"]
    lines += [f"1,2,3,{i % 7},,{i}" for i in range(3000)]
    lines += [f"1,2,3,4,late text,{i}.5" for i in range(3000)]
    path = tmp_path / "f.csv"
    path.write_text("\n".join(lines) + "\n")
    whole = parquet(whole_output(path, tiny_model, "parquet")[0])
    streamed_bytes, summary = streamed_output(path, tiny_model, "parquet")
    assert parquet(streamed_bytes).equals(whole)
    assert summary.rows == 6000 and summary.bad_cells == 0


def test_parquet_input_streams_by_batches(tiny_model, tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(0, 2, (5000, 4)), columns=["a", "b", "c", "d"])
    frame.insert(0, "note", [f"n{i}" for i in range(5000)])
    frame.loc[17, "b"] = np.nan
    path = tmp_path / "f.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=700)
    whole, _ = whole_output(path, tiny_model, "parquet")
    streamed, summary = streamed_output(path, tiny_model, "parquet", batch_rows=300)
    assert parquet(streamed).equals(parquet(whole))
    assert pq.ParquetFile(io.BytesIO(streamed)).num_row_groups >= 8
    assert summary.rows == 5000 and summary.unscorable == 1


def test_wide_parquet_is_read_in_smaller_batches(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_BYTES", 8 * 100 * 2000)  # 2,000 rows of 100 float64 columns
    frame = pd.DataFrame(np.random.default_rng(2).normal(0, 1, (10_000, 100)), columns=[f"f{i}" for i in range(100)])
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    stream = open_feature_stream(path)
    sizes = [stream.first.n_rows, *(t.num_rows for t in stream.rest())]
    stream.close()
    assert sizes == [2000] * 5


@pytest.mark.parametrize(
    ("tail", "message"),
    [(b"1,2,3,4,5,6,7\n", "cannot parse the CSV"), (b"t,1,2,3,4,\xff\xfe\n", "not UTF-8")],
    ids=["ragged-row", "not-utf8"],
)
def test_unreadable_later_block_is_a_clear_error(tail, message, tiny_model, tmp_path):
    path = feature_csv(tmp_path / "f.csv")
    path.write_bytes(path.read_bytes() + tail)
    with pytest.raises(FeatureFileError, match=message):
        read_feature_file(path)
    with pytest.raises(FeatureFileError, match=message):
        streamed_output(path, tiny_model, "csv")


def test_parquet_row_groups_gather_blocks(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "ROW_GROUP_ROWS", 1000)
    path = feature_csv(tmp_path / "f.csv")
    streamed, _ = streamed_output(path, tiny_model, "parquet")
    meta = pq.ParquetFile(io.BytesIO(streamed)).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 4000 and 3 <= len(sizes) <= 4
    assert all(1000 <= n < 1200 for n in sizes[:-1])
    assert parquet(streamed).equals(parquet(whole_output(path, tiny_model, "parquet")[0]))


def test_a_line_longer_than_a_block(tiny_model, tmp_path):
    path = feature_csv(tmp_path / "f.csv")
    lines = path.read_text().splitlines(keepends=True)
    lines[3000] = lines[3000].rstrip("\n") + "x" * (3 * SMALL_BLOCK) + "\n"  # a long label
    path.write_text("".join(lines))
    streamed, summary = streamed_output(path, tiny_model, "csv")
    assert streamed == whole_output(path, tiny_model, "csv")[0]
    assert summary.rows == 4000


class FailingSink(io.RawIOBase):
    """An output that fails after `limit` bytes, like a full disk."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise OSError(28, "No space left on device")
        return len(data)


def test_a_failing_output_stops_the_reading(tiny_model, tmp_path):
    path = feature_csv(tmp_path / "f.csv", rows=20000)
    stream = open_feature_stream(path, block_bytes=SMALL_BLOCK)
    reader = stream._ahead._thread
    with pytest.raises(OSError, match="No space left"):
        score_stream(stream, tiny_model, map_columns(stream.first, tiny_model), 0.4, "csv", FailingSink(100_000))
    assert not reader.is_alive()


def test_cli_streams_reports_bad_cells_and_writes_atomically(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_BYTES", SMALL_BLOCK)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(tiny_metadata()))
    path = feature_csv(tmp_path / "f.csv", bad={3000: (1, "oops")})
    out = tmp_path / "out.parquet"
    run = run_cli("score", meta, path, "-o", out, "--threshold", "0.4")
    assert run.returncode == 0
    err = run.stderr
    scores = score_table(t := read_feature_file(path), tiny_model, map_columns(t, tiny_model))
    assert "warning: 1 cells of number columns are not numbers (first: row 3001, column 'f0': 'oops')" in err
    assert f"4000 rows, {scores.count_anomalies(0.4)} anomalies (score > 0.4), 43 unscorable; mapping:" in err
    assert pq.ParquetFile(out).num_row_groups > 10
    written = pq.read_table(out).column("anomaly_score").to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(written, scores.score)

    broken = tmp_path / "broken.csv"
    broken.write_bytes(path.read_bytes() + b"1,2,3,4,5,6,7\n")
    bad_out = tmp_path / "bad.parquet"
    run = run_cli("score", meta, broken, "-o", bad_out)
    assert run.returncode == 2
    assert "cannot parse the CSV" in run.stderr
    assert not bad_out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bad.parquet")]  # no partial file


def test_cli_streams_csv_to_stdout(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_BYTES", SMALL_BLOCK)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(tiny_metadata()))
    path = feature_csv(tmp_path / "f.csv", **DIALECTS["semicolon-decimal-comma-crlf"])
    run = run_cli("score", meta, path, "--threshold", "0.4")
    assert run.returncode == 0
    assert run.stdout_bytes == whole_output(path, tiny_model, "csv")[0]


def test_cli_stops_the_reader_when_scoring_never_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_BYTES", SMALL_BLOCK)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(tiny_metadata(axes=[0, 11, 22])))  # needs 23 features; the file has 4
    path = feature_csv(tmp_path / "f.csv", rows=20000)
    run = run_cli("score", meta, path, "-o", tmp_path / "out.csv")
    assert run.returncode == 2
    assert "needs feature 22" in run.stderr
    assert not [t for t in threading.enumerate() if t.name == "feature-read-ahead"]


@pytest.mark.slow
def test_the_cli_loadsnumba_without_scipy_and_scores_exactly():
    """A new interpreter on purpose: scipy can be kept out of numba's import only where neither is imported yet."""
    code = """
import sys
import numpy as np
from ei_anomaly.cli import numba_without_scipy
with numba_without_scipy():
    from ei_anomaly import load_metadata, scoring
    model = load_metadata("ei_anomaly/data/demo/metadata.json")
    scoring.warm_up()
assert "scipy.linalg" not in sys.modules, "numba imported scipy.linalg"
import scipy.linalg  # importable again afterwards
x = np.random.default_rng(0).normal(0, 1, (2000, len(model.axes))).astype(np.float32)
ref = scoring.reference_scores(x, model.mean, model.scale, model.centers, model.max_errors)
for method in ("direct", "pruned"):
    assert np.array_equal(model.score_axes(x, method).score, ref), method
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=120)
    assert proc.stdout.decode().strip() == "ok", proc.stderr.decode()

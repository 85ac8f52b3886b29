"""The `ei_anomaly.features` package: its public surface, and that every Parquet read and write
of the app, the streamed `score` and the Dask `batch` tasks goes through one reader and one
writer set-up, with each caller's memory bound."""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ei_anomaly.features as features
from ei_anomaly import FeatureFileError, batch_job, streaming
from ei_anomaly.batch import BatchScorer
from ei_anomaly.features import parquet_reader
from ei_anomaly.features.dialect import CsvDialect, sniff, text_encoding, unique_names
from ei_anomaly.limits import Limits
from tests.support.constants import ROOT

READER = "ei_anomaly.features.parquet_reader"
WRITER = "ei_anomaly.features.results"


# ------------------------------------------------------------------ public surface


def names_imported_from_the_package() -> set[tuple[str, str]]:
    """(file, name) for every `from ei_anomaly.features import name` (or `from .features import`
    in the core) in the repository's Python files, submodules aside."""
    found = set()
    for path in ROOT.rglob("*.py"):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        core = path.parent == ROOT / "ei_anomaly"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if (node.level, node.module) == (0, "ei_anomaly.features") or (
                core and (node.level, node.module) == (1, "features")
            ):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
    return found


def test_every_name_imported_from_the_package_is_in_its_public_surface():
    names = names_imported_from_the_package()
    assert {"components/uploads.py", "ei_anomaly/streaming.py", "tests/core/test_cli.py"} <= {
        where for where, _ in names
    }
    submodules = {p.stem for p in Path(features.__file__).parent.glob("*.py")}
    missing = {(where, n) for where, n in names if n not in features.__all__ and n not in submodules}
    assert not missing
    assert all(hasattr(features, n) for n in features.__all__)


def test_no_module_imports_another_modules_private_name():
    private = []
    for path in (ROOT / "ei_anomaly").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                private += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []


@pytest.mark.slow
def test_the_package_does_not_import_pandas_or_the_kernel():
    """Reading a file must not wait for pandas or the scoring kernel to load (a new interpreter on
    purpose: this one has both)."""
    import subprocess

    code = "import sys, ei_anomaly.features; print(sorted(m for m in ('pandas', 'numba') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_dialect_is_a_named_tuple_and_names_are_made_unique():
    assert sniff("a;b\n1,5;2\n") == CsvDialect(delimiter=";", has_header=True, decimal=",")
    delimiter, has_header, decimal = sniff("0.5\t2\n3\t4\n")
    assert (delimiter, has_header, decimal) == ("\t", False, ".")
    assert unique_names(["a", "a", " ", "a.1", "a"]) == ["a", "a.1", "column 3", "a.1.1", "a.2"]
    assert text_encoding(b"\xff\xfea\x00")[0] == "utf-16"
    assert text_encoding("caf\xe9 cr\xe8me".encode("cp1252")) == (
        "cp1252",
        "the file is not UTF-8: read as Windows-1252 text; check that accented names look right",
    )


# ------------------------------------------------------------------ one Parquet reader


def feature_parquet(path: Path, rows: int = 5000, row_group: int = 2000, extra_columns: int = 0) -> Path:
    rng = np.random.default_rng(3)
    columns = {f"f{i}": rng.normal(0, 1, rows) for i in range(4 + extra_columns)}
    columns["label"] = np.array(["idle", "=wave", "snake", "x"])[np.arange(rows) % 4]
    pq.write_table(pa.table(columns), path, row_group_size=row_group)
    return path


@pytest.fixture
def batch_reads(monkeypatch):
    """Every `iter_batches` call: the module that made it, its arguments, and the file's pre_buffer."""
    calls: list[dict] = []
    opened, iter_batches = pq.ParquetFile.__init__, pq.ParquetFile.iter_batches

    def opening(self, source, *args, **kwargs):
        self.test_pre_buffer = kwargs.get("pre_buffer", True)  # pyarrow's default
        opened(self, source, *args, **kwargs)

    def reading(self, *args, **kwargs):
        calls.append({"caller": sys._getframe(1).f_globals["__name__"], "pre_buffer": self.test_pre_buffer, **kwargs})
        return iter_batches(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "__init__", opening)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", reading)
    return calls


def test_the_app_the_stream_and_the_batch_tasks_read_through_the_one_reader(tiny_model, tmp_path, batch_reads):
    path = feature_parquet(tmp_path / "f.parquet")
    features.read_feature_file(path)
    features.read_feature_file(path, columns=["f1", "f0"], first_block=True)
    stream = streaming.open_feature_stream(path)
    list(stream.rest())
    stream.close()
    scorer = BatchScorer.for_sample(tiny_model, batch_job.sample_table(path))  # the sample is read twice
    (part,) = batch_job.plan_partitions([path])
    out = tmp_path / "out"
    out.mkdir()
    assert batch_job.score_partition(scorer, part, str(out)).rows == 5000
    assert len(batch_reads) == 6
    assert {c["caller"] for c in batch_reads} == {READER}
    assert not any(c["pre_buffer"] for c in batch_reads)  # a read row group is not kept until the file closes


def test_each_caller_reads_within_its_own_batch_bound(tiny_model, tmp_path, batch_reads):
    path = feature_parquet(tmp_path / "f.parquet", rows=30_000, row_group=30_000)
    app = features.read_feature_file(path)
    assert app.n_rows == 30_000
    stream = streaming.open_feature_stream(path, batch_rows=4096)
    streamed = [stream.first.n_rows, *(t.num_rows for t in stream.rest())]
    stream.close()
    assert sum(streamed) == 30_000 and max(streamed) == 4096
    scorer = BatchScorer.for_sample(tiny_model, batch_job.sample_table(path))
    (part,) = batch_job.plan_partitions([path])
    tasks = list(batch_job._partition_tables(part, 3000))
    assert [t.num_rows for t in tasks] == [3000] * 10
    assert scorer.score_arrow(tasks[0])[0].num_rows == 3000
    whole = parquet_reader.WHOLE_READ_BATCH_ROWS
    # the app's whole read; the stream; the batch sample, read again as `score` reads it; a batch task
    assert [c["batch_size"] for c in batch_reads] == [whole, 4096, batch_job._SAMPLE_ROWS, whole, 3000]
    assert [c["use_threads"] for c in batch_reads] == [True, True, False, True, False]  # a task: one thread


def test_a_wide_file_is_read_in_batches_of_about_the_byte_budget(tmp_path, monkeypatch):
    path = feature_parquet(tmp_path / "wide.parquet", rows=6000, row_group=6000, extra_columns=196)  # 201 columns
    monkeypatch.setattr(streaming, "BLOCK_BYTES", 8 * 200 * 1500)
    stream = streaming.open_feature_stream(path)
    sizes = [stream.first.n_rows, *(t.num_rows for t in stream.rest())]
    stream.close()
    assert sum(sizes) == 6000 and max(sizes) <= 1500
    preview = features.read_feature_file(path, first_block=True)
    assert preview.n_rows * 201 * 8 <= parquet_reader.PREVIEW_BYTES
    assert preview.n_rows == parquet_reader.PREVIEW_BYTES // (8 * 201)


def test_the_app_reads_a_whole_file_batch_by_batch_and_checks_while_reading(tmp_path, monkeypatch):
    path = feature_parquet(tmp_path / "f.parquet", rows=10_000, row_group=10_000)
    monkeypatch.setattr(parquet_reader, "WHOLE_READ_BATCH_ROWS", 1000)
    table = features.read_feature_file(path).table
    assert table.column("f0").num_chunks == 10
    limits = Limits(decoded_bytes=100 << 10)
    with pytest.raises(FeatureFileError, match=r"read, it is [\d.]+ KB; the limit is 100.0 KB"):
        parquet_reader.read_parquet(pa.memory_map(str(path)), limits)

    def lying(meta: pq.FileMetaData, schema: pa.Schema) -> int:
        return 0  # a footer that says the file is tiny

    monkeypatch.setattr(parquet_reader, "decoded_estimate", lying)
    with pytest.raises(FeatureFileError, match=r"read, it is over [\d.]+ KB; the limit is 100.0 KB"):
        parquet_reader.read_parquet(pa.memory_map(str(path)), limits)


def test_repeated_column_names_are_read_by_position(tmp_path):
    table = pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array(["a", "b"])], names=["x", "x", "x"])
    path = tmp_path / "dup.parquet"
    pq.write_table(table, path)
    reader = features.ParquetBatches(path)
    assert reader.names == ["x", "x.1", "x.2"]
    (picked,) = reader.tables(10, columns=["x.2", "x.1"])
    assert picked.column_names == ["x.2", "x.1"] and picked.to_pydict() == {"x.2": ["a", "b"], "x.1": [3.0, 4.0]}
    assert reader.empty_table(["x.1"]).schema == pa.schema([("x.1", pa.float64())])
    with pytest.raises(FeatureFileError, match="^features: the file has no column named 'y'$"):
        features.read_feature_file(path, columns=["y"])


def test_an_unreadable_parquet_file_is_one_message_for_every_caller(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    message = r"cannot read the Parquet file \("
    with pytest.raises(FeatureFileError, match="^features: " + message):
        features.read_feature_file(path)
    with pytest.raises(FeatureFileError, match="^features: " + message):
        streaming.open_feature_stream(path)
    with pytest.raises(FeatureFileError, match="^features: bad.parquet: " + message):
        batch_job.plan_partitions([path])
    with pytest.raises(FeatureFileError, match="^features: bad.parquet: " + message):
        batch_job.sample_table(path)


# ------------------------------------------------------------------ one Parquet writer set-up


def record_writers(monkeypatch) -> list[tuple[str, object]]:
    """From now on: the module that set up each ParquetWriter made, and its dictionary-encoding choice."""
    made: list[tuple[str, object]] = []
    original = pq.ParquetWriter.__init__

    def recording(self, where, schema, *args, **kwargs):
        made.append((sys._getframe(1).f_globals["__name__"], kwargs.get("use_dictionary")))
        original(self, where, schema, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "__init__", recording)
    return made


def text_dictionary_only(data: bytes | Path) -> bool:
    """Text columns dictionary-encoded, numbers plain: the one set-up's rule, in the written file."""
    meta = pq.ParquetFile(io.BytesIO(data) if isinstance(data, bytes) else data).metadata
    group = meta.row_group(0)
    kinds = [(group.column(c).physical_type, group.column(c).has_dictionary_page) for c in range(meta.num_columns)]
    return len(kinds) == 8 and all(dictionary == (kind == "BYTE_ARRAY") for kind, dictionary in kinds)


def test_write_table_the_stream_and_the_batch_tasks_set_up_one_writer(tiny_model, tmp_path, monkeypatch):
    path = feature_parquet(tmp_path / "f.parquet")
    table = features.read_feature_file(path)
    mapping = features.map_columns(table, tiny_model)
    scored = features.scored_table(table, features.score_table(table, tiny_model, mapping), 0.4)
    scorer = BatchScorer.for_sample(tiny_model, batch_job.sample_table(path), threshold=0.4)
    (part,) = batch_job.plan_partitions([path])
    out = tmp_path / "out"
    out.mkdir()
    writers = record_writers(monkeypatch)
    whole = io.BytesIO()
    features.write_table(scored, "parquet", whole)
    streamed = io.BytesIO()
    streaming.score_stream(streaming.open_feature_stream(path), tiny_model, mapping, 0.4, "parquet", streamed)
    batch_job.score_partition(scorer, part, str(out))
    assert writers == [(WRITER, ["label"])] * 3
    for data in (whole.getvalue(), streamed.getvalue(), out / part.out_name):
        assert text_dictionary_only(data)
        assert pq.read_table(io.BytesIO(data) if isinstance(data, bytes) else data).equals(scored)


def test_a_failed_parquet_write_to_a_path_leaves_no_file(tmp_path):
    mixed = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()), [pa.array([1, 2]), pa.array(["a", "b"])])
    target = tmp_path / "out.parquet"
    with pytest.raises(pa.ArrowNotImplementedError):
        features.write_table(pa.table({"u": mixed}), "parquet", str(target))
    assert not target.exists()


def test_parquet_output_compresses_text_but_not_numbers():
    """Snappy on measured floats costs most of the write for about 12% smaller files (issue 19)."""
    table = pa.table({"f0": [1.25, 2.5], "device": ["a", "b"], "anomaly_score": pa.array([0.1, 0.2], pa.float32())})
    sink = io.BytesIO()
    with features.parquet_writer(sink, table.schema) as writer:
        writer.write_table(table)
    group = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata.row_group(0)
    assert [group.column(i).compression for i in range(3)] == ["UNCOMPRESSED", "SNAPPY", "UNCOMPRESSED"]
    assert pq.read_table(io.BytesIO(sink.getvalue())).equals(table)

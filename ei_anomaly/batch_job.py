"""A batch job on Dask distributed: input files -> partitions -> scoring tasks -> a Parquet directory.

Each partition is a run of consecutive row groups of one Parquet file (up to `partition_rows`
rows), or one whole CSV file (read by the same reader as `score`). A task reads its partition in
record batches, scores them with a `BatchScorer` and streams them into one Parquet file, so a
worker holds one batch at a time, whatever the total. Tasks are idempotent (write to a hidden
name, rename): when a worker dies, Dask runs its tasks again elsewhere and the same files result.
The whole output is written under a hidden temporary directory beside OUT_DIR and renamed to
OUT_DIR only when every partition succeeded.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .batch import BatchScorer, sample_feature_table
from .errors import AnomalyLensError, ApiError, FeatureFileError
from .features import FeatureTable, ParquetBatches, parquet_writer, read_feature_file

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

__all__ = [
    "BatchError",
    "ClusterError",
    "JobSummary",
    "Partition",
    "find_inputs",
    "local_cluster",
    "plan_partitions",
    "progress_bar",
    "refuse_used_output",
    "run_job",
    "sample_table",
    "score_partition",
]

SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")  # what a directory contributes; named files may be anything
DEFAULT_PARTITION_ROWS = 1_000_000
BATCH_ROWS = 64 * 1024  # rows a task holds at once
_SAMPLE_ROWS = 10_000
_SAMPLE_BYTES = 1 << 20


class BatchError(AnomalyLensError):
    """Bad input to a batch job (no files, output directory in the way)."""


class ClusterError(ApiError):
    """The Dask cluster cannot be reached or keeps losing workers (exit code 3, like the network)."""

    subject = "cluster"


@dataclass(frozen=True)
class Partition:
    """One task's share: a file, and for Parquet the row groups to read (all of them when None)."""

    path: str
    kind: Literal["parquet", "csv"]
    row_groups: tuple[int, ...] | None
    rows: int | None  # known for Parquet before reading
    out_name: str


@dataclass(frozen=True)
class PartitionResult:
    rows: int
    anomalies: int
    unscorable: int


@dataclass(frozen=True)
class JobSummary:
    files: int
    partitions: int
    rows: int
    anomalies: int
    unscorable: int
    seconds: float
    workers: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _kind(path: Path) -> Literal["parquet", "csv"]:
    with path.open("rb") as fh:
        return "parquet" if fh.read(4) == b"PAR1" else "csv"


def find_inputs(specs: Sequence[str]) -> list[Path]:
    """Files named by directories (their Parquet/CSV files, recursively), globs or plain paths, in order."""
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
            )
            if not files:
                raise BatchError(f"{spec}: no Parquet or CSV files in this directory")
        elif glob.has_magic(spec):
            files = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not files:
                raise BatchError(f"{spec}: no file matches this pattern")
        elif path.is_file():
            files = [path]
        else:
            raise BatchError(f"{spec}: no such file or directory")
        found.extend(p.resolve() for p in files)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise BatchError("no input files given")
    return unique


def plan_partitions(files: Sequence[Path], partition_rows: int = DEFAULT_PARTITION_ROWS) -> list[Partition]:
    """Split Parquet files at row-group boundaries into runs of at most `partition_rows` rows
    (a single larger row group is one partition, still read in batches); a CSV file is one partition."""
    parts: list[Partition] = []
    for i, path in enumerate(files):
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:60]

        def name(j: int, i: int = i, stem: str = stem) -> str:
            return f"{i:05d}-{j:05d}-{stem}.parquet"

        if _kind(path) == "csv":
            parts.append(Partition(str(path), "csv", None, None, name(0)))
            continue
        parquet = ParquetBatches(path, file=path.name)
        meta = parquet.metadata
        parquet.close()
        groups: list[int] = []
        rows = 0
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if groups and rows + n > partition_rows:
                parts.append(Partition(str(path), "parquet", tuple(groups), rows, name(len(parts))))
                groups, rows = [], 0
            groups.append(g)
            rows += n
        parts.append(Partition(str(path), "parquet", tuple(groups), rows, name(len(parts))))
    return parts


def sample_table(path: Path) -> FeatureTable:
    """The first rows of a file, read as `score` reads it: what the column mapping is decided on."""
    if _kind(path) == "csv":
        with path.open("rb") as fh:
            head = fh.read(_SAMPLE_BYTES)
            if len(head) == _SAMPLE_BYTES and fh.read(1):
                head = head[: head.rfind(b"\n") + 1] or head
        return _named(read_feature_file(head, name=path.name), path.name)
    return sample_feature_table(next(_parquet_tables(path, None, _SAMPLE_ROWS)))


def _named(read: FeatureTable, name: str) -> FeatureTable:
    return FeatureTable(read.table, read.numeric_columns, name)


def _parquet_tables(path: Path, row_groups: tuple[int, ...] | None, batch_rows: int) -> Iterator[pa.Table]:
    """`features.ParquetBatches` tables of at most `batch_rows` rows (a task's memory bound), column
    names made unique as `score` does; at least one (empty) table, so an empty file still gets its
    scored schema. One thread per task: a worker's cores belong to its other tasks."""
    parquet = ParquetBatches(path, file=path.name)
    try:
        yielded = False
        for table in parquet.tables(batch_rows, row_groups=row_groups, use_threads=False):
            yielded = True
            yield table
        if not yielded:
            yield parquet.empty_table()
    finally:
        parquet.close()


def _partition_tables(part: Partition, batch_rows: int) -> Iterator[pa.Table]:
    path = Path(part.path)
    if part.kind == "parquet":
        yield from _parquet_tables(path, part.row_groups, batch_rows)
        return
    try:
        yield read_feature_file(path).table
    except FeatureFileError as exc:
        raise exc.in_file(path.name) from None


def score_partition(
    scorer: BatchScorer, part: Partition, out_dir: str, batch_rows: int = BATCH_ROWS
) -> PartitionResult:
    """Runs on a worker: read, score and write one partition. Safe to run twice."""
    target = Path(out_dir) / part.out_name
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    rows = anomalies = unscorable = 0
    writer: pq.ParquetWriter | None = None
    try:
        for table in _partition_tables(part, batch_rows):
            try:
                out, scores = scorer.score_arrow(table)
            except FeatureFileError as exc:
                raise exc.in_file(Path(part.path).name) from None
            if writer is None:
                writer = parquet_writer(tmp, out.schema)
            writer.write_table(out)
            rows += out.num_rows
            anomalies += scores.count_anomalies(scorer.threshold)
            unscorable += scores.unscorable_count
        assert writer is not None  # _partition_tables yields at least one table
        writer.close()
        os.replace(tmp, target)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return PartitionResult(rows, anomalies, unscorable)


ProgressFn = Callable[[int, int, int], None]  # (partitions done, partitions, rows done)


def progress_bar(started: float) -> ProgressFn:
    """A bar redrawn in place on a terminal; on a log, a line at every tenth of the work."""
    tty = sys.stderr.isatty()
    last_tenth = [-1]

    def show(done: int, total: int, rows: int) -> None:
        elapsed = time.perf_counter() - started
        text = f"{done}/{total} partitions, {rows:,} rows, {elapsed:.1f} s"
        if tty:
            filled = int(30 * done / max(total, 1))
            end = "\n" if done == total else ""
            print(f"\r[{'#' * filled}{' ' * (30 - filled)}] {text}", end=end, file=sys.stderr, flush=True)
        elif done * 10 // max(total, 1) > last_tenth[0]:
            last_tenth[0] = done * 10 // max(total, 1)
            print(f"progress: {text}", file=sys.stderr, flush=True)

    return show


def refuse_used_output(out_dir: Path) -> None:
    """The output must be new (or an empty directory): checked before a cluster starts, and again
    when the job writes."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BatchError(f"{out_dir} already exists and is not an empty directory; remove it or choose another")


def _prepare_output(out_dir: Path) -> Path:
    refuse_used_output(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.{uuid.uuid4().hex[:8]}.part"
    tmp.mkdir()
    return tmp


def run_job(
    client: Client,
    scorer: BatchScorer,
    parts: Sequence[Partition],
    out_dir: Path,
    progress: ProgressFn | None = None,
    batch_rows: int = BATCH_ROWS,
) -> JobSummary:
    """Score every partition on the cluster behind `client`; OUT_DIR appears only on success."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    out_dir = Path(out_dir).resolve()
    tmp = _prepare_output(out_dir)
    started = time.perf_counter()
    futures = []
    try:
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(score_partition, scorer, p, str(tmp), batch_rows, key=f"ei-score-{token}-{p.out_name}")
            for p in parts
        ]
        rows = anomalies = unscorable = 0
        for done, future in enumerate(as_completed(futures), 1):
            try:
                result: PartitionResult = future.result()
            except KilledWorker:
                raise ClusterError(
                    "workers kept dying while scoring a partition (out of memory? try a smaller "
                    "--partition-rows, or give the workers more memory)"
                ) from None
            except FutureCancelledError as exc:  # an asyncio.CancelledError: not an Exception
                raise ClusterError(f"the cluster cancelled the job (did the scheduler stop?): {exc}") from None
            rows += result.rows
            anomalies += result.anomalies
            unscorable += result.unscorable
            if progress:
                progress(done, len(parts), rows)
        seconds = time.perf_counter() - started
        for leftover in tmp.iterdir():  # hidden part files of tasks cut short by a lost worker
            if leftover.name.startswith("."):
                leftover.unlink(missing_ok=True)
        if out_dir.exists():
            out_dir.rmdir()  # empty: checked by _prepare_output
        os.replace(tmp, out_dir)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    workers = len(client.scheduler_info().get("workers", {}))
    files = len({p.path for p in parts})
    return JobSummary(files, len(parts), rows, anomalies, unscorable, seconds, workers)


def connect(scheduler: str | None, workers: int, stack: ExitStack) -> Client:
    """A client of the cluster at `scheduler`, else of a new local cluster of `workers` processes."""
    try:
        from distributed import Client
    except ImportError:
        raise BatchError(
            "`batch` needs Dask: pip install 'dask[distributed]' (or the package's [dask] extra)"
        ) from None
    if scheduler:
        try:
            client: Client = stack.enter_context(Client(scheduler, timeout="15s"))
            client.wait_for_workers(1, timeout=60)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach a Dask scheduler with workers at {scheduler} ({exc})") from None
        return client
    cluster = stack.enter_context(local_cluster(workers))
    local: Client = stack.enter_context(Client(cluster))  # distributed leaves `Client.__enter__` unannotated
    return local


def local_cluster(workers: int) -> LocalCluster:
    """Worker processes on this machine, one thread each, listening on loopback only; no dashboard
    (the scheduler's HTTP routes take a free port, so a second cluster does not fight for 8787)."""
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,
    )

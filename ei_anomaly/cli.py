"""Command line: `python -m ei_anomaly {score,threshold,report,parity,alarms,handoff,fetch,blocks,serve,...}`.

Exit codes: 0 success; 2 bad input or usage; 3 API or network failure; `parity` exits 1 when the
blocks differ. Errors are one line,
`error: ...`, on stderr, and no partial output file is left behind. An unexpected failure
(a bug) prints its traceback too only with `--debug` or ANOMALY_LENS_DEBUG=1, the key removed.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO, NoReturn, cast

if TYPE_CHECKING:
    from .client import EdgeImpulseClient

from .constants import DEFAULT_BASE_URL, FAULT_MODES
from .errors import EXIT_INPUT, EXIT_OK, AnomalyLensError, UsageError
from .features import map_columns, replaced_result_columns
from .redact import redact
from .review.wording import counts_line
from .rules import FLOAT32_MAX, fits_float32
from .streaming import FeatureStream, StreamSummary, open_feature_stream, score_stream
from .visible import visible_controls

if TYPE_CHECKING:
    from .blocks import AnomalyBlock
    from .report import Review

# The HTTP pieces are imported by the commands that use them: `score` starts faster without.

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write to a temporary file beside `path` and rename it: no partial file on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def numba_without_scipy() -> Iterator[None]:
    """Load numba and the kernels without letting numba import scipy.linalg (~0.2 s of a 1 s run).

    numba imports scipy's BLAS only to offer `np.dot` and `np.linalg` to compiled code (when it
    is imported, and when its compiler first starts); the scoring kernels use neither. scipy is
    hidden meanwhile and importable again after. Nothing is hidden when numba or scipy is already
    imported (in-process callers, the app)."""
    if "numba" in sys.modules or "scipy" in sys.modules:
        yield
        return
    # typeshed types sys.modules as dict[str, ModuleType]; a None entry is allowed and makes the import fail
    modules = cast("dict[str, ModuleType | None]", sys.modules)
    modules["scipy"] = None  # `import scipy` raises ImportError
    try:
        yield
    finally:
        if "scipy" in modules and modules["scipy"] is None:
            del modules["scipy"]


@dataclass
class _Loaded:
    """What `_load_model_and_kernel` hands to the main thread: the model, or why it failed."""

    model: AnomalyBlock | None = None
    error: BaseException | None = None


TARGETS = ("linux", "cortex-m")
FEATURE_SPACES = ("raw", "normalized")


def add_setup_arguments(p: argparse.ArgumentParser) -> None:
    """--target and --features-are: what the review names besides the block (`ScoringSetup`)."""
    p.add_argument(
        "--target",
        choices=TARGETS,
        help="whose float32 arithmetic the scores are exact to: the SDK on a Linux/x86 runner, or on a Cortex-M with "
        "a single-precision FPU (default: cortex-m for a deployment export, linux otherwise)",
    )
    p.add_argument(
        "--features-are",
        choices=FEATURE_SPACES,
        help="an export with data normalization: the rows are the DSP blocks' raw output (normalized with the "
        "export's constants before scoring; the default) or already normalized",
    )


def with_setup(block: AnomalyBlock, args: argparse.Namespace) -> AnomalyBlock:
    """The block with the command's --target and --features-are, when given."""
    from .blocks.parts import FeatureSpace, Target

    changes: dict[str, object] = {}
    if getattr(args, "target", None):
        changes["target"] = Target(args.target)
    if getattr(args, "features_are", None):
        if block.setup.normalization is None:
            raise UsageError(
                "--features-are applies to a deployment export with data normalization; this block has none "
                "(its rows are scored as they are)"
            )
        changes["features_are"] = FeatureSpace(args.features_are)
    return block.with_setup(**changes) if changes else block


def setup_notes(block: AnomalyBlock) -> list[str]:
    """What a command says on stderr about the rows and the target, before its summary line."""
    notes = []
    rows = block.rows_note
    if rows is not None:
        notes.append(f"{'warning' if block.setup.studio_normalizes else 'note'}: {rows}")
    notes.append(f"note: scores are exact to {block.score_definition.exact_to}")
    return notes


def scored_file_notes(block: AnomalyBlock) -> dict[str, str]:
    """What a scored Parquet file's metadata says about its scores: the rows, the target, the block."""
    notes = {
        "anomaly_lens.rows": block.rows_note or "scored as they are",
        "anomaly_lens.target": block.setup.target.value,
        "anomaly_lens.exact_to": block.score_definition.exact_to,
        "anomaly_lens.block": f"{block.kind.value} {block.fingerprint}",
    }
    origin = block.setup.origin
    if origin is not None:
        notes["anomaly_lens.export"] = f"{origin.name}: {origin.layout}"
    return notes


def _load_model_and_kernel(path: Path, out: _Loaded, args: argparse.Namespace | None = None) -> None:
    """Background half of `score`: validate the metadata and load the compiled kernel
    (pydantic and numba imports included) while the main thread parses the feature file."""
    # The kernel runs once per block; OpenMP threads that spin-wait between blocks would take a
    # core from parsing and writing. Read by libgomp when numba loads it, so set before that.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        with numba_without_scipy():
            from . import load_metadata, scoring

            model = load_metadata(path)
            out.model = with_setup(model, args) if args is not None else model
            out.model.open_scoring()  # a GMM block's model file starts in its worker meanwhile
            scoring.warm_up()
    except BaseException as exc:  # handed to the main thread, which reports it
        out.error = exc


def cmd_score(args: argparse.Namespace) -> int:
    fmt = "csv"
    if args.output:
        fmt = OUTPUT_FORMATS.get(Path(args.output).suffix.lower(), "")
        if not fmt:
            raise UsageError(f"cannot tell the output format of {args.output}; use .csv or .parquet")
    loaded = _Loaded()
    worker = threading.Thread(target=_load_model_and_kernel, args=(Path(args.metadata), loaded, args), daemon=True)
    worker.start()
    stream: FeatureStream | AnomalyLensError  # the stream, or why the feature file could not be read
    try:
        stream = open_feature_stream(Path(args.features))  # reads the first block, then parses ahead
    except AnomalyLensError as exc:
        stream = exc
    worker.join()
    try:
        if loaded.error is not None:  # metadata problems first, as the arguments come in that order
            raise loaded.error
        if isinstance(stream, AnomalyLensError):  # the feature file could not be read
            raise stream
        assert loaded.model is not None  # the worker sets the model or the error
        _score_to_output(args, fmt, stream, loaded.model)
    finally:
        if isinstance(stream, FeatureStream):
            stream.close()  # stops the parsing thread when scoring never started or failed
    return EXIT_OK


def _score_to_output(args: argparse.Namespace, fmt: str, stream: FeatureStream, model: AnomalyBlock) -> None:
    mapping = map_columns(stream.first, model)
    threshold = model.default_threshold if args.threshold is None else args.threshold
    summary = StreamSummary()
    reference = None
    if args.reference is not None:  # the normal windows each row's p-value is relative to
        from .report.review import normal_windows

        normal = normal_windows(args.reference, model, label_column=args.reference_label)
        if not normal.windows:
            raise UsageError(f"the reference has no scorable normal windows ({normal.origin})")
        reference = normal.reference

    def write(fh: BinaryIO) -> None:
        nonlocal summary
        summary = score_stream(
            stream, model, mapping, threshold, fmt, fh, args.spreadsheet_safe, reference, scored_file_notes(model)
        )

    if args.output:
        _atomic_write(Path(args.output), write)
    else:
        write(sys.stdout.buffer)
        sys.stdout.flush()
    if summary.first_bad_cell is not None:
        cell = summary.first_bad_cell
        print(
            f"warning: {summary.bad_cells} cells of number columns are not numbers (first: row {cell.row}, column "
            f"{cell.column!r}: {cell.text!r}); they are empty in the output and rows that need them are unscorable",
            file=sys.stderr,
        )
    for note in stream.first.notes:
        print(f"note: {note}", file=sys.stderr)
    for line in setup_notes(model):
        print(for_terminal(line), file=sys.stderr)
    replaced = replaced_result_columns(stream.first)
    if replaced:
        print(f"note: replaced the input's earlier results ({', '.join(replaced)}) with new scores", file=sys.stderr)
    print(counts_line(summary.rows, summary.anomalies, summary.unscorable, threshold, mapping.how), file=sys.stderr)
    if reference is not None:
        print(f"p_value: among {normal.origin}", file=sys.stderr)


def cmd_threshold(args: argparse.Namespace) -> int:
    """The threshold a target false-alarm rate allows at a confidence, from normal windows alone."""
    import json

    from .blocks import load_block
    from .bounds import Unit, ordinal
    from .report.review import normal_windows
    from .review.guarantee import guarantee_section, percent

    unit = Unit(stride=args.stride or 1, per=args.per)  # before any reading: exit 2 on a bad unit
    for name, value in (("--fpr", args.fpr), ("--confidence", args.confidence)):
        if not 0 < value < 1:
            raise UsageError(f"{name} must be above 0 and below 1 (e.g. 0.01, 0.95), not {value:g}")
    model = with_setup(load_block(Path(args.block)), args)
    normal = normal_windows(args.normal, model, label_column=args.label, per=args.per, time_column=args.time)
    current = model.default_threshold if args.threshold is None else args.threshold
    section = guarantee_section(normal, current, unit=unit, fpr=args.fpr, confidence=args.confidence)
    if section.too_few is not None:
        raise UsageError(section.too_few)
    found = section.found
    assert found.threshold is not None and found.upper_bound is not None  # it qualifies
    if args.json:
        out = {
            "threshold": found.threshold,
            "n": section.n,
            "m": found.m,
            "fpr": args.fpr,
            "confidence": args.confidence,
            "unit": section.unit_text,
        } | {
            k: v for k, v in section.to_dict().items() if k not in ("threshold", "n", "m", "fpr", "confidence", "unit")
        }
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        assert found.m is not None and found.rank is not None and found.exceed_probability is not None
        lines = [
            f"threshold {section.threshold_value}",
            f"n {section.n:,}; m {found.m:,}: the {ordinal(found.rank)} largest of the {section.n:,} scores",
            f"guarantee: false-alarm rate <= {percent(args.fpr)} with {percent(args.confidence)} confidence "
            f"(P(Binomial({section.n:,}, {args.fpr:g}) <= {found.m:,}) = {percent(found.exceed_probability)})",
            f"achieved bound: {found.above:,} of {section.counted} above it; false-alarm rate <= "
            f"{percent(found.upper_bound)} with {percent(args.confidence)} confidence",
            f"unit: {section.unit_text}; from {for_terminal(section.origin)}",
            section.current_text[0].lower() + section.current_text[1:],
        ]
        sys.stdout.write("\n".join(lines) + "\n")
    for line in setup_notes(model):  # once it succeeded: an error stays one line
        print(for_terminal(line), file=sys.stderr)
    return EXIT_OK


def cmd_alarms(args: argparse.Namespace) -> int:
    """Simulate an alarm policy per device over a fleet log: one CSV row per device, a fleet summary."""
    from .alarms import AlarmPolicy, parse_smoothing, simulate
    from .alarms.log_file import choose_fleet_columns, read_fleet_log
    from .alarms.table_csv import fleet_summary_lines, write_alarm_table

    smoothing = parse_smoothing(args.smooth) if args.smooth else None  # before any reading: exit 2, no output
    if args.stride is not None and args.stride <= 0:
        raise UsageError(f"--stride must be a number of seconds above 0, not {args.stride:g}")
    if not str(args.output).lower().endswith(".csv"):
        raise UsageError(f"the alarm table is CSV: name the output .csv, not {args.output}")
    loaded = _Loaded()
    worker = threading.Thread(target=_load_model_and_kernel, args=(Path(args.metadata), loaded, args), daemon=True)
    worker.start()
    stream: FeatureStream | AnomalyLensError
    try:
        stream = open_feature_stream(Path(args.features))
    except AnomalyLensError as exc:
        stream = exc
    worker.join()
    try:
        if loaded.error is not None:
            raise loaded.error
        if isinstance(stream, AnomalyLensError):
            raise stream
        assert loaded.model is not None
        model = loaded.model
        threshold = model.default_threshold if args.threshold is None else args.threshold
        policy = AlarmPolicy(threshold, smoothing, args.cooldown or 0.0)
        columns = choose_fleet_columns(stream.first.columns, args.device, args.time, args.class_column)
        scored = read_fleet_log(stream, model, columns, args.stride)
    finally:
        if isinstance(stream, FeatureStream):
            stream.close()
    result = simulate(scored.log, policy)
    _atomic_write(Path(args.output), lambda fh: write_alarm_table(result, scored.log, fh, args.spreadsheet_safe))
    for note in scored.notes:
        print(f"note: {note}", file=sys.stderr)
    for line in setup_notes(model):
        print(for_terminal(line), file=sys.stderr)
    if scored.bad_cells:
        print(
            f"warning: {scored.bad_cells} cells of number columns are not numbers; rows that need them are unscorable",
            file=sys.stderr,
        )
    for line in fleet_summary_lines(result, scored.log):
        print(line, file=sys.stderr)
    return EXIT_OK


def cmd_handoff(args: argparse.Namespace) -> int:
    """Write anomaly_policy.h, test_vectors.csv and a README for the firmware into a directory."""
    from . import load_metadata
    from .alarms import parse_smoothing
    from .handoff import check_vector_count, write_handoff

    smoothing = parse_smoothing(args.smooth) if args.smooth else None
    check_vector_count(args.vectors)
    model = load_metadata(Path(args.metadata))
    stream = open_feature_stream(Path(args.features)) if args.features else None
    try:
        files = write_handoff(model, Path(args.output), args.threshold, smoothing, args.vectors, stream)
    finally:
        if stream is not None:
            stream.close()
    vectors = files.vectors.count("\n") - 1
    print(f"wrote {args.output}: anomaly_policy.h, test_vectors.csv ({vectors} vectors), README.md", file=sys.stderr)
    return EXIT_OK


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (seconds)."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text!r}")
    return value


REPORT_FORMATS = ("html", "json")


def cmd_report(args: argparse.Namespace) -> int:
    """One offline HTML file of the review (or its numbers as JSON): the block, and what was given
    with it: a feature file, a fleet log under an alarm policy, a second block to compare with."""
    from .alarms import FleetPolicy
    from .alarms.log_file import FleetFile

    if Path(args.output).is_dir():
        raise UsageError(f"{args.output} is a folder; give a file name, e.g. -o report.{args.format}")
    if args.format == "html":
        try:  # Plotly and Jinja2 are the `report` extra
            import jinja2  # noqa: F401
            import plotly  # noqa: F401
        except ImportError as exc:
            raise UsageError(
                f'the report needs Plotly and Jinja2 ({exc}); install them with: pip install "anomaly-lens[report]"'
            ) from None
    from .bounds import Unit
    from .report import Review

    policy = FleetPolicy.parse(args.smooth, args.cooldown)  # before any reading: exit 2 on a bad policy
    unit = Unit(stride=args.normal_stride or 1, per=args.normal_per)
    fleet = FleetFile(Path(args.fleet), args.device, args.time, None, args.stride) if args.fleet else None
    if args.budget is not None and fleet is None:
        raise UsageError("--budget is an alarm budget for the fleet log: give --fleet too")
    review = Review(
        Path(args.metadata),
        args.threshold,
        features=Path(args.features) if args.features else None,
        fleet=fleet,
        policy=policy,
        compare=Path(args.compare) if args.compare else None,
        title=args.title,
        fleet_budget_per_day=args.budget,
        normal=args.normal,
        normal_label=args.normal_label,
        unit=unit,
        fpr=args.fpr,
        confidence=args.confidence,
        target=args.target,
        features_are=args.features_are,
    )
    text = review.to_json(args.output) if args.format == "json" else review.to_html(args.output)
    print(f"wrote {args.output} ({len(text.encode()) / 1e6:.1f} MB){_report_line(review)}", file=sys.stderr)
    return EXIT_OK


def _report_line(review: Review) -> str:
    """What the review found, in the words `score` uses, after the file's name."""
    snapshot = review.snapshot
    parts = []
    if snapshot.scoring is not None:
        parts.append(snapshot.scoring.summary.line)
    comparison = snapshot.comparison
    if comparison is not None:
        parts.append(comparison.shared.origin if comparison.shared is not None else "no shared labelled windows")
        if comparison.labelled is not None:
            a, b = comparison.labelled
            parts[-1] += f"; recall A {a.counts.recall:.1%}, B {b.counts.recall:.1%} at their thresholds"
    fleet = snapshot.fleet_comparison
    if fleet is not None:
        rates = (fleet.a.own.fleet_rate, fleet.b.own.fleet_rate)
        parts.append(f"alarms per device per day on {fleet.log_name}: A {rates[0]:.3g}, B {rates[1]:.3g}")
    return "".join(f"; {part}" for part in parts)


def _client(args: argparse.Namespace) -> EdgeImpulseClient:
    from .client import EdgeImpulseClient

    key = os.environ.get("EI_API_KEY", "")
    if not key.strip():
        raise UsageError("set the EI_API_KEY environment variable to your project's API key")
    return EdgeImpulseClient(key, args.base_url)


def cmd_fetch(args: argparse.Namespace) -> int:
    """`-o X.json`: the metadata file; `-o DIR`: a block directory (a GMM block needs one)."""
    from .blocks.fetch import save_block

    text, note = save_block(_client(args), args.project_id, args.learn_id, Path(args.output) if args.output else None)
    sys.stdout.write(text)
    if note:
        print(note, file=sys.stderr)
    return EXIT_OK


def cmd_blocks(args: argparse.Namespace) -> int:
    from .blocks import kind_label

    blocks = _client(args).list_anomaly_blocks(args.project_id)
    if not blocks:
        print(f"project {args.project_id} has no anomaly blocks", file=sys.stderr)
    for b in blocks:
        print(f"{b.id}\t{for_terminal(b.name)}\t{kind_label(b.type)}")
    return EXIT_OK


EXIT_DIFFERS = 1  # `parity`: the two blocks differ (0: the same; 2: bad input; 3: API)


def cmd_parity(args: argparse.Namespace) -> int:
    """Is the export (or any block) block B, number for number? Exit 0 same, 1 differs."""
    from . import load_metadata
    from .review.parity import PROBE_ROWS, block_parity

    if args.other is None and (args.project_id is None or args.learn_id is None):
        raise UsageError(
            "give block B: a block directory (or metadata file, or export), or --project-id and --learn-id"
        )
    if args.other is not None and (args.project_id is not None or args.learn_id is not None):
        raise UsageError("give block B once: a path, or --project-id and --learn-id, not both")
    if args.probes is not None and args.probes < 2:
        raise UsageError(f"--probes must be at least 2, not {args.probes}")
    a = load_metadata(Path(args.block))
    if args.other is not None:
        b, name_b = load_metadata(Path(args.other)), Path(args.other).name
    else:
        from .blocks.fetch import fetch_block

        b = fetch_block(_client(args), args.project_id, args.learn_id)
        name_b = f"Studio's block {args.learn_id} (project {args.project_id})"
    section = block_parity(a, b, Path(args.block).name, name_b, args.probes or PROBE_ROWS)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(section.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        for line in section.lines():
            print(for_terminal(line))
    return EXIT_OK if section.same else EXIT_DIFFERS


def cmd_serve(args: argparse.Namespace) -> int:
    from .local_api.server import serve

    serve(args.port, args.api_key, [Path(p) for p in args.metadata], args.fault, args.readonly_key)
    return EXIT_OK


def cmd_set_threshold(args: argparse.Namespace) -> int:
    """Write one threshold of an anomaly block back to Studio; prints block, key, old -> new."""
    from .blocks.fetch import fetch_block
    from .write_back import parse_threshold_value, pick_threshold, save_threshold

    value = parse_threshold_value(args.value)
    client = _client(args)
    model = fetch_block(client, args.project_id, args.learn_id)
    threshold = pick_threshold(model, args.key, args.learn_id)
    saved = save_threshold(client, args.project_id, args.learn_id, threshold.key, value, args.regenerate)
    print(f"block {args.learn_id}: {threshold.key} {threshold.value} -> {value}")
    print(saved.describe())
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    """Score many files on Dask: a local cluster of --workers processes, or --scheduler's."""
    import time
    from contextlib import ExitStack

    from . import load_metadata
    from .batch import BatchScorer
    from .batch_job import (
        connect,
        find_inputs,
        plan_partitions,
        progress_bar,
        refuse_used_output,
        run_job,
        sample_table,
    )

    if args.workers < 1 or args.partition_rows < 1:
        raise UsageError("--workers and --partition-rows must be at least 1")
    refuse_used_output(Path(args.output))  # before a cluster starts for nothing
    model = with_setup(load_metadata(Path(args.metadata)), args)
    files = find_inputs(args.inputs)
    scorer = BatchScorer.for_sample(model, sample_table(files[0]), args.threshold)
    parts = plan_partitions(files, args.partition_rows)
    with ExitStack() as stack:
        started = time.perf_counter()
        client = connect(args.scheduler, args.workers, stack)
        ready = time.perf_counter() - started
        summary = run_job(client, scorer, parts, Path(args.output), progress_bar(time.perf_counter()))
        counts = counts_line(summary.rows, summary.anomalies, summary.unscorable, scorer.threshold, scorer.how)
        for line in setup_notes(model):  # once it succeeded: an error stays one line
            print(for_terminal(line), file=sys.stderr)
        print(
            f"{summary.files} files, {counts}; {summary.partitions} partitions on "
            f"{summary.workers} workers in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s; "
            f"cluster ready in {ready:.1f} s); wrote {args.output}",
            file=sys.stderr,
        )  # before the cluster shuts down, which takes a second or two
    return EXIT_OK


def for_terminal(text: str) -> str:
    """Text for a terminal: control and bidi-control characters from data (an escape sequence
    could retitle or rewrite the terminal, an override reorder the line) shown as escapes."""
    return visible_controls(text.replace("\n", " "))


def finite_float(text: str) -> float:
    """argparse type: a finite number (`nan` would flag nothing, `inf` nothing either)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def threshold_float(text: str) -> float:
    """argparse type: a threshold, which devices hold in float32 (beyond about ±3.4e38 it is no number there)."""
    value = finite_float(text)
    if not fits_float32(value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside the float32 range thresholds are held in (±{FLOAT32_MAX:.4g})"
        )
    return value


class _OneLineErrors(argparse.ArgumentParser):
    """Usage mistakes end like every other error: one `error: ...` line (with where to find help), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"error: {message} (see `{self.prog} --help`)\n")


BLOCK_HELP = (
    "the block: anomaly metadata JSON, a block directory (from `fetch`), or a deployment export (a C++ or Arduino "
    "library .zip, or a folder holding one; EXPORT#ID picks one of several anomaly blocks)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(prog="python -m ei_anomaly", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="print the traceback of an unexpected failure")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("score", help="score a feature CSV/Parquet file with SDK semantics")
    p.add_argument("metadata", help=BLOCK_HELP)
    p.add_argument("features", help="feature file: CSV or Parquet")
    p.add_argument("-o", "--output", help="output .csv or .parquet (default: CSV on stdout)")
    p.add_argument("--threshold", type=threshold_float, help="anomaly when score > T (default: the block's own)")
    p.add_argument(
        "--spreadsheet-safe",
        action="store_true",
        help="for CSV opened in Excel/Sheets: prefix text cells starting with = + - @ with ' (numbers unchanged)",
    )
    p.add_argument(
        "--reference",
        metavar="NORMAL_FILE",
        help="add a p_value column: how unusual each row is among these normal windows (a feature file of "
        "normal operation, or `validation`: the block's validation windows labelled normal)",
    )
    p.add_argument("--reference-label", metavar="COL", help="with --reference: only its rows whose COL says normal")
    add_setup_arguments(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "threshold", help="the threshold a target false-alarm rate allows, guaranteed at a confidence, from normal data"
    )
    p.add_argument("block", metavar="BLOCK", help=BLOCK_HELP)
    p.add_argument(
        "normal",
        metavar="NORMAL_FILE",
        help="a feature file of normal operation (CSV or Parquet), or `validation`: the block's validation "
        "windows labelled normal",
    )
    p.add_argument("--fpr", type=finite_float, default=0.01, help="the target false-alarm rate (default 0.01)")
    p.add_argument("--confidence", type=finite_float, default=0.95, help="the confidence (default 0.95)")
    unit = p.add_mutually_exclusive_group()
    unit.add_argument(
        "--stride",
        type=positive_int,
        metavar="K",
        help="count every K-th window (overlapping windows are not independent)",
    )
    unit.add_argument(
        "--per",
        metavar="COLUMN",
        help="count one score per value of COLUMN, its highest (a sample, a device); `hour`, or COLUMN-hour "
        "(e.g. device-hour), for the hour of the time column",
    )
    p.add_argument("--label", metavar="COL", help="only the rows whose COL says normal (not empty, not anomaly)")
    p.add_argument("--time", metavar="COL", help="the time column for hour units (default: found by name)")
    p.add_argument(
        "--threshold", type=threshold_float, help="also bound this threshold's false-alarm rate (default: the block's)"
    )
    p.add_argument("--json", action="store_true", help="print JSON: threshold, n, m, fpr, confidence, unit, ...")
    add_setup_arguments(p)
    p.set_defaults(func=cmd_threshold)

    p = sub.add_parser("alarms", help="simulate an alarm policy (the SDK's smoothing) per device over a fleet log")
    p.add_argument("metadata", help=BLOCK_HELP)
    p.add_argument("features", help="the fleet log: a feature file (CSV or Parquet) with device and time columns")
    p.add_argument("-o", "--output", required=True, help="the per-device table, .csv")
    p.add_argument("--threshold", type=threshold_float, help="the anomaly threshold (default: the block's own)")
    p.add_argument("--smooth", metavar="N:K", help="the SDK's smoothing: N readings, K the same (default: none)")
    p.add_argument("--cooldown", type=non_negative_float, metavar="SECONDS", help="no new alarm this soon after one")
    p.add_argument("--device", metavar="COL", help="the device column (default: detected by name)")
    p.add_argument("--time", metavar="COL", help="the time column (default: detected by name)")
    p.add_argument(
        "--stride", type=finite_float, metavar="SECONDS", help="seconds between windows, without a time column"
    )
    p.add_argument("--class-column", metavar="COL", help="the predicted class per window (impulses with a classifier)")
    p.add_argument(
        "--spreadsheet-safe",
        action="store_true",
        help="for CSV opened in Excel/Sheets: prefix device ids starting with = + - @ with ' (as `score` does)",
    )
    add_setup_arguments(p)
    p.set_defaults(func=cmd_alarms)

    p = sub.add_parser("handoff", help="write a C header, test vectors and a README that hand a policy to firmware")
    p.add_argument("metadata", help=BLOCK_HELP)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="the directory to write into")
    p.add_argument("--threshold", type=threshold_float, required=True, help="anomaly when score > T")
    p.add_argument("--smooth", metavar="N:K", help="the SDK's smoothing: N readings, K the same (default: none)")
    p.add_argument(
        "--features", help="pick the test vectors from this feature file (default: made around the clusters)"
    )
    p.add_argument("--vectors", type=int, default=64, help="how many test vectors (default 64)")
    p.set_defaults(func=cmd_handoff)

    p = sub.add_parser("report", help="write one offline HTML report of the review (or its numbers as JSON)")
    p.add_argument("metadata", help=BLOCK_HELP)
    p.add_argument("-o", "--output", required=True, help="where to write the .html (or .json) file")
    p.add_argument(
        "--format",
        choices=REPORT_FORMATS,
        default="html",
        help="html: the offline report; json: every number it shows, for a pipeline to gate on (default html)",
    )
    p.add_argument("--features", help="also score this feature file (CSV or Parquet) and report on it")
    p.add_argument(
        "--compare",
        metavar="BLOCK",
        help="compare with this second block (metadata JSON, block directory or export), parity included",
    )
    p.add_argument("--threshold", type=threshold_float, help="anomaly when score > T (default: the block's own)")
    p.add_argument("--title", help="the report's title (default: from the metadata file name)")
    p.add_argument("--fleet", metavar="LOG", help="add a fleet section: this fleet log under the alarm policy below")
    p.add_argument("--smooth", metavar="N:K", help="with --fleet: the SDK's smoothing (default: none)")
    p.add_argument("--cooldown", type=non_negative_float, metavar="SECONDS", help="with --fleet: the alarm cool-down")
    p.add_argument("--device", metavar="COL", help="with --fleet: the device column (default: detected by name)")
    p.add_argument("--time", metavar="COL", help="with --fleet: the time column (default: detected by name)")
    p.add_argument("--stride", type=finite_float, metavar="SECONDS", help="with --fleet: seconds between windows")
    p.add_argument(
        "--budget", type=non_negative_float, metavar="PER_DAY", help="with --fleet: an alarm budget per device per day"
    )
    p.add_argument(
        "--normal",
        metavar="NORMAL_FILE",
        help="the false-alarm guarantee from this file of normal operation (also the scored file's p-values); "
        "default: the validation windows labelled normal",
    )
    p.add_argument("--normal-label", metavar="COL", help="with --normal: only its rows whose COL says normal")
    p.add_argument("--fpr", type=finite_float, default=0.01, help="the guarantee's target false-alarm rate")
    p.add_argument("--confidence", type=finite_float, default=0.95, help="the guarantee's confidence")
    normal_unit = p.add_mutually_exclusive_group()
    normal_unit.add_argument("--normal-stride", type=positive_int, metavar="K", help="count every K-th normal window")
    normal_unit.add_argument("--normal-per", metavar="COLUMN", help="count one normal score per value of COLUMN")
    add_setup_arguments(p)
    p.set_defaults(func=cmd_report)

    for name, func, text in (
        ("fetch", cmd_fetch, "download and validate a block: -o X.json its metadata, -o DIR the block directory"),
        ("blocks", cmd_blocks, "list a project's anomaly blocks, K-means and GMM (key from EI_API_KEY)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--project-id", type=int, required=True)
        if name == "fetch":
            p.add_argument("--learn-id", type=int, required=True)
            p.add_argument("-o", "--output", help="where to save the JSON (default: stdout)")
        p.add_argument("--base-url", default=DEFAULT_BASE_URL)
        p.set_defaults(func=func)

    p = sub.add_parser("set-threshold", help="write a block's threshold back to Studio (admin key in EI_API_KEY)")
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("--learn-id", type=int, required=True)
    p.add_argument("--value", required=True, help="the new threshold (anomaly when score > value)")
    p.add_argument("--key", help="which threshold (default: the block's anomaly threshold, min_anomaly_score)")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL)
    p.add_argument(
        "--regenerate", action="store_true", help="let Studio start a job to regenerate model-testing results"
    )
    p.set_defaults(func=cmd_set_threshold)

    p = sub.add_parser("batch", help="score many feature files on a Dask cluster into a Parquet directory")
    p.add_argument("metadata", help=BLOCK_HELP)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="Parquet/CSV files, directories or globs")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="new directory for the Parquet output")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    p.add_argument("--threshold", type=threshold_float, help="anomaly when score > T (default: the block's own)")
    p.add_argument(
        "--partition-rows", type=int, default=1_000_000, help="rows per task, at Parquet row-group boundaries"
    )
    add_setup_arguments(p)
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser(
        "parity",
        help="is a deployment export the block in Studio? every difference with its size (exit 0 same, 1 differs)",
    )
    p.add_argument(
        "block", metavar="EXPORT", help="block A, usually the deployment export: " + BLOCK_HELP[len("the block: ") :]
    )
    p.add_argument("other", nargs="?", metavar="BLOCK_DIR", help="block B: a block directory, metadata file or export")
    p.add_argument("--project-id", type=int, help="block B from Studio: the project (key from EI_API_KEY)")
    p.add_argument("--learn-id", type=int, help="block B from Studio: the anomaly learn block")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL)
    p.add_argument("--probes", type=int, help="rows both blocks score (default 2000)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser("serve", help="run the local Edge Impulse-compatible API server (demo project)")
    p.add_argument("metadata", nargs="*", help="extra metadata JSON files served as more learn blocks")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    p.add_argument("--fault", choices=FAULT_MODES, help="answer every request badly, to see how clients cope")
    p.add_argument("--readonly-key", help="also accept this key, for reads only: its writes get 403")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        command: Callable[[argparse.Namespace], int] = args.func  # set by every subcommand's parser
        return command(args)
    except AnomalyLensError as exc:  # the error's type says which exit code
        print(for_terminal(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # last line of defence: one line; the traceback only when asked for
        key = (os.environ.get("EI_API_KEY", ""),)
        debug = args.debug or os.environ.get("ANOMALY_LENS_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
        if debug:
            sys.stderr.write(redact(traceback.format_exc(), key))
        hint = "" if debug else "; run with --debug or ANOMALY_LENS_DEBUG=1 for the traceback"
        print(f"error: unexpected failure ({redact(f'{type(exc).__name__}: {exc}', key)}){hint}", file=sys.stderr)
        return 1

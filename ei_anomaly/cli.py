"""Command line: `python -m ei_anomaly {score,fetch,blocks,serve}`.

Exit codes: 0 success; 2 bad input or usage; 3 API or network failure. Errors are one line,
`error: ...`, on stderr; no traceback, and no partial output file is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from .client import EdgeImpulseClient

from .constants import DEFAULT_BASE_URL, FAULT_MODES
from .errors import AnomalyLensError, ApiError
from .features import map_columns
from .streaming import FeatureStream, StreamSummary, open_feature_stream, score_stream

if TYPE_CHECKING:
    from .model import AnomalyModel

# The HTTP pieces are imported by the commands that use them: `score` starts faster without.

EXIT_OK, EXIT_INPUT, EXIT_API = 0, 2, 3
OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


class UsageError(AnomalyLensError):
    """Bad command-line usage that argparse cannot see (unknown output format, no key)."""


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
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
def _numba_without_scipy() -> Iterator[None]:
    """Load numba and the kernels without letting numba import scipy.linalg (~0.2 s of a 1 s run).

    numba imports scipy's BLAS only to offer `np.dot` and `np.linalg` to compiled code (when it
    is imported, and when its compiler first starts); the scoring kernels use neither. scipy is
    hidden meanwhile and importable again after. Nothing is hidden when numba or scipy is already
    imported (in-process callers, the app)."""
    if "numba" in sys.modules or "scipy" in sys.modules:
        yield
        return
    sys.modules["scipy"] = None  # type: ignore[assignment]  # `import scipy` raises ImportError
    try:
        yield
    finally:
        if "scipy" in sys.modules and sys.modules["scipy"] is None:
            del sys.modules["scipy"]


def _load_model_and_kernel(path: Path, out: dict[str, object]) -> None:
    """Background half of `score`: validate the metadata and load the compiled kernel
    (pydantic and numba imports included) while the main thread parses the feature file."""
    # The kernel runs once per block; OpenMP threads that spin-wait between blocks would take a
    # core from parsing and writing. Read by libgomp when numba loads it, so set before that.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        with _numba_without_scipy():
            from . import load_metadata, scoring

            out["model"] = load_metadata(path)
            scoring.warm_up()
    except BaseException as exc:  # handed to the main thread, which reports it
        out["error"] = exc


def cmd_score(args: argparse.Namespace) -> int:
    fmt = "csv"
    if args.output:
        fmt = OUTPUT_FORMATS.get(Path(args.output).suffix.lower(), "")
        if not fmt:
            raise UsageError(f"cannot tell the output format of {args.output}; use .csv or .parquet")
    loaded: dict[str, object] = {}
    worker = threading.Thread(target=_load_model_and_kernel, args=(Path(args.metadata), loaded), daemon=True)
    worker.start()
    feature_error: AnomalyLensError | None = None
    stream: FeatureStream | None = None
    try:
        stream = open_feature_stream(Path(args.features))  # reads the first block, then parses ahead
    except AnomalyLensError as exc:
        feature_error = exc
    worker.join()
    try:
        if "error" in loaded:  # metadata problems first, as the arguments come in that order
            raise loaded["error"]  # type: ignore[misc]
        if stream is None:  # the feature file could not be read
            raise feature_error  # type: ignore[misc]
        model: AnomalyModel = loaded["model"]  # type: ignore[assignment]
        _score_to_output(args, fmt, stream, model)
    finally:
        if stream is not None:
            stream.close()  # stops the parsing thread when scoring never started or failed
    return EXIT_OK


def _score_to_output(args: argparse.Namespace, fmt: str, stream: FeatureStream, model: AnomalyModel) -> None:
    mapping = map_columns(stream.first, model)
    threshold = model.default_threshold if args.threshold is None else args.threshold
    summary = StreamSummary()

    def write(fh: BinaryIO) -> None:
        nonlocal summary
        summary = score_stream(stream, model, mapping, threshold, fmt, fh)

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
    print(
        f"{summary.rows} rows, {summary.anomalies} anomalies (score > {threshold:g}), "
        f"{summary.unscorable} unscorable; mapping: {mapping.how}",
        file=sys.stderr,
    )


def _client(args: argparse.Namespace) -> EdgeImpulseClient:
    from .client import EdgeImpulseClient

    key = os.environ.get("EI_API_KEY", "")
    if not key.strip():
        raise UsageError("set the EI_API_KEY environment variable to your project's API key")
    return EdgeImpulseClient(key, args.base_url)


def cmd_fetch(args: argparse.Namespace) -> int:
    from .metadata import parse_metadata

    raw = _client(args).get_metadata(args.project_id, args.learn_id)
    parse_metadata(raw)  # refuse to save what cannot be scored
    text = json.dumps(raw, indent=1) + "\n"
    if args.output:
        _atomic_write(Path(args.output), lambda fh: fh.write(text.encode()))
        print(f"saved metadata of block {args.learn_id} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_blocks(args: argparse.Namespace) -> int:
    blocks = _client(args).list_anomaly_blocks(args.project_id)
    if not blocks:
        print(f"project {args.project_id} has no K-means anomaly blocks", file=sys.stderr)
    for b in blocks:
        print(f"{b.id}\t{b.name}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(args.port, args.api_key, [Path(p) for p in args.metadata], args.fault)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ei_anomaly", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("score", help="score a feature CSV/Parquet file with SDK semantics")
    p.add_argument("metadata", help="anomaly metadata JSON (from `fetch` or Studio's API)")
    p.add_argument("features", help="feature file: CSV or Parquet")
    p.add_argument("-o", "--output", help="output .csv or .parquet (default: CSV on stdout)")
    p.add_argument("--threshold", type=float, help="anomaly when score > T (default: the block's own)")
    p.set_defaults(func=cmd_score)

    for name, func, text in (
        ("fetch", cmd_fetch, "download and validate a block's metadata (key from EI_API_KEY)"),
        ("blocks", cmd_blocks, "list a project's K-means anomaly blocks (key from EI_API_KEY)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--project-id", type=int, required=True)
        if name == "fetch":
            p.add_argument("--learn-id", type=int, required=True)
            p.add_argument("-o", "--output", help="where to save the JSON (default: stdout)")
        p.add_argument("--base-url", default=DEFAULT_BASE_URL)
        p.set_defaults(func=func)

    p = sub.add_parser("serve", help="run the local Edge Impulse-compatible API server (demo project)")
    p.add_argument("metadata", nargs="*", help="extra metadata JSON files served as more learn blocks")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--api-key", help="the only key accepted (default: any non-empty key)")
    p.add_argument("--fault", choices=FAULT_MODES, help="answer every request badly, to see how clients cope")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_API
    except AnomalyLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # last line of defence: one line, never a traceback
        print(f"error: unexpected failure ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1

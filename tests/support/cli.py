"""`python -m ei_anomaly ...` run inside the test process: `ei_anomaly.cli.main(argv)` with what it
writes to stdout (text and `sys.stdout.buffer`, where `score` writes its CSV) and stderr captured,
environment variables set for the call only, and optionally another working directory.

A command costs what it computes, not a new interpreter with numpy, pandas, pyarrow and numba
to import (up to a second each). The result is shaped like `subprocess.CompletedProcess`.
What in-process runs cannot see (`__main__`'s flush and `os._exit`, imports of a fresh
interpreter, `serve` blocking until it is killed) stays with the few subprocess tests that say so.

Nothing leaks from one call to the next: the environment is put back as it was, keys the
command set itself included (`OMP_WAIT_POLICY`, which OpenMP has read before any command runs),
as are the working directory and the streams.
Warnings are written to the captured stderr as a fresh interpreter would show them, so a stray
warning breaks a "one line on stderr" check here as it would for a user.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

# numba before any command: `cli.numba_without_scipy` hides scipy while numba is first imported,
# which in a shared test process would leave numba without scipy for every later test. With numba
# loaded it does nothing.
import numba  # noqa: F401

from ei_anomaly import cli, scoring

# What a fresh `python -m ei_anomaly` shows: every warning (once per place) but these, Python's default filters.
_QUIET_BY_DEFAULT = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@dataclass(frozen=True)
class CliResult:
    """`subprocess.CompletedProcess`'s fields: `stdout` and `stderr` as text, the bytes beside them."""

    args: list[str]
    returncode: int
    stdout_bytes: bytes
    stderr_bytes: bytes

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8")


def run_cli(
    *args: object,
    env: Mapping[str, str | None] | None = None,
    cwd: str | Path | None = None,
) -> CliResult:
    """`python -m ei_anomaly *args`, in this process. `env`: variables for this call (None removes
    one, e.g. `{"EI_API_KEY": None}`); `cwd`: the working directory for this call.
    A traceback on stderr fails the test: no command run here may end in an unexpected failure."""
    argv = [str(a) for a in args]
    # OpenMP reads OMP_WAIT_POLICY once, when numba first loads its threading layer. Loaded here,
    # under this process's own environment, the policy `score` and `alarms` set for their own
    # process cannot outlive the call (the first kernel call would otherwise be in the command).
    scoring.threading_layer()
    out, err = io.BytesIO(), io.BytesIO()
    # write_through: text and bytes written to stdout land in the order they were written
    stdout = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", newline="", write_through=True)
    try:
        with (
            _environment(env or {}),
            _working_directory(cwd),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            _warnings_to(stderr),
        ):
            returncode = _exit_code(argv, stderr)
        stdout.flush()
        stderr.flush()
        result = CliResult(argv, returncode, out.getvalue(), err.getvalue())
    finally:
        stdout.detach()  # the wrappers would close the buffers when collected; nothing else holds them
        stderr.detach()
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _exit_code(argv: list[str], stderr: io.TextIOWrapper) -> int:
    """`main`'s return value, or what the interpreter makes of a `SystemExit` (argparse's usage errors)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=stderr)
        return 1


@contextlib.contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for key, value in changes.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


@contextlib.contextmanager
def _working_directory(cwd: str | Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = Path.cwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _warnings_to(stderr: io.TextIOWrapper) -> Iterator[None]:
    """Warnings shown on `stderr` under Python's default filters, not collected by pytest."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in _QUIET_BY_DEFAULT:
            warnings.simplefilter("ignore", category)
        warnings.showwarning = show
        yield

"""Unexpected failures: a short message for the visitor, the full traceback in the server log,
and no key in either; the CLI prints a traceback only when asked (--debug, ANOMALY_LENS_DEBUG)."""

from __future__ import annotations

import logging
import subprocess
import sys
from urllib.parse import quote

import pytest
from streamlit.testing.v1 import AppTest

import components.source
from components.errors import LOGGER_NAME, STREAMLIT_EXCEPTION_LOGGER, redact_logs
from ei_anomaly import cli
from tests.support.constants import ROOT

SERVER_KEY = "ei_server_key_in_secrets_77"
TYPED_KEY = "ei_typed/visitor+key 88"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def app_log():
    records = Records()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(records)
    yield records
    logger.removeHandler(records)


def boom(*args, **kwargs):
    raise RuntimeError(f"internal detail with {SERVER_KEY} and {quote(TYPED_KEY, safe='')}")


def test_a_page_failure_shows_a_reference_and_logs_the_traceback_without_keys(monkeypatch, app_log):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets["EI_API_KEY"] = SERVER_KEY
    at.session_state["ei_api_key"] = TYPED_KEY
    monkeypatch.setattr(components.source, "trained_ago", boom)
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "Something unexpected went wrong" in shown
    assert "internal detail" not in shown and "RuntimeError" not in shown  # short: details go to the log
    reference = shown.split("**")[1]
    logged = "\n".join(app_log.lines)
    assert f"ERROR page failed (reference {reference})" in logged
    assert "Traceback (most recent call last)" in logged and "in boom" in logged
    assert "RuntimeError: internal detail with *** and ***" in logged
    assert SERVER_KEY not in logged and quote(TYPED_KEY, safe="") not in logged


def test_streamlits_own_exception_log_is_redacted_too():
    """Exceptions in a fragment rerun bypass app.py's try/except; Streamlit logs them itself."""
    records = Records()
    logger = logging.getLogger(STREAMLIT_EXCEPTION_LOGGER)
    logger.addHandler(records)
    redact_logs(lambda: (SERVER_KEY,))
    try:
        try:
            boom()
        except RuntimeError as exc:
            logger.error("Uncaught app execution", exc_info=exc)
    finally:
        logger.removeHandler(records)
    assert "Traceback" in records.lines[0] and "internal detail" in records.lines[0]
    assert SERVER_KEY not in records.lines[0]


def test_the_app_logger_writes_to_stderr_with_a_time_stamp():
    proc = subprocess.run(
        [sys.executable, "-c", "from components.errors import log; log.error('hello from the app')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    line = proc.stderr.strip().splitlines()[-1]
    assert line.endswith("ERROR anomaly_lens: hello from the app")
    assert line[:4].isdigit()  # asctime first


@pytest.mark.parametrize(("argv", "env", "traceback"), [([], "", False), (["--debug"], "", True), ([], "1", True)])
def test_cli_prints_a_traceback_only_when_asked(monkeypatch, capsys, argv, env, traceback):
    monkeypatch.setattr(cli, "cmd_blocks", boom)
    monkeypatch.setenv("EI_API_KEY", SERVER_KEY)
    monkeypatch.setenv("ANOMALY_LENS_DEBUG", env)
    code = cli.main([*argv, "blocks", "--project-id", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: unexpected failure (RuntimeError")
    assert ("Traceback (most recent call last)" in err) == traceback
    assert SERVER_KEY not in err
    if not traceback:
        assert len(err.strip().splitlines()) == 1 and "--debug" in err

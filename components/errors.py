"""The last line of defence: an unexpected exception becomes a short message for the visitor and
a full traceback (secrets removed) in the server log."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable

import streamlit as st

from ei_anomaly.errors import AnomalyLensError, ApiError
from ei_anomaly.redact import redact

from .text import md_escape

LOGGER_NAME = "anomaly_lens"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Streamlit logs exceptions its script runner catches (e.g. in a fragment rerun, which app.py's
# try/except does not wrap) on this logger, with the full traceback.
STREAMLIT_EXCEPTION_LOGGER = "streamlit.error_util"


class RedactSecrets(logging.Filter):
    """Removes the secrets `secrets()` names from a record's message and traceback text."""

    def __init__(self, secrets: Callable[[], tuple[str, ...]]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            secrets = tuple(s for s in self.secrets() if s)
        except Exception:  # never lose a log record over this
            secrets = ()
        if secrets:
            record.msg, record.args = redact(record.getMessage(), secrets), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text, secrets)
        return True


def redact_logs(secrets: Callable[[], tuple[str, ...]]) -> None:
    """Keep the secrets `secrets()` names out of the app's and Streamlit's exception logs.
    Called on every run: the filter is installed once per logger, its source kept current."""
    for name in (LOGGER_NAME, STREAMLIT_EXCEPTION_LOGGER):
        logger = logging.getLogger(name)
        installed = [f for f in logger.filters if isinstance(f, RedactSecrets)]
        if installed:
            installed[0].secrets = secrets
        else:
            logger.addFilter(RedactSecrets(secrets))


def app_logger() -> logging.Logger:
    """The app's logger. Streamlit configures only its own loggers, so without a handler of ours
    these records would be lost (or reach Python's last-resort handler without a time stamp).
    Records go to stderr of `streamlit run`, where hosting platforms collect logs. A deployer who
    configured this logger (handlers of their own) keeps their setup."""
    log = logging.getLogger(LOGGER_NAME)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
        log.propagate = False
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
    return log


log = app_logger()


def show_unexpected(exc: Exception, secrets: tuple[str, ...] = ()) -> None:
    """Tell the visitor something broke (short, with a reference), log the full traceback."""
    reference = uuid.uuid4().hex[:8]
    details = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), secrets)
    log.error("page failed (reference %s):\n%s", reference, details.rstrip())
    st.error(
        "Something unexpected went wrong on this page. The other pages still work; if it keeps "
        f"happening, please report it with the reference **{reference}** (the details are in the server log).",
        icon=":material/bug_report:",
    )


def show_error(exc: AnomalyLensError, lead: str = "") -> None:
    """An expected error on the page: its text (never rendered as markdown), with an icon for its
    category: the network or the API, or something the visitor can fix in what they gave."""
    icon = ":material/cloud_off:" if isinstance(exc, ApiError) else ":material/error:"
    st.error(f"{lead}{md_escape(exc, 1000)}", icon=icon)

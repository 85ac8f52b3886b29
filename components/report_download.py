"""The "Download report" button: the stakeholder report for what the app has loaded."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from ei_anomaly import AnomalyModel
from ei_anomaly.features import ColumnMapping, read_feature_file, score_table

from .report import ScoredFile, build_report, report_filename
from .source import DEMO, Source
from .threshold import shared_threshold
from .uploads import last_upload_file

log = logging.getLogger("anomaly_lens")


def _scored_upload(model: AnomalyModel) -> Callable[[], ScoredFile] | None:
    """The last scored upload, as a function that scores it when the report is built.

    Reads session state now (the download callable runs without a script context) and leaves the
    parsing and scoring to the click, so no rerun of the page pays for them.
    """
    upload = last_upload_file(model)
    if upload is None:
        return None
    data, name, columns = upload

    def scored() -> ScoredFile:
        table = read_feature_file(data, name)
        return ScoredFile(table, score_table(table, model, ColumnMapping(list(columns), "")), name, columns)

    return scored


def show_report_download(source: Source) -> None:
    """A download button that builds the HTML report only when clicked."""
    model = source.model
    threshold = shared_threshold(model, model.anomaly_threshold)
    upload = _scored_upload(model)

    def build() -> str:
        return build_report(
            model,
            threshold=threshold,
            title=f"Anomaly model review: {source.title}",
            source_label=source.title,
            scored=upload() if upload is not None else None,
            illustrative=source.kind == DEMO,
        )

    st.download_button(
        "Download report",
        build,
        file_name=report_filename(source.title),
        mime="text/html",
        icon=":material/summarize:",
        on_click="ignore",
        help="One HTML file (about 5 MB) that opens offline in any browser: model summary, clusters, "
        "validation, on-device cost, the threshold and, if you scored a file, its results.",
    )
    # No file name here: captions render markdown, and the name is the user's text.
    with_upload = "with your last scored upload" if upload else "score a file on the Scoring page to add it"
    st.caption(f"Report at threshold {threshold:g}; {with_upload}.")

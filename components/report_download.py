"""The "Download report" button: the stakeholder report for what the app has loaded."""

from __future__ import annotations

import streamlit as st

from ei_anomaly import AnomalyModel
from ei_anomaly.alarms.views import FleetReview
from ei_anomaly.report import build_report, report_filename

from . import state
from .source import Source
from .threshold import shared_threshold
from .uploads import last_scored


def last_fleet_review(model: AnomalyModel) -> FleetReview | None:
    """The fleet log and policy the Fleet page last showed with this model, if any."""
    found = st.session_state.get(state.FLEET_REVIEW)
    if found is None or found[0] != model.fingerprint:
        return None
    review: FleetReview = found[1]
    return review


def show_report_download(source: Source) -> None:
    """A download button that builds the HTML report only when clicked."""
    model = source.model
    threshold = shared_threshold(model, model.anomaly_threshold)
    upload = last_scored(model)  # read now: the download callable runs without the session
    fleet = last_fleet_review(model)

    def build() -> str:
        return build_report(
            model,
            threshold=threshold,
            title=f"Anomaly model review: {source.title}",
            source_label=source.title,
            scored=upload,
            fleet=fleet,
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
    with_fleet = "; with the fleet and the alarm policy last shown on the Fleet page" if fleet else ""
    st.caption(f"Report at threshold {threshold:g}; {with_upload}{with_fleet}.")

"""The "Download this view" button (on every page): the offline report of what the page shows,
built only when clicked.

A page passes what it has on screen (the threshold, the scored file, the fleet log and policy, the
second block); the report is the `Review` of exactly that, the same file `python -m ei_anomaly
report` writes for those inputs. Nothing is read from what another page left in the session.
"""

from __future__ import annotations

import streamlit as st

from ei_anomaly.alarms import FleetPolicy
from ei_anomaly.report import Review, report_filename
from ei_anomaly.review import CompareWith, NamedLog, NormalWindows, ScoreSet
from ei_anomaly.scored_file import ScoredFile

from .source import Source


def show_report_download(
    source: Source,
    threshold: float,
    *,
    scored: ScoredFile | None = None,
    tune_on: ScoreSet | None = None,
    fleet: NamedLog | None = None,
    policy: FleetPolicy | None = None,
    fleet_budget_per_day: float | None = None,
    compare: CompareWith | None = None,
    normal: NormalWindows | None = None,
    key: str = "report_download",
) -> None:
    """A download button for the report of these inputs (built on click, on Streamlit's worker)."""

    def build() -> str:
        review = Review(
            source.block,
            threshold,
            features=scored,
            fleet=fleet,
            policy=policy,
            compare=compare,
            title=f"Anomaly model review: {source.title}",
            source_label=source.title,
            name=f"A: {source.title}",
            tune_on=tune_on,
            fleet_budget_per_day=fleet_budget_per_day,
            normal=normal,
        )
        return review.to_html()

    st.download_button(
        "Download this view",
        build,
        file_name=report_filename(source.title),
        mime="text/html",
        icon=":material/summarize:",
        on_click="ignore",
        key=key,
        help="One HTML file (about 5 MB) that opens offline in any browser: the model, its validation and "
        "on-device cost, the threshold, and what this page shows.",
    )
    # No file names here: captions render markdown, and the names are the user's text.
    with_upload = "with your last scored upload" if scored is not None else "score a file on the Scoring page to add it"
    parts = [f"Report at threshold {threshold:g}", with_upload]
    if fleet is not None:
        parts.append(f"with the fleet log on this page under {(policy or FleetPolicy()).describe()}")
    if compare is not None:
        parts.append("with the comparison on this page")
    if normal is not None:
        parts.append("with the normal windows chosen here (the guarantee and the p-values)")
    st.caption("; ".join(parts) + ".")

"""Scoring: upload feature files and score them exactly as the device would."""

import streamlit as st

from components import state, uploads
from components.charts import show_chart
from components.errors import show_error
from components.explain import show_explanation
from components.normal_source import select_normal_windows
from components.report_download import show_report_download
from components.review_notes import show_rows_note
from components.source import DemoSource, require_source, upload_limit_mb
from components.text import md_escape
from components.threshold import select_threshold, shared_threshold
from ei_anomaly import AnomalyLensError
from ei_anomaly.features import ColumnMapping, map_columns, preview
from ei_anomaly.limits import Limits
from ei_anomaly.review import NormalWindows, scoring_section
from ei_anomaly.review.scored_summary import P_VALUE

source = require_source()
model = source.block
is_demo = isinstance(source, DemoSource)

st.title("Score feature files")
st.caption(
    f"Rows are feature vectors as the DSP block outputs them. The model reads {len(model.axes)} of them "
    f"({md_escape(', '.join(model.axis_labels))}). Columns named after those axes are used by name; otherwise "
    f"numeric columns count as the full feature vector (column i = feature i), or, if there are exactly "
    f"{len(model.axes)}, as the axes in order. Scores are exact to {model.score_definition.exact_to}."
)
show_rows_note(model)

upload = st.file_uploader(
    "Feature file (CSV or Parquet)",
    type=["csv", "parquet", "pq", "txt"],
    key=state.FEATURES_FILE,
    max_upload_size=upload_limit_mb(Limits.from_env().feature_file_bytes),
)
if is_demo and st.button("Use the demo session with anomalies", icon=":material/play_arrow:"):
    st.session_state[state.USE_DEMO_FEATURES] = True
if upload is not None:
    st.session_state[state.USE_DEMO_FEATURES] = False
    ref = uploads.uploaded_file(upload)
elif is_demo and st.session_state.get(state.USE_DEMO_FEATURES):
    ref = uploads.demo_file()
elif (kept := uploads.kept_file()) is not None:
    ref = kept
    st.caption(f"Showing {md_escape(kept.name)}, scored earlier in this session. Upload a file to replace it.")
else:
    if released := uploads.released_file():
        st.info(
            f"{md_escape(released)} was released to make room for other visitors' files (this server bounds "
            "the memory all uploads may hold). Upload it again to see its scores.",
            icon=":material/info:",
        )
    st.info("Upload a CSV or Parquet file of features to score it.", icon=":material/upload_file:")
    show_report_download(source, shared_threshold(model, model.anomaly_threshold), key="scoring_report")
    st.stop()

try:
    sample = uploads.open_file(ref)
except AnomalyLensError as exc:
    show_error(exc)
    st.stop()
auto: ColumnMapping | None
try:
    auto = map_columns(sample, model)
except AnomalyLensError as exc:
    show_error(exc)
    auto = None

for note in sample.notes:
    st.info(md_escape(note, 1000), icon=":material/info:")
with st.expander("Columns", expanded=auto is None, icon=":material/view_column:"):
    st.dataframe(preview(sample), width="stretch", hide_index=True)
    st.caption(
        f"{len(sample.columns)} columns · "
        + (f"mapping: {auto.how}" if auto is not None else "choose a column for every axis")
    )
    cols = st.columns(min(4, len(model.axes)))
    override = {}
    chosen_before = uploads.scored_mapping(ref, model)  # widgets forget on a page switch; the session does not
    for j, label in enumerate(model.axis_labels):
        automatic = auto.columns[j] if auto is not None else None
        default = chosen_before.columns[j] if chosen_before is not None else automatic
        options = sample.columns
        chosen = cols[j % len(cols)].selectbox(
            md_escape(label),
            options,
            index=options.index(default) if default in options else None,
            key=state.column_choice(ref.identity, j),
            placeholder="choose a column",
        )
        if chosen is not None and chosen != automatic:
            override[j] = chosen
try:
    mapping = map_columns(sample, model, override) if override else auto
except AnomalyLensError as exc:
    show_error(exc)
    st.stop()
if mapping is None:
    st.stop()

try:
    scored = uploads.score_file(ref, sample, model, mapping)
except AnomalyLensError as exc:
    show_error(exc)
    st.stop()
if scored.scores.unscorable_count:
    st.warning(
        f"{scored.scores.unscorable_count:,} rows have an empty or non-numeric value in a feature the model uses. "
        "They are kept, with an empty score.",
        icon=":material/warning:",
    )


with st.expander("p-values against normal operation", icon=":material/percent:"):
    st.caption(
        "Choose windows known to be normal and each row gets a p-value: (1 + normal scores at or above its score) / "
        "(n + 1), how unusual the row is among normal operation (the scored CSV gets a `p_value` column)."
    )
    reference: NormalWindows | None = select_normal_windows(source, "scoring", optional=True)


@st.fragment
def results() -> None:
    """Threshold and everything it drives; a slider move re-compares, never re-scores.

    Everything that does not depend on the threshold (histogram bins, the score envelope, the top
    rows) was computed once with the scores; a step redraws only colours, markers and counts.
    """
    threshold = select_threshold(model, model.anomaly_threshold, "scoring", scored.bounds)
    section = scoring_section(model, scored, threshold, reference=reference)
    summary = section.summary
    c = st.columns(4)
    c[0].metric("Rows", f"{summary.rows:,}")
    c[1].metric("Anomalies", f"{summary.anomalies:,}", help=f"score > {threshold:g}")
    c[2].metric("Anomaly rate", f"{summary.rate:.1%}")
    c[3].metric("Unscorable rows", f"{summary.unscorable:,}")
    if section.margin is not None:
        st.caption(
            section.either_way_text + ".",
            help=f"The target is exact for a Cortex-M with a single-precision FPU. {section.margin.measured[0].upper()}"
            f"{section.margin.measured[1:]}.",
        )

    left, right = st.columns([2, 3], gap="large")
    with left:
        show_chart(section.histogram_figure(), width="stretch", key="scoring_hist")
    with right:
        show_chart(section.timeline_figure(), width="stretch", key="scoring_timeline")
        if note := section.timeline_note:
            st.caption(note[0].upper() + note[1:] + ".")

    st.subheader("Top anomalies")
    top = section.top
    if len(top):
        st.dataframe(
            top,
            hide_index=True,
            width="stretch",
            column_config={
                "anomaly score": st.column_config.NumberColumn(format="%.3f"),
                P_VALUE: st.column_config.NumberColumn(format="%.4f"),
            },
        )
        if reference is not None:
            st.caption(
                f"p-values among {md_escape(reference.origin)}: the smallest possible is "
                f"1/{reference.windows + 1:,} = {1 / (reference.windows + 1):.4f}."
            )
        hidden = len(scored.table.all_columns) - len(scored.table.columns)
        if hidden:
            st.caption(
                f"The text columns and the {len(model.axes)} the model reads; the scored CSV below has all "
                f"{len(scored.table.all_columns)} columns."
            )
    else:
        st.caption("No row scores above the threshold.")
    spreadsheet = st.checkbox(
        "Spreadsheet-safe CSV",
        key=state.SPREADSHEET_SAFE,
        help="For Excel or Sheets: text cells starting with = + - @ get a leading ' so they cannot run as "
        "formulas (OWASP CSV injection). Numbers are unchanged. Leave off for exact data.",
    )
    if scored.n_rows <= uploads.DOWNLOAD_MAX_ROWS:
        st.download_button(
            "Download scored CSV",
            uploads.scored_csv_export(
                ref, scored.scores, threshold, spreadsheet, reference.reference if reference is not None else None
            ),
            file_name=ref.name.rsplit(".", 1)[0] + "_scored.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
        )
    else:
        st.caption(
            f"Scored downloads stop at {uploads.DOWNLOAD_MAX_ROWS:,} rows here (a shared server builds them in "
            "memory). For this file: `python -m ei_anomaly score METADATA.json FILE -o scored.parquet`, which "
            "streams any size."
        )
    show_report_download(source, threshold, scored=scored, normal=reference, key="scoring_report")


results()


@st.fragment
def explain() -> None:
    """Explain one row (the Fleet page does the same): its own fragment, so a slider step never redraws it."""
    if not st.toggle("Explain a row", key=state.SCORING_EXPLAIN, help="Its nearest cluster and each axis's share"):
        return
    row = st.number_input(
        "Row (0-based, as in the table of top anomalies)",
        min_value=0,
        max_value=scored.n_rows - 1,
        value=int(scored.top_rows["row"].iloc[0]) if len(scored.top_rows) else 0,
        key=f"{state.SCORING_EXPLAIN_ROW}::{scored.identity}",
    )
    show_explanation(model, scored, int(row), "scoring_explain")


explain()

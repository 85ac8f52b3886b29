"""Scoring: upload feature files and score them exactly as the device would."""

import streamlit as st

from components import loaders
from components.figures import MAX_POINTS, fig_score_histogram, fig_score_timeline
from components.source import DEMO, require_source, upload_limit_mb
from components.text import md_escape, plotly_escape
from components.threshold import select_threshold
from components.uploads import remember_upload
from ei_anomaly import AnomalyLensError
from ei_anomaly.demo import ANOMALY_SESSION_CSV
from ei_anomaly.evaluation import downsample_keep_flagged
from ei_anomaly.features import column_values, map_columns, preview, rows_frame, scored_csv, time_column
from ei_anomaly.limits import Limits

source = require_source()
model = source.model

st.title("Score feature files")
st.caption(
    f"Rows are feature vectors as the DSP block outputs them. The model reads {len(model.axes)} of them "
    f"({md_escape(', '.join(model.axis_labels))}). Columns named after those axes are used by name; otherwise "
    f"numeric columns count as the full feature vector (column i = feature i), or, if there are exactly "
    f"{len(model.axes)}, as the axes in order. Scores use the SDK's float32 arithmetic."
)

upload = st.file_uploader(
    "Feature file (CSV or Parquet)",
    type=["csv", "parquet", "pq", "txt"],
    key="features_file",
    max_upload_size=upload_limit_mb(Limits.from_env().feature_file_bytes),
)
use_demo = source.kind == DEMO and st.button("Use the demo session with anomalies", icon=":material/play_arrow:")
if use_demo:
    st.session_state["scoring_demo_file"] = True
if upload is not None:
    data, name = upload.getvalue(), upload.name
    st.session_state["scoring_demo_file"] = False
elif source.kind == DEMO and st.session_state.get("scoring_demo_file"):
    data, name = ANOMALY_SESSION_CSV.read_bytes(), ANOMALY_SESSION_CSV.name
else:
    st.info("Upload a CSV or Parquet file of features to score it.", icon=":material/upload_file:")
    st.stop()

try:
    table = loaders.parse_features(data, name)
    auto = map_columns(table, model)
except AnomalyLensError as exc:
    st.error(md_escape(exc, 1000), icon=":material/error:")
    auto = None
    if "table" not in locals():
        st.stop()

for note in table.notes:
    st.info(md_escape(note, 1000), icon=":material/info:")
with st.expander("Columns", expanded=auto is None, icon=":material/view_column:"):
    st.dataframe(preview(table), width="stretch", hide_index=True)
    st.caption(
        f"{table.n_rows:,} rows · {len(table.columns)} columns · "
        + (f"mapping: {auto.how}" if auto else "choose a column for every axis")
    )
    cols = st.columns(min(4, len(model.axes)))
    override = {}
    for j, label in enumerate(model.axis_labels):
        default = auto.columns[j] if auto else None
        options = table.columns
        chosen = cols[j % len(cols)].selectbox(
            md_escape(label),
            options,
            index=options.index(default) if default in options else None,
            key=f"map::{name}::{j}",
            placeholder="choose a column",
        )
        if chosen is not None and chosen != default:
            override[j] = chosen
try:
    mapping = map_columns(table, model, override) if override else auto
except AnomalyLensError as exc:
    st.error(md_escape(exc, 1000), icon=":material/error:")
    st.stop()
if mapping is None:
    st.stop()

scores = loaders.score_features(data, name, model.fingerprint, tuple(mapping.columns), model)
remember_upload(data, name, mapping.columns, model)
if scores.unscorable_count:
    st.warning(
        f"{scores.unscorable_count:,} rows have an empty or non-numeric value in a feature the model uses. "
        "They are kept, with an empty score.",
        icon=":material/warning:",
    )


@st.fragment
def results() -> None:
    """Threshold and everything it drives; a slider move re-compares, never re-scores."""
    threshold = select_threshold(model, model.anomaly_threshold, "scoring", scores.score)
    flags = scores.is_anomaly(threshold)
    n_flagged = int(flags.sum())
    c = st.columns(4)
    c[0].metric("Rows", f"{table.n_rows:,}")
    c[1].metric("Anomalies", f"{n_flagged:,}", help=f"score > {threshold:g}")
    c[2].metric("Anomaly rate", f"{n_flagged / max(1, table.n_rows - scores.unscorable_count):.1%}")
    c[3].metric("Unscorable rows", f"{scores.unscorable_count:,}")

    left, right = st.columns([2, 3], gap="large")
    with left:
        st.plotly_chart(fig_score_histogram(scores.score, threshold), width="stretch", key="scoring_hist")
    with right:
        keep = downsample_keep_flagged(flags, MAX_POINTS)
        keep = keep[scores.scorable[keep]]
        time_name = time_column(table)
        x = column_values(table, time_name, keep) if time_name else keep
        st.plotly_chart(
            fig_score_timeline(x, scores.score[keep], flags[keep], threshold, plotly_escape(time_name or "row")),
            width="stretch",
            key="scoring_timeline",
        )
        if len(keep) < table.n_rows:
            st.caption(f"Showing {len(keep):,} of {table.n_rows:,} rows: every anomaly plus a random sample.")

    st.subheader("Top anomalies")
    top = scores.top_indices(min(20, n_flagged))
    if len(top):
        rows = rows_frame(table, top)
        rows.insert(0, "row", top)
        rows.insert(1, "anomaly score", scores.score[top])
        rows.insert(2, "nearest cluster", scores.nearest_cluster[top])
        st.dataframe(
            rows,
            hide_index=True,
            width="stretch",
            column_config={"anomaly score": st.column_config.NumberColumn(format="%.3f")},
        )
    else:
        st.caption("No row scores above the threshold.")
    spreadsheet = st.checkbox(
        "Spreadsheet-safe CSV",
        key="scoring_spreadsheet_safe",
        help="For Excel or Sheets: text cells starting with = + - @ get a leading ' so they cannot run as "
        "formulas (OWASP CSV injection). Numbers are unchanged. Leave off for exact data.",
    )
    st.download_button(
        "Download scored CSV",
        lambda: scored_csv(table, scores, threshold, spreadsheet),
        file_name=name.rsplit(".", 1)[0] + "_scored.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )


results()

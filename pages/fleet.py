"""Fleet: from a window threshold to an alarm policy; how often each device would alarm."""

import streamlit as st

from components import permalink, state
from components.charts import show_chart
from components.errors import show_error
from components.explain import show_explanation
from components.fleet import CHOICE, DEMO_FLEET, FleetChoice, FleetData, fleet_choices, fleet_data, fleet_log
from components.policy import select_policy
from components.report_download import show_report_download
from components.review_notes import show_rows_note
from components.source import DemoSource, require_source
from components.text import md_escape
from components.threshold import select_threshold, use_threshold
from ei_anomaly import AnomalyLensError
from ei_anomaly.alarms import AlarmPolicy, FleetLog, detect_device_column, detect_time_column
from ei_anomaly.review import FleetSection, NamedLog, alarm_budget, device_drilldown, fleet_section

NONE = permalink.NO_COLUMN  # "(none)"

source = require_source()
model = source.block

st.title("Fleet alarms")
st.caption(
    "How often would each device raise an alarm in the field? Devices do not alarm on single windows: with the "
    "SDK's smoothing (`ei_classifier_smooth`) an alarm is the smoothed answer turning to *anomaly*, simulated per "
    "device in time order exactly as the device runs it. Rates are per device per day, over each device's own span."
)
show_rows_note(model)

choices = fleet_choices(model, isinstance(source, DemoSource))
if not choices:
    st.info(
        "Score a fleet log on the Scoring page first (a feature file with a device column and a time column), then "
        "come back.",
        icon=":material/info:",
    )
    st.stop()
if st.session_state.get(state.FLEET_SOURCE) not in choices:
    st.session_state.pop(state.FLEET_SOURCE, None)
logs = {name: spelled for spelled, name in permalink.FLEET_LOGS.items()}
permalink.seed(state.FLEET_SOURCE, permalink.FLEET, choices, "fleet log", [logs[c] for c in choices])
choice = st.radio("Fleet log", choices, horizontal=True, key=state.FLEET_SOURCE)
if choice == DEMO_FLEET:
    st.caption("36 presses over 3 days, one window every 10 minutes; a few of them are not well. Rows arrive late.")
data = fleet_data(choice, model)
if data is None:
    st.stop()

detected_device = detect_device_column(data.columns)
detected_time = detect_time_column(data.columns)
with st.expander("Columns", expanded=detected_device is None or detected_time is None, icon=":material/view_column:"):
    options = [NONE, *data.columns]
    device_key = f"{state.FLEET_DEVICE_COLUMN}::{data.scored.identity}"
    time_key = f"{state.FLEET_TIME_COLUMN}::{data.scored.identity}"
    permalink.seed(device_key, permalink.DEVICE_COLUMN, options, "device column")
    permalink.seed(time_key, permalink.TIME_COLUMN, options, "time column")
    c = st.columns(4)
    device_col = c[0].selectbox(
        "Device",
        options,
        index=options.index(detected_device) if detected_device else 0,
        key=device_key,
        help="Each device's windows are simulated on their own. None: the whole log is one device.",
    )
    time_col = c[1].selectbox(
        "Time",
        options,
        index=options.index(detected_time) if detected_time else 0,
        key=time_key,
        help="Orders each device's windows (logs arrive out of order) and gives its span in days.",
    )
    class_col = c[2].selectbox(
        "Predicted class (optional)",
        options,
        key=f"{state.FLEET_CLASS_COLUMN}::{data.scored.identity}",
        help="The classifier's class per window, for impulses with a classifier: makes the simulation exact for "
        "them (empty or 'uncertain': no class reached the confidence). Without it: the anomaly-only path.",
    )
    stride = c[3].number_input(
        "Window stride (s)",
        min_value=0.001,
        value=2.0,
        key=state.FLEET_STRIDE,
        disabled=time_col != NONE,
        help="Without a time column: the seconds between windows (Studio: Create impulse > Window increase).",
    )

picked = FleetChoice(
    choice,
    None if device_col == NONE else device_col,
    None if time_col == NONE else time_col,
    None if class_col == NONE else class_col,
    float(stride) if time_col == NONE else None,
)
try:
    log = fleet_log(data, picked)
except AnomalyLensError as exc:
    show_error(exc)
    st.stop()
CHOICE.set(picked)  # the Compare page simulates the same log
if log.skipped:
    st.warning(
        f"{log.skipped:,} rows have no device or no readable time and are left out "
        f"(first: row {log.first_skipped_row}).",
        icon=":material/warning:",
    )


@st.fragment
def policy_view(data: FleetData, log: FleetLog) -> None:
    """The policy's controls and everything they drive: a change re-simulates, never re-scores."""
    threshold = select_threshold(model, model.anomaly_threshold, "fleet", data.scored.bounds)
    chosen = select_policy("fleet")
    permalink.publish(model)
    if chosen is None:
        return
    policy = chosen.at(threshold)
    section = fleet_section(data.name, log, policy)
    result = section.result
    m = st.columns(5)
    m[0].metric("Devices", f"{log.n_devices:,}", help=f"{log.n_windows:,} windows")
    m[1].metric("Alarms", f"{result.total_alarms:,}", help=f"{int(result.anomaly_windows.sum()):,} anomalous windows")
    m[2].metric(
        "Alarms per device per day",
        f"{section.rate:.3g}" if section.rate is not None else "–",
        help="All alarms over all devices' days",
    )
    m[3].metric("95% interval", section.interval_text, help=section.interval_note)
    m[4].metric("Devices alarming daily", f"{result.devices_daily:,}", help="at least one alarm per day")
    st.caption(
        md_escape(
            f"Simulation: {log.simulation}. Policy: {policy.describe()}. {section.columns_text}. "
            f"Alarms per device per day: {section.interval_note}",
            1000,
        )
    )

    left, right = st.columns([1, 1], gap="large")
    with left:
        st.subheader("Devices, worst first")
        if section.table_caption:
            st.caption(section.table_caption)
        st.dataframe(
            section.table,
            hide_index=True,
            width="stretch",
            height=420,
            column_config={
                "days": st.column_config.NumberColumn(format="%.2f"),
                "alarms per day": st.column_config.NumberColumn(format="%.2f"),
            },
        )
    with right:
        show_chart(section.grid_figure(), width="stretch", key="fleet_grid")

    curve_view(section)
    device_view(data, log, policy, list(section.table["device"]))
    show_report_download(
        source,
        threshold,
        fleet=NamedLog(data.name, log),
        policy=chosen,
        key="fleet_report",
    )


@st.fragment
def curve_view(section: FleetSection) -> None:
    """The alarm budget's helper and the curve: a budget change reruns only this."""
    st.subheader("Choose the threshold for an alarm budget")
    b = st.columns([1, 1, 2], vertical_alignment="bottom")
    permalink.seed_budget(state.FLEET_BUDGET, state.FLEET_BUDGET_PER)
    budget = float(
        b[0].number_input("At most … alarms per device", min_value=0.0, value=1.0, step=0.5, key=state.FLEET_BUDGET)
    )
    per = b[1].selectbox("per", ["day", "week"], key=state.FLEET_BUDGET_PER)
    per_day = budget if per == "day" else budget / 7
    permalink.publish(model)
    try:
        helper = alarm_budget(section, per_day)
    except AnomalyLensError as exc:
        show_error(exc)
        return
    found, bound = helper.lowest, helper.lowest_bound
    assert found is not None and bound is not None  # asked for with a budget
    with b[2]:
        u = st.columns(2)
        u[0].button(
            f"Use {found.threshold:.6g}",
            on_click=use_threshold,
            args=(model, model.anomaly_threshold, "fleet", found.threshold),
            help=f"The lowest threshold at which this log raises at most {per_day:.3g} alarms per device per day "
            f"with this smoothing and cool-down ({found.note}). Treat the log as normal data when you use it.",
            icon=":material/tune:",
        )
        u[1].button(
            f"Use {bound.threshold:.6g} (bound)",
            key=state.FLEET_BOUND_USE,
            on_click=use_threshold,
            args=(model, model.anomaly_threshold, "fleet", bound.threshold),
            help=f"The lowest threshold whose {bound.confidence:.0%} interval's upper end stays within {per_day:.3g} "
            f"alarms per device per day ({bound.note}): what another fleet like this one would likely keep.",
            icon=":material/verified:",
        )
    st.caption(
        f"Lowest threshold within {budget:g} alarms per device per {per}: **{found.threshold:.6g}** on the point "
        f"estimate ({found.per_device_day:.3g} per device per day); **{bound.threshold:.6g}** on the upper bound "
        f"(the {bound.confidence:.0%} interval's upper end there is {bound.upper:.3g}, the estimate "
        f"{bound.per_device_day:.3g}), the answer that holds for a fleet like this one, not only this log."
    )
    show_chart(helper.figure(), width="stretch", key="fleet_curve")


@st.fragment
def device_view(data: FleetData, log: FleetLog, policy: AlarmPolicy, names: list[str]) -> None:
    """One device's drill-down (and its explained window): choosing another device reruns only this."""
    st.subheader("One device")
    if st.session_state.get(state.FLEET_DEVICE) not in names:
        st.session_state.pop(state.FLEET_DEVICE, None)
    permalink.seed(state.FLEET_DEVICE, permalink.DEVICE, names, "device")
    device = st.selectbox("Device", names, key=state.FLEET_DEVICE, help="Worst first")
    permalink.publish(model)
    drill = device_drilldown(log, device, policy)
    show_chart(drill.figure(), width="stretch", key="fleet_trace")
    st.caption(drill.caption)

    # Off by default: every chart a policy change redraws costs the browser (no GPU) a forced layout.
    if not st.toggle("Explain a window", key=state.FLEET_EXPLAIN, help="Its nearest cluster and each axis's share"):
        return
    row = st.number_input(
        "Row of the log (0-based; the drill-down's hover shows it)",
        min_value=0,
        max_value=data.scored.n_rows - 1,
        value=drill.first_row_to_explain,
        key=f"{state.FLEET_EXPLAIN_ROW}::{data.scored.identity}::{device}",
        help="Starts at this device's first alarm (or its highest score).",
    )
    show_explanation(model, data.scored, int(row), "fleet_explain")


policy_view(data, log)

"""Compare: the loaded block against a second one (another block, or a block before retraining)."""

import streamlit as st

from components import permalink, state
from components.charts import show_chart
from components.compare_fleet import FleetOnScreen, fleet_comparison
from components.compare_source import BlockB, select_other_block, select_shared_windows
from components.errors import show_error
from components.memo import memo
from components.policy import shared_policy
from components.report_download import show_report_download
from components.review_notes import show_parity, show_rows_note
from components.source import require_source
from components.text import md_escape
from ei_anomaly import AnomalyLensError
from ei_anomaly.review import CompareWith, SharedWindows, compare_blocks
from ei_anomaly.review.compare import ComparedBlock
from ei_anomaly.review.parity import block_parity

source = require_source()

st.title("Compare")
st.caption(
    "Which block to ship: the loaded block (A) against another (B), each at its own threshold, judged on "
    "the same labelled windows."
)
other = select_other_block(source)
if other is None:
    st.stop()
shared = select_shared_windows(source, other)
permalink.seed_number(state.COMPARE_FALSE_ALARM, permalink.FPR, "matched false-alarm rate (%)", 0, 100)
rate_percent = st.number_input(
    "Matched false-alarm rate (% of normal windows)",
    min_value=0.0,
    max_value=100.0,
    value=1.0,
    step=0.5,
    key=state.COMPARE_FALSE_ALARM,
    help="Each block gets the lowest threshold that flags at most this share of the normal windows; "
    "then their recalls compare like for like.",
)
try:
    comparison = compare_blocks(
        (f"A: {source.title}", source.block),
        (f"B: {other.name}", other.block),
        shared,
        false_alarm_rate=rate_percent / 100,
    )
except AnomalyLensError as exc:
    show_error(exc)
    st.stop()
for note in comparison.notes:
    st.info(md_escape(note))


def show_card(side: ComparedBlock) -> None:
    card = side.card
    st.markdown(f"**{md_escape(side.name)}**")
    st.caption(
        f"{card.kind} · {card.units.text} · {len(card.axis_labels)} axes · {md_escape(', '.join(card.axis_labels))}"
    )
    c1, c2, c3 = st.columns(3)
    c1.metric("Threshold", f"{side.threshold:g}")
    c2.metric("Accuracy", f"{card.accuracy:.1%}" if card.accuracy is not None else "n/a")
    mcu = card.default_mcu
    c3.metric(
        "Default MCU",
        f"{mcu.latency_ms:.0f} ms" if mcu is not None and mcu.latency_ms is not None else "n/a",
        help=md_escape(f"{mcu.device}, {mcu.model_type}, {mcu.engine}") if mcu is not None else None,
    )
    st.caption(f"Trained {card.trained:%Y-%m-%d %H:%M} UTC" if card.trained else "Training date unknown")


left, right = st.columns(2, gap="large")
with left:
    show_card(comparison.a)
with right:
    show_card(comparison.b)

a_block, b_block = source.block, other.block
show_parity(
    memo(
        "parity",
        (a_block.fingerprint, b_block.fingerprint),
        lambda: block_parity(a_block, b_block, comparison.a.name, comparison.b.name),
    )
)
show_rows_note(a_block)

st.subheader("On-device cost per MCU")
if comparison.costs.empty:
    st.caption("Neither block carries on-device estimates.")
else:
    st.dataframe(
        comparison.costs,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.1f") for c in comparison.costs.columns[2:]},
    )
    st.caption(
        "Each block's recommended (else first) model type with the EON compiler; B - A: positive means B costs more."
    )


def show_labelled(shared: SharedWindows) -> None:
    """Both blocks on the shared labelled windows: matrices, curves, a matched rate, where they disagree."""
    st.subheader("On the same labelled windows")
    st.caption(md_escape(shared.origin))
    confusions = comparison.confusion_figures()
    if confusions:
        for col, fig, key in zip(st.columns(2), confusions, ("compare_cm_a", "compare_cm_b"), strict=True):
            with col:
                show_chart(fig, width="stretch", key=key)
    if (pr := comparison.pr_figure()) is not None:
        show_chart(pr, width="stretch", key="compare_pr")
    matched = comparison.matched_table()
    if comparison.matched is not None and matched is not None:
        st.markdown(f"**Recall at a matched false-alarm rate of {comparison.matched.rate:.1%}**")
        st.dataframe(
            matched,
            hide_index=True,
            width="stretch",
            column_config={
                "recall": st.column_config.NumberColumn(format="percent"),
                "precision": st.column_config.NumberColumn(format="percent"),
            },
        )
    st.markdown("**Where they agree**")
    for col, (what, n) in zip(st.columns(4), comparison.agreement.items(), strict=True):
        col.metric(what, f"{n:,}")
    if comparison.disagreements:
        st.dataframe(comparison.disagreement_table(), hide_index=True, width="stretch")
        st.caption(
            f"The windows one block flags and the other does not (up to {len(comparison.disagreements)}, the "
            f"clearest first). Each is explained by its two scores against the thresholds: A flags above "
            f"{comparison.a.threshold:g}, B above {comparison.b.threshold:g} (strictly)."
        )


@st.fragment
def show_fleet(other: BlockB) -> None:
    """Both blocks on the fleet log, at the same smoothing and cool-down: at their own thresholds and
    at the thresholds that keep one alarm budget (a budget change reruns this section only)."""
    st.subheader("On a fleet log")
    found = fleet_comparison(source, comparison)
    if found is not None:
        show_fleet_comparison(found)
    show_report_download(
        source,
        comparison.a.threshold,
        fleet=found.log_a if found is not None else None,
        policy=shared_policy(),
        compare=CompareWith(
            other.block,
            comparison.b.name,
            shared=shared,
            use_validation=False,
            false_alarm_rate=rate_percent / 100,
            fleet_log=found.log_b if found is not None else None,
            fleet_budget_per_day=found.comparison.budget_per_day if found is not None else 1.0,
        ),
        key="compare_report",
    )


def show_fleet_comparison(found: FleetOnScreen) -> None:
    fleet = found.comparison
    st.caption(
        md_escape(
            f"{fleet.log_name}: {fleet.a.log.n_devices:,} devices, {fleet.a.log.n_windows:,} windows, scored by "
            f"both blocks. Matched policy for both: {fleet.policy_text} ({found.policy_origin}); each block at its "
            "own threshold and at the lowest threshold that keeps the budget.",
            1000,
        )
    )
    for col, side in zip(st.columns(2, gap="large"), (fleet.a, fleet.b), strict=True):
        with col:
            st.markdown(f"**{md_escape(side.name)}**")
            m = st.columns(2)
            m[0].metric(
                "Alarms per device per day",
                f"{side.own.fleet_rate:.3g}",
                help=f"At its own threshold {side.own.policy.threshold:g}: {side.own.total_alarms:,} alarms",
            )
            m[1].metric("Devices alarming daily", f"{side.own.devices_daily:,}", help="at its own threshold")
            m = st.columns(2)
            m[0].metric(
                "Threshold for the budget",
                f"{side.budget.threshold:.6g}",
                help=f"{side.budget.per_device_day:.3g} alarms per device per day ({side.budget.note})",
            )
            m[1].metric(
                "Devices alarming daily at it", f"{side.at_budget.devices_daily:,}", help="at the budget's threshold"
            )
    st.markdown("**The noisiest devices** (alarms per day)")
    noisiest = fleet.noisiest()
    st.dataframe(
        noisiest,
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.2f") for c in noisiest.columns[1:]},
    )
    show_chart(fleet.curves_figure(), width="stretch", key="compare_fleet")


if shared is not None:
    show_labelled(shared)
show_fleet(other)

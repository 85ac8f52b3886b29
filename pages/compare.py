"""Compare: the loaded block against a second one (another block, or a block before retraining)."""

import pandas as pd
import streamlit as st

from components import state
from components.charts import show_chart
from components.compare_fleet import fleet_comparison
from components.compare_source import select_other_block, select_shared_windows
from components.errors import show_error
from components.source import require_source
from components.text import md_escape
from ei_anomaly import AnomalyLensError
from ei_anomaly.figures import fig_alarm_curves_compare, fig_confusion_matrix, fig_pr_compare
from ei_anomaly.model import BlockKind
from ei_anomaly.review import compare_blocks, gmm_components
from ei_anomaly.review.compare import ComparedBlock

source = require_source()

st.title("Compare")
st.caption(
    "Which block to ship: the loaded block (A) against another (B), each at its own threshold, judged on "
    "the same labelled windows."
)
other = select_other_block(source)
if other is None:
    st.stop()
b_name, b_model, b_learn_id = other
shared = select_shared_windows(source, source.model, b_model, b_learn_id)
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
        (f"A: {source.title}", source.model), (f"B: {b_name}", b_model), shared, false_alarm_rate=rate_percent / 100
    )
except AnomalyLensError as exc:
    show_error(exc)
    st.stop()
for note in comparison.notes:
    st.info(md_escape(note))


def show_card(side: ComparedBlock) -> None:
    model, card = side.model, side.card
    st.markdown(f"**{md_escape(side.name)}**")
    units = f"{model.n_clusters} clusters" if model.kind is BlockKind.KMEANS else gmm_components(model)
    st.caption(f"{model.kind.label} · {units} · {len(model.axes)} axes · {md_escape(', '.join(card.axis_labels))}")
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


@st.fragment
def show_fleet() -> None:
    """Both blocks on the fleet log, at the same smoothing and cool-down: at their own thresholds and
    at the thresholds that keep one alarm budget (a budget change reruns this section only)."""
    st.subheader("On a fleet log")
    found = fleet_comparison(
        source,
        (comparison.a.name, comparison.a.model, comparison.a.threshold),
        (comparison.b.name, comparison.b.model, comparison.b.threshold),
    )
    if found is None:
        return
    fleet, origin = found
    st.caption(
        md_escape(
            f"{fleet.log_name}: {fleet.a.log.n_devices:,} devices, {fleet.a.log.n_windows:,} windows, scored by "
            f"both blocks. Matched policy for both: {fleet.policy_text} ({origin}); each block at its own "
            "threshold and at the lowest threshold that keeps the budget.",
            1000,
        )
    )
    columns = st.columns(2, gap="large")
    for col, side in zip(columns, (fleet.a, fleet.b), strict=True):
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
    curves = [
        (side.name, side.curve, side.own.policy.threshold, side.own.fleet_rate, side.budget.threshold)
        for side in (fleet.a, fleet.b)
    ]
    show_chart(
        fig_alarm_curves_compare(curves, fleet.budget_per_day, fleet.log_name), width="stretch", key="compare_fleet"
    )


if shared is None:
    show_fleet()
    st.stop()
st.subheader("On the same labelled windows")
st.caption(md_escape(shared.origin))
if comparison.counts_a is not None and comparison.counts_b is not None:
    c1, c2 = st.columns(2)
    for col, side, counts, key in (
        (c1, comparison.a, comparison.counts_a, "compare_cm_a"),
        (c2, comparison.b, comparison.counts_b, "compare_cm_b"),
    ):
        title = f"{side.name[:60]} at {side.threshold:g}"
        with col:
            show_chart(fig_confusion_matrix(counts.matrix, ["normal", "anomaly"], title), width="stretch", key=key)
    assert comparison.curve_a is not None and comparison.curve_b is not None
    curves = [
        (
            comparison.a.name,
            comparison.curve_a,
            (comparison.counts_a.precision, comparison.counts_a.recall),
            comparison.a.threshold,
        ),
        (
            comparison.b.name,
            comparison.curve_b,
            (comparison.counts_b.precision, comparison.counts_b.recall),
            comparison.b.threshold,
        ),
    ]
    show_chart(fig_pr_compare(curves, shared.origin), width="stretch", key="compare_pr")
if comparison.matched is not None:
    m = comparison.matched
    st.markdown(f"**Recall at a matched false-alarm rate of {m.rate:.1%}**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "block": comparison.a.name,
                    "threshold": m.threshold_a,
                    "false alarms": m.counts_a.fp,
                    "recall": m.counts_a.recall,
                    "precision": m.counts_a.precision,
                },
                {
                    "block": comparison.b.name,
                    "threshold": m.threshold_b,
                    "false alarms": m.counts_b.fp,
                    "recall": m.counts_b.recall,
                    "precision": m.counts_b.precision,
                },
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "recall": st.column_config.NumberColumn(format="percent"),
            "precision": st.column_config.NumberColumn(format="percent"),
        },
    )

st.markdown("**Where they agree**")
cols = st.columns(4)
for col, (what, n) in zip(cols, comparison.agreement.items(), strict=True):
    col.metric(what, f"{n:,}")
rows = comparison.disagreements
if rows:
    st.dataframe(
        pd.DataFrame(
            [
                {"flagged by": r.which, "window": r.key, "label": r.label, "score A": r.score_a, "score B": r.score_b}
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"The windows one block flags and the other does not (up to {len(rows)}, the clearest first). Each "
        f"is explained by its two scores against the thresholds: A flags above {comparison.a.threshold:g}, "
        f"B above {comparison.b.threshold:g} (strictly)."
    )

show_fleet()

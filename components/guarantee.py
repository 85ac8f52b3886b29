"""The Thresholds page's false-alarm guarantee: normal windows, a target rate and a confidence in;
the threshold they allow (one click to the slider), how many windows that takes, and the bound of
the slider's own threshold. The numbers are `ei_anomaly.review.guarantee_section`'s, as in the
report and `ei-anomaly threshold`."""

from __future__ import annotations

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.metadata import Threshold
from ei_anomaly.review import guarantee_section
from ei_anomaly.review.guarantee import percent

from . import state
from .charts import show_chart
from .errors import show_error
from .normal_source import select_normal_windows, select_unit
from .source import Source
from .text import md_escape
from .threshold import use_threshold


def show_guarantee(source: Source, threshold: Threshold | None, page: str, current: float) -> None:
    """Choose normal windows, the unit, the target rate and the confidence; see the threshold they
    allow and use it, and the current threshold's bound."""
    block: AnomalyBlock = source.block
    st.subheader("A threshold you can defend")
    st.caption(
        "From normal windows alone, without assuming how scores are distributed: the threshold whose false-alarm "
        "rate stays within a target with a stated confidence, for windows like these (the order-statistic bound "
        "of split-conformal methods), and how sure the slider's threshold is."
    )
    normal = select_normal_windows(source, page)
    if normal is None:
        return
    st.caption(f"Normal windows: {md_escape(normal.origin)}.")
    left, middle, right = st.columns([1, 1, 3], vertical_alignment="top")
    fpr = left.number_input(
        "Target false-alarm rate (%)",
        min_value=0.001,
        max_value=50.0,
        value=1.0,
        step=0.5,
        format="%g",
        key=state.GUARANTEE_FPR,
        help="The share of normal windows the threshold may flag.",
    )
    confidence = middle.number_input(
        "Confidence (%)",
        min_value=50.0,
        max_value=99.99,
        value=95.0,
        step=1.0,
        format="%g",
        key=state.GUARANTEE_CONFIDENCE,
        help="How sure: the rule fails (the true rate exceeds the target) at most 100 minus this % of the time.",
    )
    with right:
        unit = select_unit(normal, page)
    try:
        section = guarantee_section(
            normal, current, unit=unit, fpr=float(fpr) / 100, confidence=float(confidence) / 100
        )
    except AnomalyLensError as exc:
        show_error(exc)
        return
    found = section.found
    m = st.columns(4)
    m[0].metric(
        "Guaranteed threshold",
        section.threshold_value or "none",
        help="A window is flagged when its score is strictly greater (float32, as the device compares).",
    )
    m[1].metric(md_escape(f"Normal {unit.plural}"), f"{section.n:,}", help=md_escape(section.unit_text))
    m[2].metric("n needed", f"{found.needed:,}", help=md_escape(f"The fewest normal {unit.plural} for this target"))
    m[3].metric("Bound at the threshold", percent(section.current.upper), help=md_escape(section.current_text))
    if section.threshold_value is not None:
        st.success(md_escape(section.headline), icon=":material/verified:")
        st.caption(md_escape(section.detail))
        value = float(section.threshold_value)
        st.button(
            f"Use this threshold ({section.threshold_value})",
            key=state.GUARANTEE_USE,
            on_click=use_threshold,
            args=(block, threshold, page, value),
            icon=":material/check:",
            disabled=value == current,
        )
    else:
        st.warning(md_escape(section.headline), icon=":material/warning:")
    st.markdown(md_escape(section.current_text))
    show_chart(section.figure(), width="stretch", key=f"{page}_guarantee_chart")

"""Presentation mode (the sidebar's toggle, or `?present=1` in a link): the review as a sequence of
steps for an audience, with no sidebar and no source controls, larger type, previous/next, and the
values frozen as the link says (the threshold, the smoothing) unless the presenter unlocks them.

Each step lays out sections of the review computed by the same functions as the pages and the
report (`ei_anomaly.review`); nothing is decided here.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.alarms import FleetPolicy
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.review import (
    alarm_budget,
    fleet_section,
    guarantee_section,
    map_section,
    model_card,
    on_device_section,
    threshold_section,
    tuning_scores,
    validation_normal,
    validation_sections,
)
from ei_anomaly.review.guarantee import percent

from . import permalink, state
from .charts import show_chart
from .errors import show_error
from .fleet import CHOICE, detected_choice, fleet_choices, fleet_data, fleet_log
from .policy import DEFAULT_SMOOTHING, shared_policy
from .source import DemoSource, LoadedSource, Source
from .text import md_escape
from .threshold import select_threshold, shared_threshold
from .uploads import last_scored

# Larger type, and no sidebar (its widgets stay drawn, hidden, so the source and its values are kept).
PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"] { display: none !important; }
[data-testid="stMain"] { font-size: 1.3rem; }
[data-testid="stMain"] h1 { font-size: 3rem; }
[data-testid="stMain"] h2 { font-size: 2.2rem; }
[data-testid="stMain"] [data-testid="stMetricValue"], [data-testid="stMain"] [data-testid="stMetricValue"] * {
  font-size: 2.2rem !important; line-height: 1.25 !important; font-weight: 600; }
[data-testid="stMain"] [data-testid="stMetricLabel"] p { font-size: 1.2rem; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.1rem; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p { font-size: 1.3rem; }
</style>
"""


def presenting() -> bool:
    return bool(st.session_state.get(state.PRESENT))


def show_present_toggle() -> None:
    """The sidebar's switch into presentation mode (and the way back is on the presentation)."""
    st.toggle(
        "Presentation mode",
        key=state.PRESENT,
        help="The review as steps for an audience: no sidebar, larger type, the values frozen as they are now.",
    )


def _leave() -> None:
    st.session_state[state.PRESENT] = False
    st.session_state.pop(state.PRESENT_UNLOCKED, None)


def _move(by: int) -> None:
    st.session_state[state.PRESENT_STEP] = int(st.session_state.get(state.PRESENT_STEP) or 1) + by


def _threshold(source: Source, unlocked: bool) -> float:
    block = source.block
    if unlocked:
        return select_threshold(block, block.anomaly_threshold, "present", None)
    return shared_threshold(block, block.anomaly_threshold)


def _step_model(source: Source, threshold: float) -> None:
    block = source.block
    card = model_card(block, threshold)
    st.caption(f"{md_escape(source.title)} · {card.title}")
    m = st.columns(4)
    m[0].metric(card.units.title, card.units.count)
    m[1].metric("Axes", len(card.axis_labels))
    m[2].metric("Accuracy", f"{card.accuracy:.1%}" if card.accuracy is not None else "n/a")
    m[3].metric("Trained", f"{card.trained:%Y-%m-%d}" if card.trained else "unknown")
    st.markdown(f"The score is {card.definition.meaning}.")
    section = map_section(block, last_scored(block), threshold)
    show_chart(section.figure(), width="stretch", key="present_map")
    st.caption(block.map_caption)


def _step_validation(source: Source, threshold: float) -> None:
    sections = validation_sections(source.block)
    if not sections:
        st.info("This block carries no validation metrics: run model testing in Studio to get them.")
        return
    section = sections[0]
    metrics = section.metrics
    m = st.columns(3)
    m[0].metric("Model type", md_escape(section.type))
    m[1].metric("Accuracy", f"{metrics.accuracy:.1%}" if metrics.accuracy is not None else "n/a")
    m[2].metric("Loss", f"{metrics.loss:.4g}" if metrics.loss is not None else "n/a")
    if (confusion := section.confusion_figure()) is not None:
        show_chart(confusion, width="stretch", key="present_confusion")
        st.caption("Rows are the true class, columns the prediction; each cell shows the count and the row %.")


def _step_threshold(source: Source, threshold: float) -> None:
    block = source.block
    section = threshold_section(block, tuning_scores(block.metadata, last_scored(block)), threshold)
    m = st.columns(4)
    m[0].metric("Threshold", f"{threshold:g}")
    if section.scores is not None:
        m[1].metric("Flagged", f"{section.flagged:,} / {len(section.scores.scores):,}")
    if (counts := section.counts) is not None:
        m[2].metric("Recall", f"{counts.recall:.0%}")
        m[3].metric("False alarms", counts.fp)
    if (histogram := section.histogram_figure()) is not None:
        show_chart(histogram, width="stretch", key="present_histogram")
    normal = validation_normal(block.metadata)
    if normal is None or not normal.windows:
        st.caption("No normal validation windows: the false-alarm guarantee needs them (Thresholds page).")
        return
    try:
        guarantee = guarantee_section(normal, threshold)
    except AnomalyLensError as exc:
        show_error(exc)
        return
    st.subheader("The guarantee")
    st.markdown(md_escape(guarantee.headline, 1000))
    st.markdown(
        md_escape(f"{guarantee.current_text} (upper bound at this threshold: {percent(guarantee.current.upper)}).")
    )
    show_chart(guarantee.figure(), width="stretch", key="present_guarantee")


def _policy() -> FleetPolicy:
    return shared_policy() or FleetPolicy(DEFAULT_SMOOTHING)


def _step_fleet(source: Source, threshold: float) -> None:
    block: AnomalyBlock = source.block
    choices = fleet_choices(block, isinstance(source, DemoSource))
    if not choices:
        st.info("No fleet log: score one on the Scoring page to show how often the fleet would alarm.")
        return
    kept = CHOICE.get()
    name = kept.log if kept is not None and kept.log in choices else choices[-1]
    data = fleet_data(name, block)
    if data is None:
        return
    choice = kept if kept is not None and kept.log == name else detected_choice(name, data)
    try:
        log = fleet_log(data, choice)
        policy = _policy().at(threshold)
        section = fleet_section(data.name, log, policy)
        budget = alarm_budget(section, None)
    except AnomalyLensError as exc:
        show_error(exc)
        return
    m = st.columns(4)
    m[0].metric("Devices", f"{log.n_devices:,}")
    m[1].metric("Alarms per device per day", f"{section.rate:.3g}" if section.rate is not None else "–")
    m[2].metric("95% interval", section.interval_text)
    m[3].metric("Devices alarming daily", f"{section.result.devices_daily:,}")
    st.caption(md_escape(f"{data.name} under {policy.describe()}.", 1000))
    show_chart(budget.figure(), width="stretch", key="present_fleet_curve")


def _step_cost(source: Source, threshold: float) -> None:
    section = on_device_section(source.block)
    if section is None:
        st.info("This block's metadata has no on-device estimates.")
        return
    if section.illustrative:
        st.caption("Demo project: these figures are illustrative, not measured.")
    show_chart(section.latency_figure(), width="stretch", key="present_latency")
    left, right = st.columns(2)
    with left:
        show_chart(section.ram_figure(), width="stretch", key="present_ram")
    with right:
        show_chart(section.flash_figure(), width="stretch", key="present_flash")


STEPS: list[tuple[str, Callable[[Source, float], None]]] = [
    ("The model", _step_model),
    ("How it did", _step_validation),
    ("The threshold and its guarantee", _step_threshold),
    ("Alarms in the field", _step_fleet),
    ("The cost on the device", _step_cost),
]


def show_presentation(loaded: LoadedSource) -> None:
    """The whole presentation: the step the session is on, previous/next, leave, unlock."""
    st.html(PRESENT_CSS)
    step = min(max(int(st.session_state.get(state.PRESENT_STEP) or 1), 1), len(STEPS))
    st.session_state[state.PRESENT_STEP] = step
    source = loaded.source
    if source is None:
        assert loaded.error is not None
        show_error(loaded.error)
        st.button("Leave presentation mode", key=state.PRESENT_LEAVE, on_click=_leave, icon=":material/close:")
        return
    title, show = STEPS[step - 1]
    top = st.columns([5, 2, 3], vertical_alignment="center")
    top[0].caption(f"Step {step} of {len(STEPS)} · {md_escape(source.title)}")
    with top[1]:
        permalink.show_copy_link()
    top[2].button(
        "Leave presentation", key=state.PRESENT_LEAVE, on_click=_leave, icon=":material/close:", width="stretch"
    )
    st.title(title)
    unlocked = st.toggle(
        "Unlock the values",
        key=state.PRESENT_UNLOCKED,
        help="The threshold is frozen as the link says; unlock it to move it with the audience.",
    )
    threshold = _threshold(source, unlocked)
    if not unlocked:
        policy = _policy()
        st.caption(f"Threshold {threshold:g} · alarm policy {md_escape(policy.describe())} (as the link says).")
    show(source, threshold)
    nav = st.columns([1, 4, 1])
    nav[0].button(
        "Previous",
        key=state.PRESENT_PREV,
        on_click=_move,
        args=(-1,),
        disabled=step == 1,
        icon=":material/arrow_back:",
        width="stretch",
    )
    nav[1].progress(step / len(STEPS), text=f"{step} / {len(STEPS)}: {title}")
    nav[2].button(
        "Next",
        key=state.PRESENT_NEXT,
        on_click=_move,
        args=(1,),
        disabled=step == len(STEPS),
        icon=":material/arrow_forward:",
        width="stretch",
    )

"""Threshold suggestions on labelled scores: a false-alarm budget, a recall target, or costs.

Each candidate is shown beside the block's own value and the slider's, and is one click from
the slider.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.evaluation import (
    BinaryCounts,
    ThresholdChoice,
    binary_counts,
    shortest_float32,
    threshold_for_cost,
    threshold_for_false_alarm_rate,
    threshold_for_recall,
    total_cost,
)
from ei_anomaly.metadata import Threshold

from . import state
from .threshold import use_threshold

FALSE_ALARMS, RECALL, COST = "False-alarm budget", "Recall target", "Costs"


def _candidate(scores: np.ndarray, truth: np.ndarray, goal: str) -> tuple[ThresholdChoice, str]:
    if goal == FALSE_ALARMS:
        per = st.number_input(
            "At most 1 false alarm per … normal windows",
            min_value=1,
            value=1000,
            step=100,
            key=state.HELPER_FALSE_ALARM_PER,
        )
        return threshold_for_false_alarm_rate(scores, truth, 1 / per), f"≤ 1 false alarm per {per:,} normal windows"
    if goal == RECALL:
        pct = st.number_input(
            "Flag at least this % of the anomalies",
            min_value=1.0,
            max_value=100.0,
            value=95.0,
            step=1.0,
            key=state.HELPER_RECALL,
        )
        return threshold_for_recall(scores, truth, pct / 100), f"recall ≥ {pct:g}%"
    left, right = st.columns(2)
    miss = left.number_input(
        "Cost of a missed anomaly", min_value=0.0, value=10.0, step=1.0, key=state.HELPER_MISS_COST
    )
    fa = right.number_input(
        "Cost of a false alarm", min_value=0.0, value=1.0, step=1.0, key=state.HELPER_FALSE_ALARM_COST
    )
    return threshold_for_cost(scores, truth, miss, fa), f"lowest cost ({miss:g} per miss, {fa:g} per false alarm)"


def _matrix(counts: BinaryCounts) -> pd.DataFrame:
    """The confusion matrix: rows are the labels, columns what the threshold says."""
    return pd.DataFrame(counts.matrix, index=["normal", "anomaly"], columns=["passed", "flagged"])


def _summary(counts: BinaryCounts) -> str:
    precision = f"{counts.precision:.1%}" if counts.tp + counts.fp else "n/a"
    return f"{counts.fp} false alarms · {counts.fn} missed · precision {precision} · recall {counts.recall:.1%}"


def show_threshold_helpers(
    model: AnomalyBlock, threshold: Threshold | None, page: str, scores: np.ndarray, truth: np.ndarray, current: float
) -> None:
    """Pick a goal, see the candidate against the block's value and the slider's, use it in one click."""
    st.subheader("Suggest a threshold")
    goal = st.radio(
        "Goal", (FALSE_ALARMS, RECALL, COST), key=state.HELPER_GOAL, horizontal=True, label_visibility="collapsed"
    )
    try:
        with st.columns([2, 1])[0]:
            choice, target = _candidate(scores, truth, goal)
    except AnomalyLensError as exc:
        st.warning(f"No suggestion: {exc}.", icon=":material/warning:")
        return
    candidate = shortest_float32(choice.threshold)
    if not choice.met:
        st.warning(f"No threshold reaches {target}; the closest is shown.", icon=":material/warning:")
    block_value = threshold.numeric_value if threshold and threshold.numeric_value is not None else None
    block_value = model.default_threshold if block_value is None else block_value
    columns = (("Block's value", block_value), ("Slider", current), ("Suggested", candidate))
    for col, (title, value) in zip(st.columns(3, gap="medium"), columns, strict=True):
        counts = binary_counts(scores, truth, value)
        with col:
            st.markdown(f"**{title}** `{shortest_float32(value)}`")
            st.table(_matrix(counts))
            st.caption(_summary(counts) + (f" · cost {total_cost(counts, *_costs()):g}" if goal == COST else ""))
    st.caption(f"Suggested for {target}. Rows: the windows' labels; columns: what the threshold does with them.")
    st.button(
        f"Use this threshold ({candidate})",
        key=state.HELPER_USE,
        on_click=use_threshold,
        args=(model, threshold, page, candidate),
        icon=":material/check:",
        disabled=candidate == current,
    )


def _costs() -> tuple[float, float]:
    return float(st.session_state.get(state.HELPER_MISS_COST, 10.0)), float(
        st.session_state.get(state.HELPER_FALSE_ALARM_COST, 1.0)
    )

"""The Compare page on a fleet log: which log (the Fleet page's), block B's scores of it, the policy
both blocks share, and the comparison the core decides (`ei_anomaly.review.compare_fleet`)."""

from __future__ import annotations

import streamlit as st

from ei_anomaly import AnomalyLensError, AnomalyModel
from ei_anomaly.alarms import FleetLog, Smoothing, detect_device_column, detect_time_column
from ei_anomaly.review import SourceKind
from ei_anomaly.review.compare_fleet import FleetComparison, compare_on_fleet, log_with_scores

from . import state
from .compare_source import block_b_scores
from .errors import show_error
from .fleet import FleetData, LoadedFleet, fleet_choices, fleet_data, fleet_log
from .source import Source


def _fleet_for(source: Source, model: AnomalyModel) -> tuple[FleetData, FleetLog] | None:
    """The log the Fleet page built last for this block; else the last scored upload with a device
    and a time column; else (on the demo) the demo fleet log, with the columns found by name."""
    candidates = [d for c in fleet_choices(model, source.kind == SourceKind.DEMO) if (d := fleet_data(c, model))]
    loaded: LoadedFleet | None = st.session_state.get(state.FLEET_LOG)
    if loaded is not None and loaded.key[1] == model.fingerprint:
        for data in candidates:
            if data.scored.identity == loaded.key[0]:
                return data, loaded.log
    for data in candidates:
        device, time = detect_device_column(data.columns), detect_time_column(data.columns)
        if device is not None and time is not None:
            return data, fleet_log(data, device, time, None, None)
    return None


def _fleet_policy(model: AnomalyModel, log: FleetLog) -> tuple[Smoothing | None, float] | None:
    """The Fleet page's smoothing and cool-down, when it last simulated this block on this log."""
    found = st.session_state.get(state.FLEET_REVIEW)
    if found is not None and found[0] == model.fingerprint and found[1].log is log:
        policy = found[1].result.policy
        return policy.smoothing, float(policy.cooldown_s)
    return None


def _log_b(data: FleetData, log_a: FleetLog, b: AnomalyModel) -> FleetLog | None:
    cached = st.session_state.get(state.COMPARE_FLEET_LOG_B)
    if cached is not None and cached[0] is log_a and cached[1] == b.fingerprint:
        found: FleetLog = cached[2]
        return found
    scores = block_b_scores(data.scored, b)
    if scores is None:
        return None
    log_b = log_with_scores(log_a, scores)
    st.session_state[state.COMPARE_FLEET_LOG_B] = (log_a, b.fingerprint, log_b)
    return log_b


def fleet_comparison(
    source: Source, a: tuple[str, AnomalyModel, float], b: tuple[str, AnomalyModel, float]
) -> tuple[FleetComparison, str] | None:
    """Both blocks on the fleet log at matched policies, and where that policy comes from; or None
    (with a hint) without a fleet log."""
    (name_a, model_a, threshold_a), (name_b, model_b, threshold_b) = a, b
    try:
        found = _fleet_for(source, model_a)
    except AnomalyLensError as exc:
        show_error(exc)
        return None
    if found is None:
        st.caption(
            "No fleet log: score a file with a device and a time column on the Scoring page (or open the Fleet "
            "page) to compare the blocks' alarms per device per day."
        )
        return None
    data, log_a = found
    from_fleet_page = _fleet_policy(model_a, log_a)
    smoothing, cooldown_s = from_fleet_page or (None, 0.0)
    origin = "the Fleet page's" if from_fleet_page else "none: the Fleet page has not simulated this log for this block"
    budget = st.number_input(
        "Alarm budget (alarms per device per day)",
        min_value=0.0,
        value=1.0,
        step=0.5,
        key=state.COMPARE_FLEET_BUDGET,
        help="Each block also gets the lowest threshold at which the whole log raises at most this many alarms "
        "per device per day, with the same smoothing and cool-down.",
    )
    log_b = _log_b(data, log_a, model_b)
    if log_b is None:
        return None
    try:
        fleet = compare_on_fleet(
            data.name,
            (name_a, log_a, threshold_a),
            (name_b, log_b, threshold_b),
            smoothing=smoothing,
            cooldown_s=cooldown_s,
            budget_per_day=float(budget),
        )
    except AnomalyLensError as exc:
        show_error(exc)
        return None
    return fleet, origin

"""The Compare page on a fleet log: which log (the Fleet page's choice), block B's scores of it, the
policy both blocks share, and the comparison the core decides (`ei_anomaly.review.compare_fleet`)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.alarms import FleetLog, FleetPolicy
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.review import Comparison, NamedLog
from ei_anomaly.review.compare_fleet import FleetComparison, compare_on_fleet, log_with_scores

from . import state
from .compare_source import block_b_scores
from .errors import show_error
from .fleet import CHOICE, FleetChoice, FleetData, detected_choice, fleet_choices, fleet_data, fleet_log
from .memo import memo
from .policy import shared_policy
from .source import DemoSource, Source


@dataclass(frozen=True)
class FleetOnScreen:
    """Both blocks on the fleet log, as the Compare page shows it (and its report has it)."""

    comparison: FleetComparison
    policy_origin: str  # where the matched policy comes from, in words
    log_a: NamedLog  # the log with block A's scores
    log_b: FleetLog  # the same windows with block B's scores


def _fleet_for(source: Source) -> tuple[FleetData, FleetChoice] | None:
    """The log and columns the Fleet page chose, when it has this block's data; else the last scored
    upload with a device and a time column; else (on the demo) the demo fleet log, columns found by name."""
    model = source.block
    candidates = {c: d for c in fleet_choices(model, isinstance(source, DemoSource)) if (d := fleet_data(c, model))}
    chosen = CHOICE.get()
    if chosen is not None and chosen.log in candidates:
        return candidates[chosen.log], chosen
    for name, data in candidates.items():
        found = detected_choice(name, data)
        if found.device is not None and found.time is not None:
            return data, found
    return None


def fleet_comparison(source: Source, comparison: Comparison) -> FleetOnScreen | None:
    """Both blocks on the fleet log at matched policies; or None (with a hint) without a fleet log."""
    a, b = comparison.a, comparison.b
    try:
        found = _fleet_for(source)
        if found is None:
            st.caption(
                "No fleet log: score a file with a device and a time column on the Scoring page (or open the Fleet "
                "page) to compare the blocks' alarms per device per day."
            )
            return None
        data, choice = found
        log_a = fleet_log(data, choice)
    except AnomalyLensError as exc:
        show_error(exc)
        return None
    chosen = shared_policy()
    policy = chosen or FleetPolicy()
    origin = "the Fleet page's" if chosen is not None else "none: the Fleet page has not set one"
    budget = st.number_input(
        "Alarm budget (alarms per device per day)",
        min_value=0.0,
        value=1.0,
        step=0.5,
        key=state.COMPARE_FLEET_BUDGET,
        help="Each block also gets the lowest threshold at which the whole log raises at most this many alarms "
        "per device per day, with the same smoothing and cool-down.",
    )
    log_b = _log_b(data, choice, log_a, b.model)
    if log_b is None:
        return None
    try:
        fleet = compare_on_fleet(
            data.name,
            (a.name, log_a, a.threshold),
            (b.name, log_b, b.threshold),
            policy=policy,
            budget_per_day=float(budget),
        )
    except AnomalyLensError as exc:
        show_error(exc)
        return None
    return FleetOnScreen(fleet, origin, NamedLog(data.name, log_a), log_b)


def _log_b(data: FleetData, choice: FleetChoice, log_a: FleetLog, b: AnomalyBlock) -> FleetLog | None:
    """Block A's log with block B's scores of the same rows (B scores the file once)."""
    scores = block_b_scores(data.scored, b)
    if scores is None:
        return None
    key = (data.scored.identity, data.scored.model_fingerprint, choice, b.fingerprint)
    return memo("fleet_log_b", key, lambda: log_with_scores(log_a, scores))

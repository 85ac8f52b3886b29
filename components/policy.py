"""The alarm policy's controls (the SDK's smoothing and a cool-down), and the policy the pages share.

Each page has its own widgets; the policy last chosen is one typed value in the session
(`SHARED`), which the Fleet page writes and the Compare page reads, as pages share the threshold."""

from __future__ import annotations

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.alarms import FleetPolicy, Smoothing

from . import state
from .errors import show_error

SHARED = state.Slot(state.SHARED_POLICY, FleetPolicy)
DEFAULT_SMOOTHING = Smoothing(10, 7)  # what the Fleet page starts with: 10 readings, 7 the same


def shared_policy() -> FleetPolicy | None:
    """The policy last chosen on a page with policy controls, if any."""
    return SHARED.get()


def select_policy(page: str) -> FleetPolicy | None:
    """Smoothing on/off, n readings, min readings the same and a cool-down, in one row; the policy
    (also kept as the shared one), or None with the problem shown."""
    start = SHARED.get() or FleetPolicy(DEFAULT_SMOOTHING)
    smoothing = start.smoothing or DEFAULT_SMOOTHING
    c = st.columns([1.3, 1, 1, 1.2])
    smooth = c[0].toggle(
        "Smooth like the SDK",
        value=start.smoothing is not None,
        key=state.policy_widget(page, "smooth"),
        help="ei_classifier_smooth: n readings, min readings the same; a reading is anomalous when score >= threshold.",
    )
    n = int(
        c[1].number_input(
            "n readings", 1, 255, smoothing.n_readings, key=state.policy_widget(page, "n_readings"), disabled=not smooth
        )
    )
    k = int(
        c[2].number_input(
            "min readings the same",
            1,
            255,
            smoothing.min_readings_same,
            key=state.policy_widget(page, "min_same"),
            disabled=not smooth,
        )
    )
    cooldown_min = float(
        c[3].number_input(
            "Cool-down (minutes)",
            min_value=0.0,
            value=start.cooldown_s / 60,
            step=5.0,
            key=state.policy_widget(page, "cooldown_min"),
            help="No new alarm this soon after the last one of the same device.",
        )
    )
    try:
        policy = FleetPolicy(Smoothing(n, k) if smooth else None, cooldown_min * 60)
    except AnomalyLensError as exc:
        show_error(exc)
        return None
    SHARED.set(policy)
    return policy

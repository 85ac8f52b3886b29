"""The anomaly threshold, shared by the Thresholds and Scoring pages.

Each page has its own slider (widgets are per page), mirrored into one session value per
model, so a value set on one page is where the other page's slider starts.
"""

from __future__ import annotations

import math

import streamlit as st

from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.metadata import Threshold
from ei_anomaly.review import threshold_meaning

from . import permalink, state
from .text import md_escape


def _shared_key(model: AnomalyBlock, key: str) -> str:
    return state.shared_threshold(model.fingerprint, key)


def use_threshold(model: AnomalyBlock, threshold: Threshold | None, page: str, value: float) -> None:
    """Set the shared value to `value` and let the page's slider start there (for a button's on_click)."""
    key = threshold_meaning(model, threshold=threshold).key
    st.session_state[_shared_key(model, key)] = float(value)
    prefix = state.threshold_slider(page, model.fingerprint, key)
    for name in [k for k in st.session_state if k.startswith(prefix)]:
        del st.session_state[name]  # the slider is re-created from the shared value


def shared_threshold(model: AnomalyBlock, threshold: Threshold | None = None) -> float:
    """The current value: what a slider last set, else the block's own value."""
    meaning = threshold_meaning(model, threshold=threshold)
    return float(st.session_state.get(_shared_key(model, meaning.key), meaning.block_value))


def slider_range(bounds: tuple[float, float] | None, *values: float) -> tuple[float, float]:
    """Covers the scores people look at and every given value.

    `bounds` is (lowest, 99.5th percentile) of the scores (`ei_anomaly.score_views.score_bounds`),
    computed once per set of scores rather than on every slider step.
    """
    lo = min(-0.5, *values, bounds[0] if bounds else 0.0)
    hi = max(1.0, *(2 * v for v in values if v > 0), bounds[1] if bounds else 0.0)
    return math.floor(lo * 10) / 10, math.ceil(hi * 10) / 10


def select_threshold(
    model: AnomalyBlock,
    threshold: Threshold | None,
    page: str,
    bounds: tuple[float, float] | None,
    label: str | None = None,
) -> float:
    """A slider for one threshold (with a reset to the suggested value); returns its value."""
    meaning = threshold_meaning(model, threshold=threshold)
    shared = _shared_key(model, meaning.key)
    current = float(st.session_state.get(shared, meaning.block_value))  # as `shared_threshold` reads it
    # The range must not follow the slider's own value: a widget whose bounds change is reset.
    lo, hi = slider_range(bounds, meaning.block_value, *([meaning.suggested] if meaning.suggested is not None else []))
    lo, hi = min(lo, current), max(hi, current)
    # Streamlit resets a slider whose bounds change (other scores, a value set elsewhere): the
    # bounds are part of the key, so a new slider starts from the shared value instead.
    widget = state.threshold_slider(page, model.fingerprint, meaning.key, (lo, hi))
    if widget not in st.session_state:
        st.session_state[widget] = current

    def remember() -> None:
        st.session_state[shared] = st.session_state[widget]

    def reset() -> None:
        st.session_state[widget] = st.session_state[shared] = meaning.reset_value

    left, right = st.columns([5, 1], vertical_alignment="bottom")
    with left:
        help_text = (
            md_escape(meaning.help_text, 1000)
            if meaning.help_text
            else "A window is an anomaly when its score is strictly greater than this."
        )
        value = st.slider(
            label or md_escape(meaning.description or meaning.key, 200),
            min_value=lo,
            max_value=hi,
            step=0.01,
            key=widget,
            on_change=remember,
            help=help_text,
            format="%.2f",
        )
    with right:
        st.button(
            "Reset",
            key=state.threshold_reset(page, model.fingerprint, meaning.key),
            on_click=reset,
            width="stretch",
            help=f"Back to the suggested value ({meaning.suggested:g})"
            if meaning.suggested is not None
            else "Back to the block's value",
        )
    block = f"block value {md_escape(meaning.block_text)}" if meaning.configured else f"default {meaning.block_value:g}"
    notes = [md_escape(f"`{meaning.key}`"), block]
    if meaning.suggested is not None and meaning.suggested_text is not None:  # what Reset goes to
        notes.append(f"suggested {md_escape(meaning.suggested_text)}")
    st.caption(" · ".join(notes))
    permalink.publish(model)  # a slider in a fragment: its rerun still updates the link
    return float(value)

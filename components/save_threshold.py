""" "Save to Edge Impulse": confirm block, key, old -> new, then write the threshold to Studio.

The dialog stays open through reruns while a save is pending (its state is in session state),
so the write happens in the Save button's callback whichever way the script reruns. On success
only this block's cached metadata and test results are dropped, so every page re-reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from ei_anomaly import AnomalyLensError
from ei_anomaly.client import EdgeImpulseClient
from ei_anomaly.deploy import write_refusal
from ei_anomaly.evaluation import shortest_float32
from ei_anomaly.metadata import Threshold
from ei_anomaly.write_back import save_threshold

from . import loaders, state
from .errors import show_error
from .source import ProjectSource, Source, deploy_settings
from .text import md_escape


@dataclass(frozen=True)
class PendingSave:
    block: str
    learn_id: int
    key: str
    old: float | str
    new: float


@dataclass(frozen=True)
class SaveState:
    """A save asked for (until saved or cancelled), why the last attempt failed, and what the last
    save did (said once)."""

    pending: PendingSave | None = None
    error: AnomalyLensError | None = None
    notice: str | None = None


SAVE = state.Slot(state.SAVE, SaveState)


def _current() -> SaveState:
    return SAVE.get() or SaveState()


def _ask(pending: PendingSave) -> None:
    SAVE.set(replace(_current(), pending=pending, error=None))


def _cancel() -> None:
    SAVE.set(replace(_current(), pending=None, error=None))


def _save(source: ProjectSource, pending: PendingSave) -> None:
    allow = bool(st.session_state.get(state.SAVE_REGENERATE, False))
    try:
        refused = write_refusal(deploy_settings().allow_write, source.key_is_visitors)
        if refused:  # the button is disabled then; checked again here, where the write happens
            raise AnomalyLensError(refused)
        client = EdgeImpulseClient(source.api_key, source.base_url)
        saved = save_threshold(client, source.project_id, pending.learn_id, pending.key, pending.new, allow)
    except AnomalyLensError as exc:  # read-only key, network, validation: said in the dialog, nothing changes
        SAVE.set(replace(_current(), error=exc))
        return
    loaders.forget_block(source.base_url, source.project_id, pending.learn_id)
    notice = (
        f"Saved to Edge Impulse: {md_escape(pending.block)}, {md_escape(pending.key)} "
        f"{md_escape(pending.old)} → {pending.new}. {md_escape(saved.describe())}"
    )
    SAVE.set(SaveState(notice=notice))


@st.dialog("Save the threshold to Edge Impulse", on_dismiss=_cancel)
def _confirm(source: ProjectSource, pending: PendingSave) -> None:
    if _current().pending != pending:  # saved or cancelled by a button's callback
        st.rerun()
    st.markdown(  # the block name, key and old value come from the API: shown as text
        f"**Block:** {md_escape(pending.block)}  \n**Key:** {md_escape(pending.key)}  \n"
        f"**Value:** {md_escape(pending.old)} → **{pending.new}**"
    )
    st.caption(
        "Changing a threshold invalidates Studio's model-testing results; Studio regenerates them when it can. "
        "Writing needs an admin API key."
    )
    st.checkbox(
        "Let Studio start a job to regenerate model-testing results (large test sets)", key=state.SAVE_REGENERATE
    )
    error = _current().error
    if error is not None:
        show_error(error)
    left, right = st.columns(2)
    left.button("Save", type="primary", on_click=_save, args=(source, pending), width="stretch", key=state.SAVE_CONFIRM)
    right.button("Cancel", on_click=_cancel, width="stretch", key=state.SAVE_CANCEL)


def show_save_button(source: Source, threshold: Threshold | None, value: float) -> None:
    """For a project source: the button, and the confirmation while a save is pending."""
    if not isinstance(source, ProjectSource) or threshold is None:
        return
    pending = PendingSave(source.title, source.learn_id, threshold.key, threshold.value, shortest_float32(value))
    unchanged = threshold.numeric_value is not None and shortest_float32(threshold.numeric_value) == pending.new
    refused = write_refusal(deploy_settings().allow_write, source.key_is_visitors)
    st.button(
        "Save to Edge Impulse",
        key=state.SAVE_OPEN,
        on_click=_ask,
        args=(pending,),
        icon=":material/cloud_upload:",
        disabled=unchanged or refused is not None,
        help=refused
        or (
            "The block already has this value."
            if unchanged
            else "Write this value to the block in Studio (asks first)."
        ),
    )
    if refused:
        st.caption(refused)
    asked = _current().pending
    if asked is not None:
        _confirm(source, asked)


def show_save_notice() -> None:
    """The outcome of the last save, once."""
    notice = _current().notice
    if notice:
        SAVE.set(replace(_current(), notice=None))
        st.success(notice, icon=":material/cloud_done:")

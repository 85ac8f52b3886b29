"""Every `st.session_state` key the app uses, in one place, and how typed values are kept there.

Widget keys keep a widget's value across reruns and page switches (one constant per widget,
grouped by page). A value the app keeps that no widget holds is a typed object in a `Slot`: read
back as its type or not at all, never a tuple read by index. Values computed from others are kept
by `components.memo`, keyed by what they are computed from. Nothing else in the app spells a key.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import streamlit as st

T = TypeVar("T")


class Slot(Generic[T]):
    """One typed value in this visitor's session."""

    def __init__(self, key: str, kind: type[T]) -> None:
        self.key = key
        self.kind = kind

    def get(self) -> T | None:
        value = st.session_state.get(self.key)
        return value if isinstance(value, self.kind) else None

    def set(self, value: T) -> None:
        st.session_state[self.key] = value

    def clear(self) -> None:
        st.session_state.pop(self.key, None)


# Sidebar: the data source (app.py, so they survive page switches), and the source of this run.
SOURCE = "source"
PROJECT_ID = "ei_project_id"
API_KEY = "ei_api_key"
BASE_URL = "ei_base_url"
BLOCK = "ei_block"
METADATA_FILE = "metadata_file"
GMM_FILES = "gmm_block_files"
DEMO_BLOCK = "demo_block"
REFRESH_TOKEN = "ei_refresh_token"  # this visitor's cache generation: "Refresh" changes it, nobody else's
REFRESH_BUTTON = "ei_refresh"
RUN_SOURCE = "run_source"  # components.source.LoadedSource: the source app.py loaded for this run
EXPORT_BLOCK = "export_block"  # which anomaly block of an uploaded export holding several


def target_choice(block_fingerprint: str) -> str:
    """The sidebar's "Scores exact to" for one block (a block's own default until it is chosen)."""
    return f"target::{block_fingerprint}"


def rows_choice(block_fingerprint: str) -> str:
    """The sidebar's "Feature files hold" (raw or normalized) for one export with data normalization."""
    return f"features_are::{block_fingerprint}"


# Scoring page.
FEATURES_FILE = "features_file"
USE_DEMO_FEATURES = "scoring_demo_file"
SPREADSHEET_SAFE = "scoring_spreadsheet_safe"
SCORING_EXPLAIN = "scoring_explain"
SCORING_EXPLAIN_ROW = "scoring_explain_row"


def column_choice(file_identity: str, axis: int) -> str:
    """The column a user picked for one axis of one file."""
    return f"map::{file_identity}::{axis}"


# The server-wide held store (`loaders.held()`): this session's token there, and the name of the
# file it holds (to say so when the server released it for other visitors).
HELD_TOKEN = "held_token"
REFUSED_MODELS = "refused_models"  # held-store key (a file's content hash) -> the error it was refused with
HELD_FILE_NAME = "held_file_name"
OPENED_FILE = "opened_file"  # components.uploads.OpenedFile: the upload's first block, before its mapping
SCORED_FILE = "scored_file"  # ei_anomaly.scored_file.ScoredFile: the last scored upload

# Thresholds page: the score source, the suggestion helpers, the write-back to Edge Impulse.
SCORE_SOURCE = "thresholds_score_source"
HELPER_GOAL = "helper_goal"
HELPER_FALSE_ALARM_PER = "helper_false_alarm_per"
HELPER_RECALL = "helper_recall_percent"
HELPER_MISS_COST = "helper_miss_cost"
HELPER_FALSE_ALARM_COST = "helper_false_alarm_cost"
HELPER_USE = "helper_use"
SAVE = "save_threshold"  # components.save_threshold.SaveState: a save asked for, its error, its outcome
SAVE_REGENERATE = "save_threshold_allow_regenerate_job"
SAVE_OPEN, SAVE_CONFIRM, SAVE_CANCEL = "save_open", "save_confirm", "save_cancel"

# Normal windows (Thresholds: the false-alarm guarantee; Scoring: p-values), each page its own widgets.
NORMAL_SCORED = "normal_scored_file"  # the held store's name for the last file of normal operation scored
GUARANTEE_FPR = "guarantee_fpr_percent"
GUARANTEE_CONFIDENCE = "guarantee_confidence_percent"
GUARANTEE_USE = "guarantee_use"


def normal_source(page: str) -> str:
    return f"{page}_normal_source"


def normal_upload(page: str) -> str:
    return f"{page}_normal_upload"


def normal_demo(page: str) -> str:
    return f"{page}_normal_demo"


def normal_label_column(page: str, file_identity: str) -> str:
    return f"{page}_normal_rows::{file_identity}"


def normal_labels(page: str, file_identity: str, column: str) -> str:
    return f"{page}_normal_labels::{file_identity}::{column}"


def guarantee_unit(page: str) -> str:
    return f"{page}_guarantee_unit"


def guarantee_stride(page: str) -> str:
    return f"{page}_guarantee_stride"


def guarantee_per(page: str) -> str:
    return f"{page}_guarantee_per"


# Clusters page.
CLUSTERS_X = "clusters_ax1"
CLUSTERS_Y = "clusters_ax2"
CLUSTERS_ORIGINAL_UNITS = "clusters_original"
CLUSTERS_3D_SHOW = "clusters_3d_show"
CLUSTERS_3D_AXES = "clusters_3d_axes"
CLUSTERS_PARALLEL_SHOW = "clusters_parallel_show"
EXPLAINED_WINDOW = "explained_window"  # components.explain.ExplainedWindow: drawn on the Clusters page

# Validation and On-device pages.
VALIDATION_TYPE = "validation_type"
VALIDATION_LABELS = "validation_labels"
VALIDATION_OUTCOME = "validation_outcome"
DEVICE_TYPE = "device_type"
BUDGET_RAM = "budget_ram"
BUDGET_ROM = "budget_rom"


# Thresholds: one shared value per block and key, and one slider widget per page.
def shared_threshold(model_fingerprint: str, threshold_key: str) -> str:
    return f"threshold::{model_fingerprint}::{threshold_key}"


def threshold_slider(
    page: str, model_fingerprint: str, threshold_key: str, bounds: tuple[float, float] | None = None
) -> str:
    """One page's slider. Streamlit resets a slider whose bounds change, so the bounds are part of
    the key: a slider with new bounds is a new widget that starts from the shared value. Without
    `bounds`, the prefix every such key starts with."""
    key = f"{page}::{shared_threshold(model_fingerprint, threshold_key)}::range"
    return key if bounds is None else f"{key}::{bounds[0]:g}:{bounds[1]:g}"


def threshold_reset(page: str, model_fingerprint: str, threshold_key: str) -> str:
    return f"{page}::{shared_threshold(model_fingerprint, threshold_key)}::reset"


# The alarm policy (Fleet and Compare pages): one shared value, and each page's own widgets.
SHARED_POLICY = "alarm_policy"  # ei_anomaly.alarms.FleetPolicy: the smoothing and cool-down last chosen


def policy_widget(page: str, name: str) -> str:
    """One of a page's policy controls: `smooth`, `n_readings`, `min_same`, `cooldown_min`."""
    return f"{page}_{name}"


# Fleet page: the log, its columns, the budget helper and the drill-down.
FLEET_SOURCE = "fleet_source"
FLEET_CHOICE = "fleet_choice"  # components.fleet.FleetChoice: the log and columns last chosen on the Fleet page
FLEET_DEVICE_COLUMN = "fleet_device_column"
FLEET_TIME_COLUMN = "fleet_time_column"
FLEET_CLASS_COLUMN = "fleet_class_column"
FLEET_STRIDE = "fleet_stride_s"
FLEET_BUDGET = "fleet_budget"
FLEET_BUDGET_PER = "fleet_budget_per"
FLEET_BOUND_USE = "fleet_bound_use"
FLEET_DEVICE = "fleet_drilldown_device"
FLEET_EXPLAIN = "fleet_explain"
FLEET_EXPLAIN_ROW = "fleet_explain_row"

# Compare page: the second block, what both are judged on, and the fleet comparison's budget.
COMPARE_SOURCE = "compare_source"
COMPARE_BLOCK = "compare_block"
COMPARE_FILES = "compare_files"
COMPARE_LABELLED = "compare_labelled_source"
COMPARE_FALSE_ALARM = "compare_false_alarm_rate"
COMPARE_LABEL_COLUMN = "compare_label_column"
COMPARE_ANOMALY_LABELS = "compare_anomaly_labels"
COMPARE_FLEET_BUDGET = "compare_fleet_budget"


# Permalinks and presentation mode (components.permalink, components.present).
LINK_REQUEST = "link_request"  # components.permalink.LinkRequest: the link this session opened with
LINK_DISMISS = "link_dismiss"
COPY_LINK = "copy_link"
PRESENT = "present_mode"
PRESENT_TOGGLE = "present_toggle"
PRESENT_STEP = "present_step"
PRESENT_UNLOCKED = "present_unlocked"
PRESENT_PREV, PRESENT_NEXT, PRESENT_LEAVE = "present_prev", "present_next", "present_leave"


def memo(name: str) -> str:
    """Where `components.memo` keeps the values it computed for `name`."""
    return f"memo::{name}"

"""Every `st.session_state` key the app uses, in one place.

Widget keys keep a widget's value across reruns and page switches; the other keys hold what
pages share (the scored upload, the threshold). Nothing else in the app spells a key.
"""

from __future__ import annotations

# Sidebar: the data source (app.py, so they survive page switches).
SOURCE = "source"
PROJECT_ID = "ei_project_id"
API_KEY = "ei_api_key"
BASE_URL = "ei_base_url"
BLOCK = "ei_block"
METADATA_FILE = "metadata_file"
REFRESH_TOKEN = "ei_refresh_token"  # this visitor's cache generation: "Refresh" changes it, nobody else's
REFRESH_BUTTON = "ei_refresh"

# Scoring page.
FEATURES_FILE = "features_file"
USE_DEMO_FEATURES = "scoring_demo_file"
SPREADSHEET_SAFE = "scoring_spreadsheet_safe"
SCORED_FILE = "scored_file"  # ei_anomaly.scored_file.ScoredFile: the last scored upload
OPENED_FILE = "opened_file"  # components.uploads.OpenedFile: the upload's first block, before its mapping


def column_choice(file_identity: str, axis: int) -> str:
    """The column a user picked for one axis of one file."""
    return f"map::{file_identity}::{axis}"


# Thresholds page: the score source, the suggestion helpers, the write-back to Edge Impulse.
SCORE_SOURCE = "thresholds_score_source"
HELPER_GOAL = "helper_goal"
HELPER_FALSE_ALARM_PER = "helper_false_alarm_per"
HELPER_RECALL = "helper_recall_percent"
HELPER_MISS_COST = "helper_miss_cost"
HELPER_FALSE_ALARM_COST = "helper_false_alarm_cost"
HELPER_USE = "helper_use"
SAVE_PENDING = "save_threshold_pending"
SAVE_ERROR = "save_threshold_error"  # the AnomalyLensError of the last failed save
SAVE_NOTICE = "save_threshold_notice"
SAVE_REGENERATE = "save_threshold_allow_regenerate_job"
SAVE_OPEN, SAVE_CONFIRM, SAVE_CANCEL = "save_open", "save_confirm", "save_cancel"

# Clusters page.
CLUSTERS_X = "clusters_ax1"
CLUSTERS_Y = "clusters_ax2"
CLUSTERS_ORIGINAL_UNITS = "clusters_original"
CLUSTERS_3D_AXES = "clusters_3d_axes"

# Validation and On-device pages.
VALIDATION_TYPE = "validation_type"
VALIDATION_LABELS = "validation_labels"
VALIDATION_OUTCOME = "validation_outcome"
DEVICE_TYPE = "device_type"
BUDGET_RAM = "budget_ram"
BUDGET_ROM = "budget_rom"


# Thresholds: one shared value per model and key, and one slider widget per page.
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


# Server-wide memory bound (issue 17): this session's token in `loaders.held()`, and the name of
# the file it holds there (to say so when the server released it for other visitors).
HELD_TOKEN = "held_token"
HELD_FILE_NAME = "held_file_name"
# GMM blocks and comparing blocks (issue 18): the demo's block choice, a GMM block's extra files,
# the Clusters page's ellipse axes, and the Compare page's second block.
DEMO_BLOCK = "demo_block"
GMM_FILES = "gmm_block_files"
COMPARE_SOURCE = "compare_source"
COMPARE_BLOCK = "compare_block"
COMPARE_FILES = "compare_files"
COMPARE_LABELLED = "compare_labelled_source"
COMPARE_FALSE_ALARM = "compare_false_alarm_rate"
COMPARE_LABEL_COLUMN = "compare_label_column"
COMPARE_ANOMALY_LABELS = "compare_anomaly_labels"
COMPARE_B_SCORES = "compare_b_scores"  # {(file identity, block B's fingerprint): B's scores}: the last two files
# Fleet page (issue #16, alarm policy for a fleet): the log, its columns and the policy's controls.
FLEET_SOURCE = "fleet_source"
FLEET_LOG = "fleet_log"  # components.fleet.LoadedFleet: the last fleet log built in this session
FLEET_DEVICE_COLUMN = "fleet_device_column"
FLEET_TIME_COLUMN = "fleet_time_column"
FLEET_CLASS_COLUMN = "fleet_class_column"
FLEET_STRIDE = "fleet_stride_s"
FLEET_SMOOTH = "fleet_smooth"
FLEET_N_READINGS = "fleet_n_readings"
FLEET_MIN_SAME = "fleet_min_same"
FLEET_COOLDOWN_MIN = "fleet_cooldown_min"
FLEET_BUDGET = "fleet_budget"
FLEET_BUDGET_PER = "fleet_budget_per"
FLEET_DEVICE = "fleet_drilldown_device"
FLEET_EXPLAIN_ROW = "fleet_explain_row"
FLEET_EXPLAIN = "fleet_explain"
EXPLAINED_WINDOW = "explained_window"  # components.explain.ExplainedWindow: drawn on the Clusters page
SCORING_EXPLAIN_ROW = "scoring_explain_row"
SCORING_EXPLAIN = "scoring_explain"
FLEET_REVIEW = "fleet_review"  # (model fingerprint, ei_anomaly.alarms.views.FleetReview): the report's fleet section
# Issue 19 (fast without a GPU): the Clusters page's WebGL views are drawn on request.
CLUSTERS_3D_SHOW = "clusters_3d_show"
CLUSTERS_PARALLEL_SHOW = "clusters_parallel_show"
# Compare page on a fleet log (issue 18): alarms per device per day at matched policies.
COMPARE_FLEET_BUDGET = "compare_fleet_budget"
COMPARE_FLEET_LOG_B = "compare_fleet_log_b"  # (block A's FleetLog, block B's fingerprint, the log with B's scores)

"""The fleet log the Fleet and Compare pages simulate: which log (the demo's, or the last scored
upload), its device, time and class columns, and the `FleetLog` built from them (kept per choice).

The choice made on the Fleet page is kept as a typed value (`FleetChoice`), which the Compare page
reads explicitly, as both read the shared threshold."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import streamlit as st

from ei_anomaly.alarms import FleetLog, build_fleet_log, detect_device_column, detect_time_column
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.demo import FLEET_LOG_CSV
from ei_anomaly.features import map_columns, read_feature_file
from ei_anomaly.scored_file import ScoredFile

from . import state
from .memo import memo
from .uploads import last_scored

DEMO_FLEET = "Demo fleet log"
LAST_UPLOAD = "Last scored upload"


@dataclass(frozen=True)
class FleetData:
    """A scored table the Fleet page can simulate on: the scored file and the columns it offers."""

    name: str
    scored: ScoredFile
    columns: list[str]  # candidates for device, time and class: every column but the mapped axes


@dataclass(frozen=True)
class FleetChoice:
    """Which log, and which of its columns say the device, the time and the predicted class (None:
    none); `stride_s` places the windows in time when there is no time column."""

    log: str  # DEMO_FLEET or LAST_UPLOAD
    device: str | None
    time: str | None
    predicted_class: str | None = None
    stride_s: float | None = None


CHOICE = state.Slot(state.FLEET_CHOICE, FleetChoice)


@st.cache_resource(show_spinner="Scoring the demo fleet log…", max_entries=4)
def _demo_fleet(model_fingerprint: str, _model: AnomalyBlock) -> ScoredFile:
    """The bundled fleet log scored by the demo block: the same for every visitor, kept once."""
    table = read_feature_file(FLEET_LOG_CSV)
    mapping = map_columns(table, _model)
    identity = f"demo:{FLEET_LOG_CSV.name}:{FLEET_LOG_CSV.stat().st_size}"
    return ScoredFile.score(table, _model, mapping, FLEET_LOG_CSV.name, identity)


def fleet_choices(model: AnomalyBlock, is_demo: bool) -> list[str]:
    """The last scored upload first (what a visitor coming from the Scoring page wants), then the demo's log."""
    options = [LAST_UPLOAD] if last_scored(model) is not None else []
    if is_demo:
        options.append(DEMO_FLEET)
    return options


def fleet_data(choice: str, model: AnomalyBlock) -> FleetData | None:
    scored = _demo_fleet(model.fingerprint, model) if choice == DEMO_FLEET else last_scored(model)
    if scored is None:
        return None
    columns = [c for c in scored.table.columns if c not in scored.mapping.columns]
    return FleetData(scored.name, scored, columns)


def detected_choice(log: str, data: FleetData) -> FleetChoice:
    """The columns found by name (`detect_device_column`, `detect_time_column`)."""
    return FleetChoice(log, detect_device_column(data.columns), detect_time_column(data.columns))


def fleet_log(data: FleetData, choice: FleetChoice) -> FleetLog:
    """The log ordered per device and time for these columns: built once per file, block and columns."""
    table = data.scored.table.table

    def column(name: str | None) -> pa.ChunkedArray | None:
        return None if name is None else table.column(name)

    def build() -> FleetLog:
        return build_fleet_log(
            data.scored.scores.score,
            column(choice.device),
            column(choice.time),
            stride_s=choice.stride_s if choice.time is None else None,
            classes=column(choice.predicted_class),
            device_column=choice.device,
            time_column=choice.time,
            class_column=choice.predicted_class,
        )

    key = (data.scored.identity, data.scored.model_fingerprint, choice)
    return memo("fleet_log", key, build, keep=2)  # the Fleet page's log and, on Compare, block B's

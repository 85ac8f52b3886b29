"""The Fleet page's data: which fleet log (the demo's, or the last scored upload), its device,
time and class columns, and the `FleetLog` built from them, once per choice and session."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ei_anomaly import AnomalyModel
from ei_anomaly.alarms import FleetLog, build_fleet_log
from ei_anomaly.demo import FLEET_LOG_CSV
from ei_anomaly.features import map_columns, read_feature_file
from ei_anomaly.scored_file import ScoredFile

from . import state
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
class LoadedFleet:
    key: tuple[object, ...]
    log: FleetLog


@st.cache_resource(show_spinner="Scoring the demo fleet log…", max_entries=4)
def _demo_fleet(model_fingerprint: str, _model: AnomalyModel) -> ScoredFile:
    """The bundled fleet log scored by the demo model: the same for every visitor, kept once."""
    table = read_feature_file(FLEET_LOG_CSV)
    mapping = map_columns(table, _model)
    identity = f"demo:{FLEET_LOG_CSV.name}:{FLEET_LOG_CSV.stat().st_size}"
    return ScoredFile.score(table, _model, mapping, FLEET_LOG_CSV.name, identity)


def fleet_choices(model: AnomalyModel, is_demo: bool) -> list[str]:
    """The last scored upload first (what a visitor coming from the Scoring page wants), then the demo's log."""
    options = [LAST_UPLOAD] if last_scored(model) is not None else []
    if is_demo:
        options.append(DEMO_FLEET)
    return options


def fleet_data(choice: str, model: AnomalyModel) -> FleetData | None:
    scored = _demo_fleet(model.fingerprint, model) if choice == DEMO_FLEET else last_scored(model)
    if scored is None:
        return None
    columns = [c for c in scored.table.columns if c not in scored.mapping.columns]
    return FleetData(scored.name, scored, columns)


def fleet_log(
    data: FleetData, device: str | None, time: str | None, predicted_class: str | None, stride_s: float | None
) -> FleetLog:
    """The log ordered per device and time for these columns; kept in the session until they change."""
    key = (data.scored.identity, data.scored.model_fingerprint, device, time, predicted_class, stride_s)
    loaded: LoadedFleet | None = st.session_state.get(state.FLEET_LOG)
    if loaded is not None and loaded.key == key:
        return loaded.log
    table = data.scored.table.table

    def column(name: str | None):  # type: ignore[no-untyped-def]
        return None if name is None else table.column(name)

    log = build_fleet_log(
        data.scored.scores.score,
        column(device),
        column(time),
        stride_s=stride_s if time is None else None,
        classes=column(predicted_class),
        device_column=device,
        time_column=time,
        class_column=predicted_class,
    )
    st.session_state[state.FLEET_LOG] = LoadedFleet(key, log)
    return log

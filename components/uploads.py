"""Remembers the last scored upload so other pages (Clusters, Thresholds) can use it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ei_anomaly import AnomalyModel, Scores
from ei_anomaly.evaluation import downsample_keep_flagged
from ei_anomaly.features import ColumnMapping, axis_matrix

from . import loaders
from .threshold import shared_threshold

_KEY = "last_scored_upload"


def remember_upload(data: bytes, name: str, columns: list[str], model: AnomalyModel) -> None:
    st.session_state[_KEY] = (data, name, tuple(columns), model.fingerprint)


def _last(model: AnomalyModel) -> tuple[bytes, str, tuple[str, ...], Scores] | None:
    saved = st.session_state.get(_KEY)
    if not saved or saved[3] != model.fingerprint:
        return None
    data, name, columns, fingerprint = saved
    return data, name, columns, loaders.score_features(data, name, fingerprint, columns, model)


def last_upload_points(model: AnomalyModel, max_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Scaled axis values of the last upload scored with this model: (normal rows, anomalies) at
    the shared threshold, at most max_points in all, every anomaly kept first."""
    last = _last(model)
    if last is None:
        return None
    data, name, columns, scores = last
    flags = scores.is_anomaly(shared_threshold(model, model.anomaly_threshold))
    keep = downsample_keep_flagged(flags, max_points)
    x_axes = axis_matrix(loaders.parse_features(data, name), ColumnMapping(list(columns), ""))
    z = model.to_scaled(x_axes[keep])
    return z[~flags[keep]], z[flags[keep]]


def last_scored_upload_scores(model: AnomalyModel) -> np.ndarray | None:
    """Scores of the last upload scored with this model (NaN where unscorable)."""
    last = _last(model)
    return None if last is None else last[3].score


def last_upload_file(model: AnomalyModel) -> tuple[bytes, str, tuple[str, ...]] | None:
    """The last upload scored with this model as (file bytes, name, mapped columns), without
    parsing or scoring it again; None if there is none."""
    saved = st.session_state.get(_KEY)
    if not saved or saved[3] != model.fingerprint:
        return None
    return saved[0], saved[1], saved[2]

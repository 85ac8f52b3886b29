"""Cached loaders: thin `st.cache_*` wrappers around the core. They never render anything."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from ei_anomaly import AnomalyModel, Scores, load_metadata
from ei_anomaly.client import EdgeImpulseClient
from ei_anomaly.demo import demo_training_features, load_demo_model, trained_graph, trained_points_frame
from ei_anomaly.features import ColumnMapping, FeatureTable, read_feature_file, score_table

API_TTL = 300  # seconds: long enough for a review, short enough to see a retrained model


@st.cache_data(show_spinner=False)
def demo_model() -> AnomalyModel:
    return load_demo_model()


@st.cache_data(show_spinner=False)
def demo_trained_points(ax1: int, ax2: int) -> pd.DataFrame:
    """The demo's trained windows on two features, through the same code the local API serves."""
    return trained_points_frame(trained_graph(demo_model(), demo_training_features(), ax1, ax2), ax1, ax2)


def model_from_json(data: bytes) -> AnomalyModel:
    """The model of an uploaded metadata file. Parsed once per distinct file (sha256: ~15 ms for
    the 32 MB limit) and shared, never pickled per rerun as st.cache_data would (a 180 MB model
    took 34-71 s a page view that way)."""
    return _model_for_digest(hashlib.sha256(data).hexdigest(), data)


@st.cache_resource(show_spinner="Reading the metadata…", max_entries=8)
def _model_for_digest(digest: str, _data: bytes) -> AnomalyModel:
    return load_metadata(_data)


@st.cache_data(ttl=API_TTL, show_spinner="Listing anomaly blocks…")
def fetch_blocks(base_url: str, project_id: int, api_key: str) -> list[tuple[int, str]]:
    blocks = EdgeImpulseClient(api_key, base_url).list_anomaly_blocks(project_id)
    return [(b.id, b.name) for b in blocks]


@st.cache_data(ttl=API_TTL, show_spinner="Fetching the anomaly block…")
def fetch_model(base_url: str, project_id: int, learn_id: int, api_key: str) -> AnomalyModel:
    return EdgeImpulseClient(api_key, base_url).get_model(project_id, learn_id)


@st.cache_data(ttl=API_TTL, show_spinner="Fetching trained points…")
def fetch_trained_points(
    base_url: str, project_id: int, learn_id: int, ax1: int, ax2: int, api_key: str
) -> pd.DataFrame:
    """Trained windows on two axes, already scaled (as the API returns them)."""
    graph = EdgeImpulseClient(api_key, base_url).get_trained_features(project_id, learn_id, ax1, ax2)
    return trained_points_frame(graph, ax1, ax2)


# Uploads can be hundreds of MB: cache_resource keeps one shared, never-mutated copy instead of
# pickling it on every rerun, as cache_data would. Keyed on the file's bytes.
@st.cache_resource(show_spinner="Reading the file…", max_entries=3)
def parse_features(data: bytes, name: str) -> FeatureTable:
    return read_feature_file(data, name)


@st.cache_resource(show_spinner="Scoring…", max_entries=6)
def score_features(
    data: bytes, name: str, model_fingerprint: str, columns: tuple[str, ...], _model: AnomalyModel
) -> Scores:
    """The expensive part, done once per file x model x mapping; thresholds only compare."""
    return score_table(parse_features(data, name), _model, ColumnMapping(list(columns), ""))

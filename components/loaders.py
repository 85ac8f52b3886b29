"""Cached loaders: thin `st.cache_*` wrappers around the core. They never render anything."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pandas as pd
import streamlit as st

from ei_anomaly import MetadataError, load_metadata, scoring
from ei_anomaly.blocks import METADATA_FILE, AnomalyBlock, block_files_from_uploads, build_block, kind_label
from ei_anomaly.blocks.export import AnomalyEntry, list_anomaly_blocks, read_export
from ei_anomaly.blocks.fetch import fetch_block
from ei_anomaly.client import EdgeImpulseClient
from ei_anomaly.demo import (
    GMM_DEMO_BLOCK_ID,
    demo_training_features,
    load_demo_gmm_model,
    load_demo_model,
    trained_graph,
    trained_points_frame,
)
from ei_anomaly.held import HeldObjects
from ei_anomaly.limits import Limits
from ei_anomaly.model_testing import NoTestResults, TestWindows, block_test_windows


def _warm_up_kernels() -> None:
    scoring.warm_up()
    from ei_anomaly.alarms import kernels  # the Fleet page's loops (issue #16)

    kernels.warm_up()


@st.cache_resource(show_spinner=False)
def warm_up_scoring() -> threading.Thread:
    """Load the compiled scoring kernels once per server, in the background, at the first page
    view: otherwise the first visitor who uploads a file waits about a second more for them."""
    thread = threading.Thread(target=_warm_up_kernels, name="scoring-warm-up", daemon=True)
    thread.start()
    return thread


API_TTL = 300  # seconds: long enough for a review, short enough to see a retrained model


@st.cache_resource(show_spinner=False)
def demo_model() -> AnomalyBlock:
    """One shared, never-mutated block: cache_data would unpickle a copy at every call (twice a run)."""
    return load_demo_model()


@st.cache_resource(show_spinner=False)
def demo_gmm_model() -> AnomalyBlock:
    """The demo's GMM block (shared: it holds a LiteRT interpreter, which is not copied per rerun)."""
    return load_demo_gmm_model()


def demo_block(learn_id: int) -> AnomalyBlock:
    """The demo project's block `learn_id` (4: K-means, 5: GMM)."""
    return demo_gmm_model() if learn_id == GMM_DEMO_BLOCK_ID else demo_model()


@st.cache_data(show_spinner=False)
def demo_trained_points(learn_id: int, ax1: int, ax2: int) -> pd.DataFrame:
    """The demo block's trained windows on two features, through the same code the local API serves."""
    model = demo_block(learn_id)
    return trained_points_frame(trained_graph(model, demo_training_features(), ax1, ax2), ax1, ax2)


@st.cache_resource(show_spinner=False)
def held() -> HeldObjects:
    """The server-wide store of visitors' uploaded models and scored files, bounded by entries and
    bytes (`ANOMALY_LENS_MAX_HELD_ITEMS`, `ANOMALY_LENS_MAX_HELD_MB`): the least recently used go first."""
    limits = Limits.from_env()
    return HeldObjects(limits.held_items, limits.held_bytes)


MODEL_BYTES_PER_JSON_BYTE = 4  # a parsed model (pydantic objects, arrays) holds a few times its JSON


def _held_model(key: str, size: int, build: Callable[[], AnomalyBlock], spinner: str) -> AnomalyBlock:
    """The block held under `key`, built once (and shared between visitors) when it is not."""
    model: AnomalyBlock | None = held().get(key)  # only blocks are held under these keys
    if model is None:
        with st.spinner(spinner):
            model = build()
        held().put(key, model, size * MODEL_BYTES_PER_JSON_BYTE)
    return model


def model_from_json(data: bytes) -> AnomalyBlock:
    """The model of an uploaded metadata file. Parsed once per distinct file (sha256: ~15 ms for
    the 32 MB limit) and shared between visitors through `held()`, never pickled per rerun as
    st.cache_data would (a 180 MB model took 34-71 s a page view that way)."""
    key = "model:" + hashlib.sha256(data).hexdigest()
    return _held_model(key, len(data), lambda: load_metadata(data), "Reading the metadata…")


def model_from_uploaded_block(files: dict[str, bytes]) -> AnomalyBlock:
    """A block from a set of uploaded files (metadata.json, and gmm.json + model.tflite for GMM, or
    one deployment export `.zip`), held like an uploaded metadata file."""
    exports = [name for name in files if is_export(name)]
    if exports:
        if len(files) > 1:
            raise MetadataError("give one deployment export (.zip) alone, or a block's files without a zip")
        return model_from_export(files[exports[0]], exports[0])
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    size = sum(len(data) for data in files.values())
    build = lambda: build_block(block_files_from_uploads(files))  # noqa: E731
    return _held_model("block:" + digest.hexdigest(), size, build, "Reading the block…")


def model_from_export(data: bytes, name: str, block_id: int | None = None) -> AnomalyBlock:
    """The anomaly block of an uploaded deployment export (`.zip`), held like an uploaded metadata
    file (an export's SDK is not kept: only its model files are read)."""
    key = f"export:{hashlib.sha256(data).hexdigest()}:{block_id}"
    return _held_model(key, len(data), lambda: build_block(read_export(data, name, block_id)), "Reading the export…")


def export_blocks(data: bytes, name: str) -> list[AnomalyEntry]:
    """The anomaly blocks an uploaded export holds (to ask which one, when there are several)."""
    key = f"export-blocks:{hashlib.sha256(data).hexdigest()}"
    found: list[AnomalyEntry] | None = held().get(key)
    if found is None:
        found = list_anomaly_blocks(data, name)
        held().put(key, found, 1024)
    return found


def is_export(name: str) -> bool:
    """An uploaded file that is a deployment export (a `.zip`), by its name."""
    return name.lower().endswith(".zip")


def model_from_block_files(metadata: bytes, extra: dict[str, bytes]) -> AnomalyBlock:
    """A block from uploaded files: the metadata JSON plus, for a GMM block, its gmm.json and model file."""
    if not extra:
        return model_from_json(metadata)
    return model_from_uploaded_block({METADATA_FILE: metadata, **extra})


# `refresh` is the visitor's refresh token: part of the cache key only, so one visitor's
# "Refresh from Edge Impulse" re-reads their answers without dropping anyone else's.
@st.cache_data(ttl=API_TTL, show_spinner="Listing anomaly blocks…")
def fetch_blocks(base_url: str, project_id: int, api_key: str, refresh: str = "") -> list[tuple[int, str, str]]:
    """(learnId, name, kind: K-means or GMM) per anomaly block of the project."""
    blocks = EdgeImpulseClient(api_key, base_url).list_anomaly_blocks(project_id)
    return [(b.id, b.name, kind_label(b.type)) for b in blocks]


# A model can be tens of MB: cache_resource shares the one validated, never-mutated object instead
# of unpickling it on every rerun, as cache_data would.
API_MODELS = 16  # models fetched from the API kept at once, all visitors together (each up to the metadata limit)


@st.cache_resource(ttl=API_TTL, max_entries=API_MODELS, show_spinner="Fetching the anomaly block…")
def fetch_model(
    base_url: str, project_id: int, learn_id: int, api_key: str, refresh: str = "", version: int = 0
) -> AnomalyBlock:
    """`version` is the block's `block_version`: a write to the block makes every visitor re-read it."""
    return fetch_block(EdgeImpulseClient(api_key, base_url), project_id, learn_id)


@st.cache_data(ttl=API_TTL, show_spinner="Fetching trained points…")
def fetch_trained_points(
    base_url: str, project_id: int, learn_id: int, ax1: int, ax2: int, api_key: str, refresh: str = ""
) -> pd.DataFrame:
    """Trained windows on two axes, already scaled (as the API returns them)."""
    graph = EdgeImpulseClient(api_key, base_url).get_trained_features(project_id, learn_id, ax1, ax2)
    return trained_points_frame(graph, ax1, ax2)


@st.cache_data(ttl=API_TTL, show_spinner="Fetching Studio's model-testing results…")
def fetch_test_windows(
    base_url: str, project_id: int, learn_id: int, api_key: str, refresh: str = "", version: int = 0
) -> TestWindows | NoTestResults:
    """The block's labelled test windows from Studio's model testing (of the impulse that holds it)."""
    client = EdgeImpulseClient(api_key, base_url)
    impulse_id = client.find_impulse_for_block(project_id, learn_id)
    return block_test_windows(client.get_model_testing_results(project_id, impulse_id), learn_id)


@st.cache_resource(show_spinner=False)
def _block_versions() -> dict[tuple[str, int, int], int]:
    """Per block, how many times this server wrote to it (shared by every visitor)."""
    return {}


def block_version(base_url: str, project_id: int, learn_id: int) -> int:
    return _block_versions().get((base_url, project_id, learn_id), 0)


def forget_block(base_url: str, project_id: int, learn_id: int) -> None:
    """After a write to a block: every visitor's next read of its metadata and test results goes to
    the API (the version is part of those cache keys); nothing else is dropped."""
    versions = _block_versions()
    versions[(base_url, project_id, learn_id)] = block_version(base_url, project_id, learn_id) + 1

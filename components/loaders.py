"""Cached loaders: thin `st.cache_*` wrappers around the core. They never render anything."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable

import pandas as pd
import streamlit as st

from ei_anomaly import load_metadata, scoring
from ei_anomaly.alarms import kernels as alarm_kernels
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
from ei_anomaly.errors import MetadataError
from ei_anomaly.held import HeldObjects
from ei_anomaly.limits import Limits
from ei_anomaly.model_testing import NoTestResults, TestWindows, block_test_windows

from . import state


def _warm_up_kernels() -> None:
    """The warm-up thread's work: calls only. Every module it uses is imported above, by the script
    thread: an import here raced a page's import of the same package (`ei_anomaly.alarms`
    partially initialised, once in about 25 fresh starts)."""
    scoring.warm_up()
    alarm_kernels.warm_up()  # the Fleet page's loops (issue #16)


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
    """The server-wide store of visitors' uploaded and fetched models, scored files and computed
    views, bounded by entries and bytes (`ANOMALY_LENS_MAX_HELD_ITEMS`, `ANOMALY_LENS_MAX_HELD_MB`),
    each visitor's share too (`..._PER_VISITOR`): see `ei_anomaly.held`."""
    limits = Limits.from_env()
    return HeldObjects(limits.held_items, limits.held_bytes, limits.held_share_items, limits.held_share_bytes)


def visitor() -> str:
    """This session's token in the held store: what it holds is its own, and counted as its share."""
    token = st.session_state.get(state.HELD_TOKEN)
    if not isinstance(token, str):
        token = st.session_state[state.HELD_TOKEN] = uuid.uuid4().hex
    return token


MODEL_BYTES_PER_JSON_BYTE = 4  # a parsed model (pydantic objects, arrays) holds a few times its JSON


def _held_model(
    key: str,
    json_bytes: Callable[[AnomalyBlock], int],
    build: Callable[[], AnomalyBlock],
    spinner: str,
    label: str,
    ttl: float | None = None,
) -> AnomalyBlock:
    """The block held under `key`, built once (and shared between visitors) when it is not: its
    size is a few times its JSON plus what its scoring holds (a GMM block's model worker, measured
    there). A refusal is remembered for this session by the same key: a page switch does not parse
    the same bad file again."""
    model: AnomalyBlock | None = held().get(key)  # only blocks are held under these keys
    if model is not None:
        return model
    refusals: dict[str, MetadataError] = st.session_state.setdefault(state.REFUSED_MODELS, {})
    if key in refusals:
        raise refusals[key]
    try:
        with st.spinner(spinner):
            model = build()
            size = json_bytes(model) * MODEL_BYTES_PER_JSON_BYTE + model.open_scoring()
    except MetadataError as exc:  # the file's own problem (not the network's): the same file, the same answer
        while len(refusals) >= REFUSALS_KEPT:
            refusals.pop(next(iter(refusals)))
        refusals[key] = exc
        raise
    held().put(key, model, size, owner=visitor(), label=label, ttl=ttl)
    return model


REFUSALS_KEPT = 16  # refused files remembered per session (by content hash)


def model_from_json(data: bytes) -> AnomalyBlock:
    """The model of an uploaded metadata file. Parsed once per distinct file (sha256: ~15 ms for
    the 32 MB limit) and shared between visitors through `held()`, never pickled per rerun as
    st.cache_data would (a 180 MB model took 34-71 s a page view that way)."""
    key = "model:" + hashlib.sha256(data).hexdigest()
    return _held_model(
        key, lambda _: len(data), lambda: load_metadata(data), "Reading the metadata…", "the uploaded model"
    )


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
    return _held_model("block:" + digest.hexdigest(), lambda _: size, build, "Reading the block…", "the uploaded block")


def model_from_export(data: bytes, name: str, block_id: int | None = None) -> AnomalyBlock:
    """The anomaly block of an uploaded deployment export (`.zip`), held like an uploaded metadata
    file (an export's SDK is not kept: only its model files are read)."""
    key = f"export:{hashlib.sha256(data).hexdigest()}:{block_id}"
    return _held_model(
        key,
        lambda _: len(data),
        lambda: build_block(read_export(data, name, block_id)),
        "Reading the export…",
        f"the export {name}",
    )


def export_blocks(data: bytes, name: str) -> list[AnomalyEntry]:
    """The anomaly blocks an uploaded export holds (to ask which one, when there are several)."""
    key = f"export-blocks:{hashlib.sha256(data).hexdigest()}"
    found: list[AnomalyEntry] | None = held().get(key)
    if found is None:
        found = list_anomaly_blocks(data, name)
        held().put(key, found, 1024, owner=visitor(), label=f"the blocks of {name}")
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


def fetch_model(
    base_url: str, project_id: int, learn_id: int, api_key: str, refresh: str = "", version: int = 0
) -> AnomalyBlock:
    """A block from the API, held like an upload (shared by visitors with the same base URL, project,
    block and key; counted in the held store as the fetching visitor's) for `API_TTL` seconds.
    `version` is the block's `block_version`: a write to the block makes every visitor re-read it."""
    parts = "\0".join((base_url, str(project_id), str(learn_id), api_key, refresh, str(version)))
    key = "api:" + hashlib.sha256(parts.encode()).hexdigest()

    def build() -> AnomalyBlock:
        return fetch_block(EdgeImpulseClient(api_key, base_url), project_id, learn_id)

    label = f"block {learn_id} of project {project_id}"
    return _held_model(key, _json_size, build, "Fetching the anomaly block…", label, API_TTL)


def _json_size(model: AnomalyBlock) -> int:
    """The size of the block's answers as JSON (what an upload of them would measure)."""
    files = model.files()
    return sum(len(json.dumps(part, separators=(",", ":"))) for part in (files.metadata, files.gmm) if part) + len(
        files.tflite or b""
    )


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

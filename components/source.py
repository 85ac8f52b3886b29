"""The data source: sidebar widgets (in app.py, so they survive page switches) and the loaded model.

Widget values live in `st.session_state` under the keys below; pages only read them through
`current_source()`, which falls back to the demo when a page runs on its own.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import ClassVar

import pandas as pd
import streamlit as st

from ei_anomaly import AnomalyLensError, MetadataError
from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.blocks.parts import FeatureSpace, Target
from ei_anomaly.demo import GMM_DEMO_BLOCK_ID
from ei_anomaly.deploy import DeploySettings, Endpoint, resolve_endpoint
from ei_anomaly.limits import Limits
from ei_anomaly.metadata import GMM_METADATA_ALONE
from ei_anomaly.review import SourceKind

from . import loaders, permalink, state, streamlit_compat
from .errors import show_error
from .text import md_escape

SOURCE_LABELS = {
    SourceKind.DEMO: "Demo project",
    SourceKind.PROJECT: "Edge Impulse project",
    SourceKind.FILE: "Metadata JSON file or export",
}
DEMO_BLOCK_ID = 4
DEMO_TITLE = "Continuous motion (demo)"
DEMO_BLOCKS = {DEMO_BLOCK_ID: "Anomaly detection · K-means", GMM_DEMO_BLOCK_ID: "Anomaly detection · GMM"}


@dataclass(frozen=True)
class DemoSource:
    """One of the bundled demo project's blocks."""

    kind: ClassVar[SourceKind] = SourceKind.DEMO
    block: AnomalyBlock
    title: str
    learn_id: int


@dataclass(frozen=True)
class FileSource:
    """A block from uploaded files: a metadata JSON file (and a GMM block's other two files), or a
    deployment export (`.zip`)."""

    kind: ClassVar[SourceKind] = SourceKind.FILE
    block: AnomalyBlock
    title: str  # the metadata file's name
    learn_id: ClassVar[None] = None


@dataclass(frozen=True)
class ProjectSource:
    """A block of an Edge Impulse project, through the API. The key is kept out of repr and never shown."""

    kind: ClassVar[SourceKind] = SourceKind.PROJECT
    block: AnomalyBlock
    title: str
    learn_id: int
    project_id: int
    base_url: str
    api_key: str = field(repr=False)
    key_is_visitors: bool = False  # the visitor typed the key (else it is the server's): who may write


Source = DemoSource | FileSource | ProjectSource


@dataclass(frozen=True)
class LoadedSource:
    """What app.py loaded for this run: the source, or why there is none (said on the page)."""

    source: Source | None
    error: AnomalyLensError | None = None


def deploy_settings() -> DeploySettings:
    """The deployer's settings: `st.secrets` first, then environment variables (see ei_anomaly.deploy)."""
    try:
        secrets = st.secrets.to_dict()
    except Exception:  # no secrets.toml at all: Streamlit raises, which just means "nothing set"
        secrets = {}
    return DeploySettings.from_sources(secrets, os.environ)


def _typed_key() -> str:
    try:
        return str(st.session_state.get(state.API_KEY) or "").strip()
    except Exception:  # outside a script run (a log record from another thread): no session
        return ""


def api_key() -> str:
    """Sidebar password field, else `st.secrets["EI_API_KEY"]`, else the EI_API_KEY variable."""
    return _typed_key() or secrets_to_scrub()[1]


def secrets_to_scrub() -> tuple[str, str]:
    """(typed key, server key): both must be kept out of anything shown or logged. Never raises."""
    try:
        server = deploy_settings().server_key
    except AnomalyLensError:
        server = ""
    return _typed_key(), server


def endpoint() -> Endpoint:
    """Base URL and key for this visitor, as the deployment's key policy allows (else KeyPolicyError)."""
    settings = deploy_settings()
    typed_url = str(st.session_state.get(state.BASE_URL) or "") if settings.allow_custom_base_url else ""
    return resolve_endpoint(settings, _typed_key(), typed_url)


def refresh_token() -> str:
    return str(st.session_state.get(state.REFRESH_TOKEN, ""))


def _project_id() -> int:
    raw = str(st.session_state.get(state.PROJECT_ID) or "").strip()
    if not raw.isdigit():
        raise AnomalyLensError("Enter the numeric project ID (the number in your Studio URL, /studio/<ID>).")
    return int(raw)


def _load_source() -> Source:
    """The source the sidebar selects; raises AnomalyLensError with a user-facing message."""
    kind = st.session_state.get(state.SOURCE, SourceKind.DEMO)
    if kind == SourceKind.FILE:
        upload = st.session_state.get(state.METADATA_FILE)
        if upload is None:
            raise AnomalyLensError(
                "Upload a metadata JSON file in the sidebar (the answer of the anomaly metadata endpoint, or "
                "`python -m ei_anomaly fetch` output), or a deployment export: the C++ or Arduino library .zip "
                "from Studio's Deployment page."
            )
        if loaders.is_export(upload.name):
            return FileSource(
                loaders.model_from_export(upload.getvalue(), upload.name, _export_block(upload)), upload.name
            )
        extra = {f.name: f.getvalue() for f in st.session_state.get(state.GMM_FILES) or []}
        return FileSource(loaders.model_from_block_files(upload.getvalue(), extra), upload.name)
    if kind == SourceKind.PROJECT:
        api = endpoint()
        project = _project_id()
        block = st.session_state.get(state.BLOCK)
        blocks = loaders.fetch_blocks(api.base_url, project, api.api_key, refresh_token())
        if not blocks:
            raise AnomalyLensError(f"Project {project} has no anomaly block. Add one in Studio's impulse design.")
        ids = [b[0] for b in blocks]
        learn_id = block if block in ids else ids[0]
        name = {b[0]: b[1] for b in blocks}[learn_id]
        version = loaders.block_version(api.base_url, project, learn_id)
        model = loaders.fetch_model(api.base_url, project, learn_id, api.api_key, refresh_token(), version)
        return ProjectSource(
            model,
            f"{name} · project {project}",
            learn_id,
            project,
            api.base_url,
            api.api_key,
            api.key_is_visitors,
        )
    if st.session_state.get(state.DEMO_BLOCK) == GMM_DEMO_BLOCK_ID:
        return DemoSource(loaders.demo_gmm_model(), f"{DEMO_TITLE} · GMM", GMM_DEMO_BLOCK_ID)
    return DemoSource(loaders.demo_model(), DEMO_TITLE, DEMO_BLOCK_ID)


def _export_block(upload: object) -> int | None:
    """The anomaly block chosen in an uploaded export that holds several (None: it holds one)."""
    entries = loaders.export_blocks(upload.getvalue(), upload.name)  # type: ignore[attr-defined]
    if len(entries) < 2:
        return None
    ids = [e.block_id for e in entries]
    chosen = st.session_state.get(state.EXPORT_BLOCK)
    return chosen if chosen in ids else ids[0]


def with_review_choices(source: Source) -> Source:
    """The source with the sidebar's "Scores exact to" and "Feature files hold" for its block,
    when the visitor chose them (each block keeps its own choice; its defaults otherwise)."""
    block = source.block
    changes: dict[str, object] = {}
    target = st.session_state.get(state.target_choice(block.fingerprint))
    if block.target_matters and target in {t.value for t in Target}:
        changes["target"] = Target(target)
    rows = st.session_state.get(state.rows_choice(block.fingerprint))
    if block.setup.normalization is not None and rows in {f.value for f in FeatureSpace}:
        changes["features_are"] = FeatureSpace(rows)
    return dataclasses.replace(source, block=block.with_setup(**changes)) if changes else source


RUN_SOURCE = state.Slot(state.RUN_SOURCE, LoadedSource)


def load_source() -> LoadedSource:
    """Load the sidebar's source once for this run (app.py calls it before the page runs)."""
    try:
        loaded = LoadedSource(_load_source())
    except AnomalyLensError as exc:
        loaded = LoadedSource(None, exc)
    RUN_SOURCE.set(loaded)
    return loaded


def _apply_review_choices(loaded: LoadedSource) -> LoadedSource:
    if loaded.source is None:
        return loaded
    chosen = LoadedSource(with_review_choices(loaded.source))
    RUN_SOURCE.set(chosen)
    return chosen


def current_source() -> Source:
    """This run's source (app.py loaded it); raises AnomalyLensError with a user-facing message."""
    loaded = RUN_SOURCE.get() or _apply_review_choices(load_source())
    if loaded.source is None:
        assert loaded.error is not None  # a LoadedSource holds one or the other
        raise loaded.error
    return loaded.source


def trained_points(source: Source, feature_x: int, feature_y: int, max_points: int) -> pd.DataFrame:
    """Training windows on two features, scaled, as Studio's anomaly explorer gets them.

    Empty for a metadata file (it has none); a seeded sample when there are more than max_points.
    """
    if isinstance(source, ProjectSource):
        points = loaders.fetch_trained_points(
            source.base_url, source.project_id, source.learn_id, feature_x, feature_y, source.api_key, refresh_token()
        )
    elif isinstance(source, DemoSource):
        points = loaders.demo_trained_points(source.learn_id, feature_x, feature_y)
    else:
        return pd.DataFrame(columns=["x", "y"], dtype=float)
    return points.sample(n=max_points, random_state=0) if len(points) > max_points else points


def trained_points_or_warning(source: Source, axis_x: int, axis_y: int, max_points: int) -> pd.DataFrame:
    """`trained_points` of the model's axis positions `axis_x`, `axis_y`; when the API cannot give
    them, a warning on the page and no points (the map is still worth showing)."""
    model = source.block
    try:
        return trained_points(source, model.axes[axis_x], model.axes[axis_y], max_points)
    except AnomalyLensError as exc:
        st.warning(f"Trained points are not available: {md_escape(exc, 1000)}")
        return pd.DataFrame(columns=["x", "y"], dtype=float)


def require_source() -> Source:
    """Every page's setup call: the loaded source, or a clear error and nothing more on the page."""
    streamlit_compat.leave_pages_directory_mode()
    try:
        return current_source()
    except AnomalyLensError as exc:
        show_error(exc)
        st.stop()
        raise  # unreachable: st.stop() ends the run


def trained_ago(when: datetime) -> str:
    delta = datetime.now(timezone.utc) - (when if when.tzinfo else when.replace(tzinfo=timezone.utc))
    days = delta.days
    if days >= 1:
        return f"{days} day{'s' if days > 1 else ''} ago"
    hours = delta.seconds // 3600
    return f"{hours} hour{'s' if hours != 1 else ''} ago" if hours else "just now"


def show_source_sidebar() -> LoadedSource:
    """The sidebar: source choice, its inputs, and a one-line summary of what is loaded (this run's
    source, loaded once here for every page)."""
    with st.sidebar:
        st.radio(
            "Data source",
            list(SourceKind),
            key=state.SOURCE,
            format_func=SOURCE_LABELS.__getitem__,
            help="The demo needs no key and no network.",
        )
        kind = st.session_state.get(state.SOURCE, SourceKind.DEMO)
        if kind == SourceKind.PROJECT:
            st.text_input("Project ID", key=state.PROJECT_ID, placeholder="e.g. 123456")
            st.text_input(
                "API key",
                key=state.API_KEY,
                type="password",
                help="Studio: Dashboard > Keys. Also read from st.secrets or EI_API_KEY.",
                placeholder="ei_… (or from secrets / EI_API_KEY)",
            )
            _show_base_url_field()
            _show_block_choice()
        elif kind == SourceKind.FILE:
            limits = Limits.from_env()
            st.file_uploader(
                "Metadata JSON, or a deployment export (.zip)",
                type=["json", "zip"],
                key=state.METADATA_FILE,
                max_upload_size=upload_limit_mb(max(limits.metadata_bytes, limits.export_bytes)),
                help="A deployment export is the C++ or Arduino library .zip from Studio's Deployment page: the "
                "block that is flashed, with its data normalization.",
            )
            _show_export_block_choice()
            if _needs_gmm_files():
                st.file_uploader(
                    "GMM block: gmm.json and model.tflite",
                    type=["json", "tflite", "lite"],
                    accept_multiple_files=True,
                    key=state.GMM_FILES,
                    max_upload_size=upload_limit_mb(limits.metadata_bytes),
                    help="A GMM block is scored with its own model file: add the other two files of its block "
                    "directory (`python -m ei_anomaly fetch ... -o DIR`).",
                )
        else:
            permalink.seed_block(list(DEMO_BLOCKS), state.DEMO_BLOCK)
            st.selectbox(
                "Anomaly block",
                list(DEMO_BLOCKS),
                key=state.DEMO_BLOCK,
                format_func=lambda i: f"{DEMO_BLOCKS[i]} (#{i})",
            )
        loaded = load_source()
        if loaded.source is not None:
            _show_review_choices(loaded.source.block)
            loaded = _apply_review_choices(loaded)
        _show_summary(loaded)
    return loaded


def _show_export_block_choice() -> None:
    """An uploaded export holding several anomaly blocks: which one to review."""
    upload = st.session_state.get(state.METADATA_FILE)
    if upload is None or not loaders.is_export(upload.name):
        return
    try:
        entries = loaders.export_blocks(upload.getvalue(), upload.name)
    except AnomalyLensError:
        return  # the page shows the error in full
    if len(entries) > 1:
        labels = {e.block_id: e.label for e in entries}
        st.selectbox(
            "Anomaly block of the export", list(labels), key=state.EXPORT_BLOCK, format_func=labels.__getitem__
        )


TARGET_HELP = (
    "A GMM block's float32 scores depend on who computes them. Linux/x86 runner: the SDK built with g++ for "
    "Linux. Cortex-M: the SDK built with arm-none-eabi-gcc and newlib for a Cortex-M with a single-precision FPU "
    "(fused multiply-adds, newlib's expf/logf). Both are exact (docs/gmm.md)."
)
ROWS_HELP = (
    "This export normalizes its DSP output before the anomaly block (data normalization). Raw: the rows are "
    "what the DSP blocks output, as devices log them; they are normalized with the export's constants first. "
    "Normalized: the rows already are."
)


def _show_review_choices(block: AnomalyBlock) -> None:
    """What the review is exact to, and what feature files hold: for the blocks where they matter."""
    if block.target_matters:
        targets = [t.value for t in Target]
        key = state.target_choice(block.fingerprint)
        st.radio(
            "Scores exact to",
            targets,
            index=targets.index(block.setup.target.value),
            key=key,
            format_func=lambda t: Target(t).label,
            help=TARGET_HELP,
        )
    if block.setup.normalization is not None:
        spaces = [f.value for f in FeatureSpace]
        st.radio(
            "Feature files hold",
            spaces,
            index=spaces.index(block.setup.features_are.value),
            key=state.rows_choice(block.fingerprint),
            format_func=lambda f: "raw DSP output" if f == FeatureSpace.RAW.value else "already normalized features",
            help=ROWS_HELP,
        )


def _needs_gmm_files() -> bool:
    """The GMM uploader shows once the uploaded metadata is a GMM block's (or files were given)."""
    if st.session_state.get(state.GMM_FILES):
        return True
    upload = st.session_state.get(state.METADATA_FILE)
    if upload is None:
        return False
    try:
        loaders.model_from_json(upload.getvalue())  # cached per file
    except MetadataError as exc:
        return GMM_METADATA_ALONE in str(exc)
    except AnomalyLensError:
        return False
    return False


def _show_base_url_field() -> None:
    """Only where the deployer allows other APIs (ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL)."""
    try:
        settings = deploy_settings()
    except AnomalyLensError:
        return  # the page shows the error in full
    if not settings.allow_custom_base_url:
        return
    with st.expander("Advanced"):
        st.text_input(
            "API base URL",
            key=state.BASE_URL,
            value=settings.shown_base_url,
            help="Point at `python -m ei_anomaly serve` to try it offline. A key configured on the server is "
            f"only sent to `{settings.shown_base_url}`: another URL needs your own key"
            + ("." if settings.allow_http else ", and https."),
        )


UPLOADER_MB = 1_000_000  # Streamlit's uploader counts megabytes of 10^6 bytes (it refused a 33.0 MB file at "32")


def upload_limit_mb(limit_bytes: int) -> int:
    """A file_uploader's size cap: the input limit (rounded up to the uploader's decimal megabytes,
    so every file the limit accepts gets through), never above the server's `server.maxUploadSize`
    (a widget's own cap overrides the server's, so it must not raise it)."""
    return max(1, min(-(-limit_bytes // UPLOADER_MB), int(st.get_option("server.maxUploadSize"))))


def _show_block_choice() -> None:
    raw = str(st.session_state.get(state.PROJECT_ID) or "").strip()
    if not raw.isdigit():
        return
    try:
        api = endpoint()
        blocks = loaders.fetch_blocks(api.base_url, int(raw), api.api_key, refresh_token())
    except AnomalyLensError:
        return  # the page shows the error in full
    if blocks:
        names = {b[0]: f"{b[1]} · {b[2]}" for b in blocks}
        permalink.seed_block([b[0] for b in blocks], state.BLOCK)
        st.selectbox(
            "Anomaly block", [b[0] for b in blocks], key=state.BLOCK, format_func=lambda i: f"{names[i]} (#{i})"
        )
    st.button(
        "Refresh from Edge Impulse",
        icon=":material/refresh:",
        width="stretch",
        on_click=_refresh,
        key=state.REFRESH_BUTTON,
    )


def _refresh() -> None:
    """A new token for this visitor only: their next reads miss the cache while other visitors keep
    theirs (clearing the functions' caches would refetch for everyone). Old entries expire by TTL."""
    st.session_state[state.REFRESH_TOKEN] = uuid.uuid4().hex


def _show_summary(loaded: LoadedSource) -> None:
    source = loaded.source
    if source is None:
        st.caption("Nothing loaded yet.")
        return
    model = source.block
    meta = model.metadata
    trained = f"trained {trained_ago(meta.created)}" if meta.created else "training date unknown"
    st.divider()
    st.markdown(f"**{md_escape(source.title)}**")
    st.caption(f"{model.kind.label} · {model.units.text} · {len(model.axes)} axes · {trained}")

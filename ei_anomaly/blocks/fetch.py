"""A block from the Edge Impulse API: which files make it (by its type in the impulse), fetched and
built, or saved as a metadata file or a block directory (`fetch`).

The client (`ei_anomaly.client`) only speaks HTTP; what the answers make together is decided here.
A path ending in `.json` gets the metadata file; a block that its metadata alone cannot score (GMM)
is refused there with a message to give a directory. Any other path is a block directory:
`metadata.json`, for a GMM block `gmm.json` and `model.tflite`, plus `anomaly_config.json` (axis
labels) when the API gives it, and `dsp_normalization.json` when a DSP block feeding the anomaly
block normalizes its output (`normalizeData` of `GET /api/{projectId}/dsp/{dspId}`): Studio's API
does not give those constants, so raw DSP features cannot be scored right from the metadata alone,
and every command that loads the directory says so. What cannot be scored is never saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ApiError, MetadataError, UsageError
from ..metadata import feature_names_from_config
from .files import DSP_NORMALIZATION_FILE, build_block, check_tflite
from .parts import CONFIG_FILE, BlockFiles, BlockKind, ScoringSetup, atomic_write, json_bytes

if TYPE_CHECKING:
    from ..client import EdgeImpulseClient
    from .base import AnomalyBlock

__all__ = ["block_type", "fetch_block", "fetch_block_files", "save_block", "studio_normalization"]

NO_NORMALIZATION = "none"


def studio_normalization(client: EdgeImpulseClient, project_id: int, learn_id: int) -> dict[int, str]:
    """The DSP blocks feeding the learn block whose output Studio normalizes, with their
    `normalizeData`. A DSP config the key may not read is left out (not known, not assumed)."""
    found: dict[int, str] = {}
    try:
        dsp_ids = client.learn_block_dsp_ids(project_id, learn_id)
    except ApiError:
        return found
    for dsp_id in dsp_ids:
        try:
            dsp = client.get_dsp_config(project_id, dsp_id).get("dsp") or {}
        except ApiError:
            continue
        mode = dsp.get("normalizeData") if isinstance(dsp, dict) else None
        if isinstance(mode, str) and mode != NO_NORMALIZATION:
            found[dsp_id] = mode[:100]
    return found


def block_type(client: EdgeImpulseClient, project_id: int, learn_id: int) -> str:
    """The block's type in the impulse (`anomaly`, `anomaly-gmm`); a block not listed there is read as K-means."""
    types = {b.id: b.type for b in client.list_anomaly_blocks(project_id)}
    return types.get(int(learn_id), BlockKind.KMEANS.value)


def fetch_block_files(
    client: EdgeImpulseClient, project_id: int, learn_id: int, learn_block_type: str | None = None
) -> BlockFiles:
    """The block's answers: metadata, and for a GMM block its mixture and model file."""
    kind = BlockKind(learn_block_type or block_type(client, project_id, learn_id))
    metadata = client.get_metadata(project_id, learn_id)
    setup = ScoringSetup(studio_normalizes=tuple(studio_normalization(client, project_id, learn_id)))
    if kind is BlockKind.KMEANS:
        return BlockFiles(metadata, setup=setup)
    gmm = client.get_gmm_metadata(project_id, learn_id)
    tflite = client.download_learn_model(project_id, learn_id, client.float32_model_download_id(project_id, learn_id))
    check_tflite(tflite)
    return BlockFiles(metadata, gmm, tflite, setup)


def _axis_names(client: EdgeImpulseClient, project_id: int, learn_id: int) -> dict[int, str]:
    """Axis labels from the block config; optional (an older block, or a key that may not read it)."""
    try:
        return feature_names_from_config(client.get_anomaly_config(project_id, learn_id))
    except (ApiError, MetadataError):
        return {}


def fetch_block(
    client: EdgeImpulseClient, project_id: int, learn_id: int, learn_block_type: str | None = None
) -> AnomalyBlock:
    """The validated block with its axis labels. `learn_block_type` is looked up in the impulse when not given."""
    files = fetch_block_files(client, project_id, learn_id, learn_block_type)
    return build_block(files, _axis_names(client, project_id, learn_id))


def save_block(client: EdgeImpulseClient, project_id: int, learn_id: int, output: Path | None) -> tuple[str, str]:
    """`fetch`: fetch, validate and save (or return as text when `output` is None). Returns (stdout text, note)."""
    files = fetch_block_files(client, project_id, learn_id)
    label = files.kind.label
    if output is not None and output.suffix.lower() == ".json" and not files.scorable_from_metadata_alone:
        raise UsageError(
            f"block {learn_id} is a {label} block: its metadata alone cannot be scored (its score comes from its "
            f"own TFLite file). Give a directory instead of {output.name}, e.g. -o block-{learn_id}/, to save "
            "metadata.json, gmm.json and model.tflite"
        )
    block = build_block(files)  # refuse to save what cannot be scored
    block.open_scoring()  # and refuse to save what `score` would refuse: a GMM block's file runs once
    text = json.dumps(files.metadata, indent=1) + "\n"
    warning = f"\nwarning: {block.rows_note}" if files.setup.studio_normalizes and block.rows_note else ""
    if output is None:
        whole = files.scorable_from_metadata_alone
        note = "" if whole else f"block {learn_id} is a {label} block: -o DIR saves all of it"
        return text, (note + warning).strip()
    if output.suffix.lower() == ".json":
        atomic_write(output, text.encode())
        return "", f"saved metadata of block {learn_id} to {output}{warning}"
    written = files.write(output)
    try:
        config = client.get_anomaly_config(project_id, learn_id)
        atomic_write(output / CONFIG_FILE, json_bytes(config))
        written.append(output / CONFIG_FILE)
    except (ApiError, MetadataError):
        pass  # labels are optional
    if files.setup.studio_normalizes:
        modes = studio_normalization(client, project_id, learn_id)
        body = {"dspBlocks": [{"id": i, "normalizeData": m} for i, m in modes.items()]}
        atomic_write(output / DSP_NORMALIZATION_FILE, json_bytes(body))
        written.append(output / DSP_NORMALIZATION_FILE)
    names = ", ".join(p.name for p in written)
    return "", f"saved {label} block {learn_id} to {output}/ ({names}){warning}"

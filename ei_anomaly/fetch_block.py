"""`fetch`: save a block from the API as a metadata file (`.json`) or a block directory.

A path ending in `.json` gets the metadata file, as always; a GMM block cannot be scored from its
metadata alone, so it is refused there with a message to give a directory. Any other path is a
block directory (`ei_anomaly.blocks`): `metadata.json`, and for a GMM block `gmm.json` and
`model.tflite`, plus `anomaly_config.json` (axis labels) when the API gives it. What cannot be
scored is never saved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .blocks import CONFIG_FILE, BlockFiles, atomic_write, fetch_block_files, json_bytes
from .errors import ApiError, MetadataError, UsageError
from .model import BlockKind

if TYPE_CHECKING:
    from .client import EdgeImpulseClient

__all__ = ["block_kind", "fetch_block"]


def block_kind(client: EdgeImpulseClient, project_id: int, learn_id: int) -> BlockKind:
    """The block's kind from the impulse; a block not listed there is read as K-means."""
    types = {b.id: b.type for b in client.list_anomaly_blocks(project_id)}
    return BlockKind(types.get(int(learn_id), BlockKind.KMEANS.value))


def fetch_block(client: EdgeImpulseClient, project_id: int, learn_id: int, output: Path | None) -> tuple[str, str]:
    """Fetch, validate and save (or return as text when `output` is None). Returns (stdout text, note)."""
    kind = block_kind(client, project_id, learn_id)
    files: BlockFiles = fetch_block_files(client, project_id, learn_id, kind)
    if output is not None and output.suffix.lower() == ".json" and kind is BlockKind.GMM:
        raise UsageError(
            f"block {learn_id} is a GMM block: its metadata alone cannot be scored (its score comes from its "
            f"own TFLite file). Give a directory instead of {output.name}, e.g. -o block-{learn_id}/, to save "
            "metadata.json, gmm.json and model.tflite"
        )
    files.model()  # refuse to save what cannot be scored
    text = json.dumps(files.metadata, indent=1) + "\n"
    if output is None:
        note = "" if kind is BlockKind.KMEANS else f"block {learn_id} is a GMM block: -o DIR saves all of it"
        return text, note
    if output.suffix.lower() == ".json":
        atomic_write(output, text.encode())
        return "", f"saved metadata of block {learn_id} to {output}"
    written = files.write(output)
    try:
        config = client.get_anomaly_config(project_id, learn_id)
        atomic_write(output / CONFIG_FILE, json_bytes(config))
        written.append(output / CONFIG_FILE)
    except (ApiError, MetadataError):
        pass  # labels are optional
    names = ", ".join(p.name for p in written)
    return "", f"saved {kind.label} block {learn_id} to {output}/ ({names})"

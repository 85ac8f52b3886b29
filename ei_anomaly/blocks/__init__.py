"""Anomaly blocks, one class per kind behind one interface (`AnomalyBlock`).

parts    a block as data: its kind (`BlockKind`), its files (`BlockFiles`), a K-means block's SDK arrays
base     the interface (`AnomalyBlock`), what every kind shares (`BlockBase`), `Scores`, `Units`
kmeans   `KMeansBlock`: a feature scaler and clusters, scored with the SDK's arithmetic (numba)
gmm      `GmmBlock`: a Gaussian mixture, scored by its own TFLite file (LiteRT's reference kernels)
files    building a block from its files (`build_block`), block directories, uploads, `load_block`
fetch    a block from the Edge Impulse API (`fetch`, `fetch_block`)

Outside this package no code asks which kind a block is: what differs is a method of the block.
A new kind is a module here with one class (and the figure its map draws), built by `build_block`.
"""

from __future__ import annotations

from .base import AnomalyBlock, MapOverlay, ScoreDefinition, Scores, Units
from .files import block_files_from_uploads, block_from_json, block_to_json, build_block, load_block, read_block_dir
from .parts import (
    CONFIG_FILE,
    GMM_FILE,
    METADATA_FILE,
    MODEL_FILE,
    BlockFiles,
    BlockKind,
    atomic_write,
    json_bytes,
    kind_label,
)

__all__ = [
    "CONFIG_FILE",
    "GMM_FILE",
    "METADATA_FILE",
    "MODEL_FILE",
    "AnomalyBlock",
    "BlockFiles",
    "BlockKind",
    "MapOverlay",
    "ScoreDefinition",
    "Scores",
    "Units",
    "atomic_write",
    "block_files_from_uploads",
    "block_from_json",
    "block_to_json",
    "build_block",
    "json_bytes",
    "kind_label",
    "load_block",
    "read_block_dir",
]

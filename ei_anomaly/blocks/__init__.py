"""Anomaly blocks, one class per kind behind one interface (`AnomalyBlock`).

base     the interface, what every kind shares (`BlockBase`), `Scores`, `Units`, `ScoreDefinition`
kmeans   `KMeansBlock`: a feature scaler and clusters, scored with the SDK's arithmetic (numba)
gmm      `GmmBlock`: a Gaussian mixture, scored by its own TFLite file (LiteRT's reference kernels)
files    a block's files: metadata, block directories, uploads; `load_block`, the one loader
fetch    a block from the Edge Impulse API (`fetch`, `fetch_block`)
explain  a window's score explained axis by axis (what `AnomalyBlock.explain` returns)

Outside this package no code asks which kind a block is: what differs is a method of the block.
A new kind is a module here with one class (and the figure its map draws), built by `BlockFiles`.
"""

from __future__ import annotations

from .base import AnomalyBlock, BlockKind, MapOverlay, ScoreDefinition, Scores, Units, kind_label
from .files import (
    CONFIG_FILE,
    GMM_FILE,
    METADATA_FILE,
    MODEL_FILE,
    BlockFiles,
    atomic_write,
    block_files_from_uploads,
    block_from_json,
    block_to_json,
    json_bytes,
    load_block,
    read_block_dir,
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
    "json_bytes",
    "kind_label",
    "load_block",
    "read_block_dir",
]

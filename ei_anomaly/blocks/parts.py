"""A block as data: its kind, its files (the API's answers) and the SDK arrays of a K-means block.

The lowest module of `ei_anomaly.blocks`: it knows no kind's class. Building a block from its files
is `files.build_block`; a block gives its files back with `AnomalyBlock.files`.
"""

from __future__ import annotations

import enum
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CONFIG_FILE",
    "GMM_FILE",
    "METADATA_FILE",
    "MODEL_FILE",
    "BlockFiles",
    "BlockKind",
    "KMeansParameters",
    "atomic_write",
    "json_bytes",
    "kind_label",
]

METADATA_FILE = "metadata.json"
GMM_FILE = "gmm.json"
MODEL_FILE = "model.tflite"
CONFIG_FILE = "anomaly_config.json"  # optional: the block config, for axis labels


class BlockKind(str, enum.Enum):
    """The anomaly learn block's `type` in the impulse (`GET /api/{projectId}/impulse`)."""

    KMEANS = "anomaly"
    GMM = "anomaly-gmm"

    @property
    def label(self) -> str:
        """How a page names the kind: K-means or GMM."""
        return "K-means" if self is BlockKind.KMEANS else "GMM"


def kind_label(block_type: str) -> str:
    """The label of an API learn block type (`anomaly` -> K-means); the type itself when unknown."""
    try:
        return BlockKind(block_type).label
    except ValueError:
        return block_type


@dataclass(frozen=True)
class KMeansParameters:
    """The SDK's arrays for a K-means block, float32 as the device holds them."""

    axes: npt.NDArray[np.int64]
    mean: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]
    centers: npt.NDArray[np.float32]  # (clusters, axes), scaled space
    max_errors: npt.NDArray[np.float32]


@dataclass(frozen=True)
class BlockFiles:
    """The answers that make up one block: metadata, and for GMM the mixture and the model file."""

    metadata: dict[str, Any]
    gmm: dict[str, Any] | None = None
    tflite: bytes | None = None

    @property
    def kind(self) -> BlockKind:
        return BlockKind.GMM if self.gmm is not None or self.tflite is not None else BlockKind.KMEANS

    @property
    def scorable_from_metadata_alone(self) -> bool:
        """Whether the metadata file alone is the whole block (a GMM block also needs its mixture and model file)."""
        return self.kind is BlockKind.KMEANS

    def write(self, directory: Path) -> list[Path]:
        """Write the block directory (created if missing); each file atomically. Returns the paths."""
        directory.mkdir(parents=True, exist_ok=True)
        parts: list[tuple[str, bytes]] = [(METADATA_FILE, json_bytes(self.metadata))]
        if self.gmm is not None:
            parts.append((GMM_FILE, json_bytes(self.gmm)))
        if self.tflite is not None:
            parts.append((MODEL_FILE, self.tflite))
        written = []
        for name, data in parts:
            atomic_write(directory / name, data)
            written.append(directory / name)
        return written


def atomic_write(target: Path, data: bytes) -> None:
    """Write a file under a hidden name beside it, then rename: never a partial file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; these are ordinary files
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()

"""A block as data: its kind, its files (the API's answers) and the SDK arrays of a K-means block.

The lowest module of `ei_anomaly.blocks`: it knows no kind's class. Building a block from its files
is `files.build_block`; a block gives its files back with `AnomalyBlock.files`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
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
    "DataNormalization",
    "DeviceMargin",
    "ExportOrigin",
    "FeatureSpace",
    "KMeansParameters",
    "ScoringSetup",
    "Target",
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


class Target(str, enum.Enum):
    """Whose float32 arithmetic a score is exact to: the SDK built for a Linux/x86 runner (glibc's
    `expf`/`logf`, no fused multiply-add), or for a Cortex-M with a single-precision FPU (GCC and
    newlib: fused multiply-adds where GCC emits them, newlib's `expf`/`logf`)."""

    LINUX = "linux"
    CORTEX_M = "cortex-m"

    @property
    def label(self) -> str:
        return "Linux/x86 runner" if self is Target.LINUX else "Cortex-M (single-precision FPU)"


class FeatureSpace(str, enum.Enum):
    """What the rows given to a block are: the DSP blocks' raw output (what devices log), or that
    output after the export's data normalization."""

    RAW = "raw"
    NORMALIZED = "normalized"


@dataclass(frozen=True)
class DeviceMargin:
    """How far a device the target does not model exactly was measured to score from it: windows
    whose score is this close to the threshold could go either way on such a device."""

    relative: float  # the largest |device - target| / max(|device|, |target|) measured
    devices: str  # which devices, in words
    measured: str  # where the bound comes from

    def close_to(self, scores: npt.ArrayLike, threshold: float) -> npt.NDArray[np.bool_]:
        """Per score: within the margin of the threshold (NaN: never)."""
        s = np.asarray(scores, np.float64)
        t = float(np.float32(threshold))
        with np.errstate(invalid="ignore"):
            near: npt.NDArray[np.bool_] = np.abs(s - t) <= self.relative * np.maximum(np.abs(s), abs(t))
        return near

    def to_dict(self) -> dict[str, Any]:
        return {"relative": self.relative, "devices": self.devices, "measured": self.measured}


@dataclass(frozen=True)
class DataNormalization:
    """The SDK's data normalization of the block's axes, from an export: `z = (x - mean) * inverse_scale`
    in float32 (a subtract, then a multiply by the stored 1/standard deviation), per axis in axis order,
    applied to the DSP output before any learn block (`EI_CLASSIFIER_HAS_DATA_NORMALIZATION`)."""

    mean: npt.NDArray[np.float32]
    inverse_scale: npt.NDArray[np.float32]
    dsp_blocks: tuple[int, ...]  # the DSP blocks whose outputs the axes are

    def apply(self, axis_values: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Rows of raw axis values (columns in axis order) as the block sees them."""
        x = np.asarray(axis_values, np.float32)
        out: npt.NDArray[np.float32] = np.multiply(
            np.subtract(x, self.mean, dtype=np.float32), self.inverse_scale, dtype=np.float32
        )
        return out

    def digest(self) -> bytes:
        return hashlib.sha256(self.mean.tobytes() + self.inverse_scale.tobytes()).digest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.tolist(),
            "inverseScale": self.inverse_scale.tolist(),
            "dspBlocks": list(self.dsp_blocks),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataNormalization:
        return cls(
            np.asarray(data["mean"], np.float32),
            np.asarray(data["inverseScale"], np.float32),
            tuple(int(b) for b in data.get("dspBlocks", ())),
        )


@dataclass(frozen=True)
class ExportOrigin:
    """Where a block read from a deployment export came from, in words a review prints."""

    name: str  # the zip's or folder's name
    layout: str  # which files held the block ("anomaly_metadata.h", "EON-compiled tflite_anomaly_8_compiled.cpp")
    block_id: int | None
    project: str | None = None  # "RiverSense-AI (project 1111563), deploy version 3"
    threshold_note: str = ""  # where the threshold came from, or that the export carries none
    normalized_dsp_blocks: tuple[int, ...] = ()  # DSP blocks the export normalizes
    dsp_blocks: tuple[int, ...] = ()  # every DSP block feeding the anomaly block, in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layout": self.layout,
            "blockId": self.block_id,
            "project": self.project,
            "threshold": self.threshold_note,
            "normalizedDspBlocks": list(self.normalized_dsp_blocks),
            "dspBlocks": list(self.dsp_blocks),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportOrigin:
        return cls(
            str(data["name"]),
            str(data["layout"]),
            data.get("blockId"),
            data.get("project"),
            str(data.get("threshold", "")),
            tuple(int(b) for b in data.get("normalizedDspBlocks", ())),
            tuple(int(b) for b in data.get("dspBlocks", ())),
        )


@dataclass(frozen=True)
class ScoringSetup:
    """What is reviewed besides the block's own numbers: the data normalization its rows get first (an
    export's constants), what the rows given to it are, the target its scores are exact to, where it
    came from, and the DSP blocks Studio normalizes with constants this block does not carry (a block
    from the API: raw features cannot be scored from its metadata alone)."""

    normalization: DataNormalization | None = None
    features_are: FeatureSpace = FeatureSpace.RAW
    target: Target = Target.LINUX
    origin: ExportOrigin | None = None
    studio_normalizes: tuple[int, ...] = ()

    @property
    def normalizes_rows(self) -> bool:
        """Whether rows are normalized with the export's constants before the block scores them."""
        return self.normalization is not None and self.features_are is FeatureSpace.RAW

    def digest(self) -> bytes:
        """What changes scores: the normalization applied, and the target."""
        norm = self.normalization.digest() if self.normalizes_rows and self.normalization is not None else b""
        return hashlib.sha256(norm + self.target.value.encode()).digest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "normalization": self.normalization.to_dict() if self.normalization is not None else None,
            "featuresAre": self.features_are.value,
            "target": self.target.value,
            "origin": self.origin.to_dict() if self.origin is not None else None,
            "studioNormalizes": list(self.studio_normalizes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoringSetup:
        norm, origin = data.get("normalization"), data.get("origin")
        return cls(
            DataNormalization.from_dict(norm) if norm else None,
            FeatureSpace(data.get("featuresAre", "raw")),
            Target(data.get("target", "linux")),
            ExportOrigin.from_dict(origin) if origin else None,
            tuple(int(b) for b in data.get("studioNormalizes", ())),
        )


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
    setup: ScoringSetup = field(default_factory=ScoringSetup)  # an export's normalization, target, origin

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

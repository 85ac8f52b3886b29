"""What every anomaly block is, whatever its kind: the interface the rest of the code uses.

`AnomalyBlock` is the protocol; `BlockBase` holds what every kind shares (the validated metadata,
the axis names, the thresholds, scoring full feature vectors through the kind's own row scorer).
The kinds are siblings (`kmeans.KMeansBlock`, `gmm.GmmBlock`), never one the subclass of the other:
what differs between them is a method of the block, so no caller asks which kind it holds. A new
kind is one class (and the figure its map draws).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from ..metadata import AnomalyMetadata, Threshold
from ..rules import ANOMALY_THRESHOLD_KEY, STUDIO_DEFAULT_THRESHOLD
from ..scores import Method, Scorer, Scores
from .parts import BlockFiles, BlockKind, DeviceMargin, FeatureSpace, KMeansParameters, ScoringSetup

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..explanation import WindowExplanation

__all__ = [
    "AnomalyBlock",
    "BlockBase",
    "MapOverlay",
    "ScoreDefinition",
    "Scores",
    "Units",
]

_B = TypeVar("_B", bound="BlockBase")

# (name, x, y, colour): points drawn on a block's map, in the map's own units (`AnomalyBlock.to_map`).
MapOverlay = tuple[str, "npt.ArrayLike", "npt.ArrayLike", str]


@dataclass(frozen=True)
class ScoreDefinition:
    """How a block's score is formed, in words a page, the report and the command line print as
    they are: the formula's lines, what a score means, what it is exact to, a paragraph for the
    report's footer and a hint beside the threshold slider."""

    formula: tuple[str, ...]
    meaning: str
    exact_to: str
    summary: str
    threshold_hint: str


@dataclass(frozen=True)
class Units:
    """What a block is made of: `count` clusters or components."""

    noun: str  # singular: "cluster", "component"
    count: int

    @property
    def text(self) -> str:
        """`32 clusters`, `1 component`."""
        return f"{self.count} {self.noun}{'s' if self.count != 1 else ''}"

    @property
    def title(self) -> str:
        """A heading: `Clusters`, `Components`."""
        return f"{self.noun.capitalize()}s"


class AnomalyBlock(Scorer, Protocol):
    """An anomaly block of any kind: what the pages, the review, the report and the commands use
    (its axes, names, fingerprint and `score_axes` are the `Scorer`'s)."""

    @property
    def metadata(self) -> AnomalyMetadata: ...
    @property
    def kind(self) -> BlockKind:
        """What the block is, as data (its API type, written into JSON and files): never compared
        outside `ei_anomaly.blocks`; ask the block what differs instead."""
        ...

    @property
    def title(self) -> str: ...
    @property
    def units(self) -> Units: ...
    @property
    def score_definition(self) -> ScoreDefinition: ...
    @property
    def nearest_column(self) -> str:
        """What `nearest_cluster` holds, in words for a table's header."""
        ...

    @property
    def anomaly_threshold(self) -> Threshold | None: ...
    @property
    def default_threshold(self) -> float: ...
    def threshold_words(self, value: float) -> str:
        """What a window scoring above `value` is, in words: "more than 0.3 (scaled units) outside…"."""
        ...

    def score_full(self, features: npt.ArrayLike, method: Method = "auto") -> Scores: ...
    def score(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]: ...

    # The map: where the block's clusters or components sit, on two of its axes.
    @property
    def map_caption(self) -> str: ...
    @property
    def has_scaled_space(self) -> bool:
        """Whether its map can also be shown in the features' original units (a K-means scaler)."""
        ...

    def to_map(self, axis_values: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Rows of axis values (columns in axis order) -> the units its map is drawn in."""
        ...

    def map_figure(
        self, ax1: int, ax2: int, overlays: Sequence[MapOverlay] = (), original_units: bool = False
    ) -> go.Figure:
        """The map on axis positions `ax1`, `ax2`; overlays in map units (`to_map`)."""
        ...

    def figure_3d(self, picks: Sequence[int]) -> go.Figure: ...
    def parallel_figure(self) -> go.Figure: ...
    def unit_table(self) -> pd.DataFrame:
        """One row per cluster or component, in the units a person reads them in."""
        ...

    @property
    def unit_table_note(self) -> str: ...
    def axes_table(self) -> pd.DataFrame:
        """One row per axis: feature index, label, and what the block keeps per axis."""
        ...

    @property
    def explain_refusal(self) -> str | None:
        """Why a window's score cannot be explained axis by axis (None: it can)."""
        ...

    def explain(self, axis_values: npt.ArrayLike, row: int | None = None) -> WindowExplanation: ...
    def handoff_parameters(self) -> KMeansParameters:
        """The SDK arrays `handoff` writes a policy for; UsageError (saying why) for a kind it does not apply to."""
        ...

    def open_scoring(self) -> int:
        """Make the block ready to score and say what its scoring holds in memory beyond the block
        itself (bytes): a GMM block loads its model file in its worker process and scores one row
        there (MetadataError when the file breaks a limit); a K-means block needs nothing (0)."""
        ...

    def files(self, metadata_fields: set[str] | None = None) -> BlockFiles:
        """The answers that make up the block (for a worker, a block directory); `metadata_fields`
        keeps only those fields of the metadata."""
        ...

    def with_feature_names(self, names: dict[int, str]) -> AnomalyBlock: ...

    # What is reviewed besides the block's numbers: an export's data normalization, what the rows
    # are, the target the scores are exact to (`ScoringSetup`).
    @property
    def setup(self) -> ScoringSetup: ...
    def with_setup(self, **changes: Any) -> AnomalyBlock:
        """The same block with `ScoringSetup` fields changed (`target=`, `features_are=`, ...)."""
        ...

    @property
    def rows_note(self) -> str | None:
        """What happens to the rows before the block scores them, or why raw rows cannot be scored
        right (a Studio DSP block that normalizes); None when rows are scored as they are."""
        ...

    @property
    def target_matters(self) -> bool:
        """Whether the target changes this block's scores (a GMM graph's do; a K-means block's are
        exact on every target)."""
        ...

    @property
    def device_margin(self) -> DeviceMargin | None:
        """How far devices the target does not model exactly can score (measured), or None when
        every device of the target scores exactly as here."""
        ...

    def parity_arrays(self) -> dict[str, npt.NDArray[np.float32]]:
        """The float32 numbers that define the block, by name (K-means: its scaler, centres and
        maxError; a GMM block's are its graph's, compared by its output on `probe_rows`)."""
        ...

    def probe_rows(self, count: int) -> npt.NDArray[np.float32]:
        """Rows of axis values where the block's scores are worth comparing with another's (around
        its clusters or components, and between them): deterministic, in the block's own units."""
        ...


@dataclass(frozen=True)
class BlockBase(ABC):
    """What every kind shares: its metadata and axis names, its thresholds, and scoring full
    feature vectors through the kind's row scorer (`_score_rows`)."""

    metadata: AnomalyMetadata
    feature_names: dict[int, str] = field(default_factory=dict)
    setup: ScoringSetup = field(default_factory=ScoringSetup)

    def with_setup(self: _B, **changes: Any) -> _B:
        return dataclasses.replace(self, setup=dataclasses.replace(self.setup, **changes))

    @property
    def rows_note(self) -> str | None:
        setup = self.setup
        if setup.normalization is not None:
            blocks = ", ".join(f"#{b}" for b in setup.normalization.dsp_blocks) or "its DSP block"
            if setup.features_are is FeatureSpace.RAW:
                return (
                    f"raw DSP features, normalized with the export's constants (DSP block {blocks}: (x - mean) x "
                    "1/std in float32, as the SDK does) before the block scores them"
                )
            return (
                f"features taken as already normalized (the export normalizes DSP block {blocks}); not normalized again"
            )
        if setup.studio_normalizes:
            blocks = ", ".join(f"#{b}" for b in setup.studio_normalizes)
            return (
                f"Studio normalizes the output of DSP block {blocks} (normalizeData) with constants its API does not "
                "give: raw DSP features cannot be scored right from the metadata alone. Open the deployment export "
                "(C++ or Arduino library) instead, which carries them"
            )
        return None

    def _setup_digest(self) -> bytes:
        """What of the setup changes scores, for the kinds' fingerprints."""
        return self.setup.digest()

    @property
    def axes(self) -> list[int]:
        return list(self.metadata.axes)

    @property
    def n_features_required(self) -> int:
        """How many columns a full feature vector needs for the highest axis index."""
        return max(self.axes) + 1

    def feature_label(self, index: int) -> str:
        return self.feature_names.get(index) or f"feature {index}"

    @property
    def axis_labels(self) -> list[str]:
        return [self.feature_label(ix) for ix in self.axes]

    @property
    def anomaly_threshold(self) -> Threshold | None:
        """The block's own anomaly threshold entry, if it carries one."""
        for t in self.metadata.thresholds:
            if t.key == ANOMALY_THRESHOLD_KEY:
                return t
        numeric = [t for t in self.metadata.thresholds if t.numeric_value is not None]
        return numeric[0] if numeric else None

    @property
    def default_threshold(self) -> float:
        """`min_anomaly_score`'s value, else the first numeric threshold, else Studio's 0.3."""
        t = self.anomaly_threshold
        if t is not None and t.numeric_value is not None:
            return t.numeric_value
        return STUDIO_DEFAULT_THRESHOLD

    @abstractmethod
    def _score_rows(self, x: npt.NDArray[np.generic], columns: npt.NDArray[np.int64], method: Method) -> Scores:
        """Score the rows of `x` whose axis values are its `columns` (in axis order)."""

    def _as_scored(self, x: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        """Axis values as the block scores them: normalized with the export's constants when the
        rows are raw DSP output and the export normalizes (`ScoringSetup.normalizes_rows`)."""
        normalization = self.setup.normalization
        if normalization is not None and self.setup.normalizes_rows:
            return normalization.apply(x)
        return x

    def score_axes(self, x_axes: npt.ArrayLike, method: Method = "auto") -> Scores:
        """Score rows whose columns are the block's axes in order; NaN/inf rows are unscorable."""
        x = np.asarray(x_axes)
        if x.ndim != 2 or x.shape[1] != len(self.axes):
            raise ValueError(f"expected {len(self.axes)} columns (one per axis), got shape {x.shape}")
        return self._score_rows(self._as_scored(x), np.arange(len(self.axes)), method)

    def score_full(self, features: npt.ArrayLike, method: Method = "auto") -> Scores:
        """Score FULL feature vectors (column i is feature index i)."""
        x = np.asarray(features)
        if self.setup.normalizes_rows:
            if x.ndim != 2:
                raise ValueError(f"expected a 2-D array of rows, got shape {x.shape}")
            return self._score_rows(self._as_scored(x[:, self.axes]), np.arange(len(self.axes)), method)
        return self._score_rows(x, np.asarray(self.axes, np.int64), method)

    def score(self, features: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Anomaly score per row of FULL feature vectors, as the device computes it."""
        return self.score_full(features).score

    def nearest_cluster(self, features: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Per row of FULL feature vectors: the nearest cluster, or the most likely component (-1: unscorable)."""
        return self.score_full(features).nearest_cluster

    def is_anomaly(self, features: npt.ArrayLike, threshold: float | None = None) -> npt.NDArray[np.bool_]:
        """Per row of FULL feature vectors: score > threshold (default: the block's own)."""
        return self.score_full(features).is_anomaly(self.default_threshold if threshold is None else threshold)

    def axis_table_start(self) -> dict[str, list[int] | list[str]]:
        """The columns every kind's axes table starts with."""
        return {"feature index": list(self.axes), "label": self.axis_labels}

"""A picklable per-batch scorer for distributed engines (Dask, Spark `mapInArrow`, Ray `map_batches`).

`BatchScorer` is decided once, on the driver, from the block's metadata and a sample of the data
(the first file's first rows): the column feeding each axis is fixed then, so a partition where a
column happens to be empty or typed differently cannot change which columns are scored. Each call
takes an Arrow table, an Arrow record batch or a pandas frame and returns the same kind with every
input column kept and `anomaly_score`, `nearest_cluster`, `is_anomaly` added, through the same code
as `score`: `features.score_table` (the SDK-exact kernels) and `features.scored_table`.

Pickling ships three small fields: the scoring part of the metadata as JSON text, the column names
and the threshold. The model is rebuilt on first use in each worker process and cached there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

import pyarrow as pa

from .errors import FeatureFileError
from .features import ColumnMapping, FeatureTable, map_columns, read_feature_file, score_table, scored_table

if TYPE_CHECKING:
    import pandas as pd

    from .blocks import AnomalyBlock
    from .scores import Scores

__all__ = ["BatchScorer", "sample_feature_table"]

Batch = TypeVar("Batch", pa.Table, pa.RecordBatch, "pd.DataFrame")
# What scoring reads from the metadata; the rest (validation metrics, predictions) stays home.
_SCORING_FIELDS = {"axes", "mean", "scale", "clusters", "thresholds"}


Source: TypeAlias = "AnomalyBlock | dict[str, Any] | str | bytes | Path"  # a block, or what `load_metadata` reads


@lru_cache(maxsize=8)
def model_from_json(metadata_json: str) -> AnomalyBlock:
    """One validated block (and loaded kernel) per worker process and block."""
    from .blocks import block_from_json
    from .scoring import warm_up

    warm_up()
    return block_from_json(metadata_json)


def _block(metadata: Source) -> AnomalyBlock:
    from .blocks import load_block

    return load_block(metadata) if isinstance(metadata, (dict, str, bytes, Path)) else metadata


def _scoring_json(metadata: Source) -> str:
    from .blocks import block_to_json

    return block_to_json(_block(metadata), _SCORING_FIELDS)  # a GMM block carries its mixture and model file too


@dataclass(frozen=True)
class BatchScorer:
    """Scores batches with a fixed column mapping. Build it with `BatchScorer.for_sample`."""

    metadata_json: str
    columns: tuple[str, ...]
    threshold: float
    how: str = ""

    @classmethod
    def for_sample(
        cls,
        metadata: Source,
        sample: FeatureTable | pa.Table | pd.DataFrame,
        threshold: float | None = None,
        override: dict[int, str] | None = None,
    ) -> BatchScorer:
        """Decide the column mapping from `sample` (the first file, or its first rows), once.

        `metadata` is a model, a path, JSON text or a dict; `threshold` defaults to the block's own.
        Raises MetadataError / FeatureFileError with the same messages as `score`.
        """
        model = _block(metadata)
        table = sample if isinstance(sample, FeatureTable) else sample_feature_table(_as_arrow(sample))
        mapping = map_columns(table, model, override)
        chosen = model.default_threshold if threshold is None else float(threshold)
        return cls(_scoring_json(model), tuple(mapping.columns), chosen, mapping.how)

    @property
    def model(self) -> AnomalyBlock:
        return model_from_json(self.metadata_json)

    def scores(self, table: pa.Table) -> Scores:
        """Scores of an Arrow table's rows (no columns added)."""
        missing = [c for c in self.columns if c not in table.column_names]
        if missing:
            raise FeatureFileError(
                f"this batch has no column {missing[0]!r}, which the first file mapped to an axis "
                "(every file must have the same columns)"
            )
        return score_table(FeatureTable(table, list(self.columns)), self.model, ColumnMapping(list(self.columns), ""))

    def score_arrow(self, table: pa.Table) -> tuple[pa.Table, Scores]:
        """The table with the three result columns appended, and the scores (for counting)."""
        scores = self.scores(table)
        return scored_table(FeatureTable(table, list(self.columns)), scores, self.threshold), scores

    def __call__(self, batch: Batch) -> Batch:
        # pyarrow has no type information, so these isinstance checks do not narrow `batch` for mypy
        # and the Arrow results are Any; the casts state that each branch returns the kind it was given.
        if isinstance(batch, pa.Table):
            return cast("Batch", self.score_arrow(batch)[0])
        if isinstance(batch, pa.RecordBatch):
            out = self.score_arrow(pa.Table.from_batches([batch]))[0].combine_chunks()
            batches = out.to_batches()
            return cast("Batch", batches[0] if batches else pa.RecordBatch.from_pylist([], schema=out.schema))
        return self._score_pandas(batch)

    def _score_pandas(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Keep the frame as it is (index, dtypes) and add the result columns as nullable dtypes,
        so every partition of a Dask frame has the same result dtypes whether or not it has
        unscorable rows."""
        import pandas as pd

        names = [str(c) for c in frame.columns]
        arrays = [
            _series_to_arrow(frame.iloc[:, i]) if name in self.columns else pa.nulls(len(frame))
            for i, name in enumerate(names)
        ]
        scored = self.score_arrow(pa.Table.from_arrays(arrays, names=names))[0]
        added = scored.select(list(range(len(names), scored.num_columns)))
        kinds = {pa.float32(): pd.Float32Dtype(), pa.int32(): pd.Int32Dtype(), pa.bool_(): pd.BooleanDtype()}
        result: pd.DataFrame = added.to_pandas(types_mapper=kinds.get)
        result.index = frame.index
        return pd.concat([frame, result], axis=1)


def _series_to_arrow(series: pd.Series) -> pa.Array:
    try:
        return pa.Array.from_pandas(series)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed objects: scored as text, like a CSV cell
        return pa.Array.from_pandas(series.astype("string"))


def _as_arrow(data: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def sample_feature_table(table: pa.Table) -> FeatureTable:
    """Read a sample through `score`'s own reader (as Parquet bytes), so its columns are judged
    numeric or not exactly as `score` would judge them."""
    import pyarrow.parquet as pq

    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    return read_feature_file(buffer.getvalue().to_pybytes(), name="sample")

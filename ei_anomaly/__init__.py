"""Anomaly Lens core: Edge Impulse anomaly blocks (K-means and GMM), SDK-exact scoring, the review.

Pure Python: no Streamlit and no Plotly here, so everything can be used from scripts and tests.
Names are imported on first use (PEP 562), so `python -m ei_anomaly` can start reading a file
while the scoring kernel loads in the background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .lazy import lazy_names

if TYPE_CHECKING:
    from pathlib import Path

    from .blocks import AnomalyBlock, Scores
    from .errors import AnomalyLensError, ApiError, AuthError, FeatureFileError, MetadataError, NotFoundError
    from .metadata import AnomalyMetadata
    from .report.review import Review

_WHERE = {
    "AnomalyLensError": "errors",
    "ApiError": "errors",
    "AuthError": "errors",
    "FeatureFileError": "errors",
    "MetadataError": "errors",
    "NotFoundError": "errors",
    "AnomalyMetadata": "metadata",
    "AnomalyBlock": "blocks",
    "Scores": "blocks",
    "Review": "report.review",
}


def load_metadata(
    source: str | bytes | Path | dict[str, Any], feature_names: dict[int, str] | None = None
) -> AnomalyBlock:
    """A validated block from a metadata file, a block directory (K-means or GMM), JSON text/bytes
    or a dict; raises MetadataError."""
    from .blocks import load_block

    return load_block(source, feature_names)


__getattr__ = lazy_names(__name__, _WHERE)


__all__ = [
    "AnomalyBlock",
    "AnomalyLensError",
    "AnomalyMetadata",
    "ApiError",
    "AuthError",
    "FeatureFileError",
    "MetadataError",
    "NotFoundError",
    "Review",
    "Scores",
    "load_metadata",
]

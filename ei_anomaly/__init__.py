"""Anomaly Lens core: Edge Impulse K-means anomaly metadata, SDK-exact scoring, API client.

Pure Python: no Streamlit and no Plotly here, so everything can be used from scripts and tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import AnomalyLensError, ApiError, AuthError, FeatureFileError, MetadataError, NotFoundError
from .metadata import AnomalyMetadata, parse_metadata
from .model import AnomalyModel, Scores


def load_metadata(
    source: str | bytes | Path | dict[str, Any], feature_names: dict[int, str] | None = None
) -> AnomalyModel:
    """Validated model from a path, JSON text/bytes or a dict; raises MetadataError."""
    return AnomalyModel(parse_metadata(source), dict(feature_names or {}))


__all__ = [
    "AnomalyLensError",
    "AnomalyMetadata",
    "AnomalyModel",
    "ApiError",
    "AuthError",
    "FeatureFileError",
    "MetadataError",
    "NotFoundError",
    "Scores",
    "load_metadata",
]

"""Domain exceptions: each message tells the user what is wrong and what to do about it."""

from __future__ import annotations


class AnomalyLensError(Exception):
    """Base class of every error the core raises on purpose."""


class MetadataError(AnomalyLensError):
    """The anomaly metadata is missing a field, malformed, or inconsistent."""


class FeatureFileError(AnomalyLensError):
    """A feature file cannot be read or cannot provide the model's features."""


class ApiError(AnomalyLensError):
    """The Edge Impulse API (or the network on the way to it) failed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ApiError):
    """The API key was missing or rejected (401/403)."""


class NotFoundError(ApiError):
    """The project or learn block does not exist (404)."""

"""What a review is of: where the model came from, and which scores a threshold is tuned on.

Values, not labels: the app says each in words (`components.source`, `components.score_source`).
"""

from __future__ import annotations

import enum

__all__ = ["ScoreSource", "SourceKind"]


class SourceKind(enum.Enum):
    """Where the loaded model came from."""

    DEMO = "demo"  # the bundled demo project
    PROJECT = "project"  # an Edge Impulse project, through the API
    FILE = "file"  # a saved metadata JSON file


class ScoreSource(enum.Enum):
    """Which scores a threshold is tuned on."""

    VALIDATION = "validation"  # the block's validation predictions (labelled)
    MODEL_TESTING = "model_testing"  # Studio's model-testing results (labelled, project source only)
    UPLOAD = "upload"  # the last scored feature file (no labels)

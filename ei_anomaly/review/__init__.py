"""The review of an anomaly block, decided once: typed objects that the pages, the HTML report
and the command line only render.

- `model_card`: clusters, axes, training date, model types, the shown model type's metrics, the
  default-MCU cost, the threshold and what it means, whether the on-device figures are the demo's.
- `shown_metrics`, `device_model_type`, `default_mcu_cost`: which model type a view opens on.
- `threshold_meaning`: a threshold's key, the block's value, Studio's suggestion, the current value.
- `validation_scores`, `model_testing_scores`, `upload_scores`, `tuning_scores`: the scores a
  threshold is tuned on (`ScoreSet`).
- `summarize_scored`, `counts_line`: what scoring a file found, in the words every command uses.
- `default_map_axes`, `scored_points`: the clusters map's first axes and a scored file's rows on it.
- `match_demo`, `with_demo_names`: whether a model is the bundled demo block.
- `compare_blocks` and the `shared_*_windows`: two blocks side by side on one labelled source.
- `score_definition`, `block_title`, `gmm_components`, `KMEANS_ONLY`: what a block's kind (K-means
  or GMM) changes in a review.
A new decision that more than one view makes goes here, as a function returning a typed object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .block_kind import KMEANS_ONLY, ScoreDefinition, block_title, gmm_components, score_definition
    from .card import ModelCard, ModelTypeRow, model_card
    from .cluster_map import ScoredPoints, default_map_axes, scored_points
    from .compare import Comparison, SharedWindows, compare_blocks, shared_upload_windows, shared_validation_windows
    from .demo_match import DemoMatch, match_demo, with_demo_names
    from .kinds import ScoreSource, SourceKind
    from .metrics import McuCost, default_mcu_cost, device_model_type, shown_metrics
    from .score_sets import ScoreSet, model_testing_scores, tuning_scores, upload_scores, validation_scores
    from .scored_summary import ScoredSummary, summarize_scored
    from .threshold import ThresholdMeaning, threshold_meaning
    from .wording import counts_line

# Names are imported on first use (PEP 562): the command line's start-up needs only `wording`.
_WHERE = {
    "Comparison": "compare",
    "SharedWindows": "compare",
    "compare_blocks": "compare",
    "shared_upload_windows": "compare",
    "shared_validation_windows": "compare",
    "KMEANS_ONLY": "block_kind",
    "ScoreDefinition": "block_kind",
    "block_title": "block_kind",
    "gmm_components": "block_kind",
    "score_definition": "block_kind",
    "DemoMatch": "demo_match",
    "McuCost": "metrics",
    "ModelCard": "card",
    "ModelTypeRow": "card",
    "ScoreSet": "score_sets",
    "ScoreSource": "kinds",
    "ScoredPoints": "cluster_map",
    "ScoredSummary": "scored_summary",
    "SourceKind": "kinds",
    "ThresholdMeaning": "threshold",
    "counts_line": "wording",
    "default_map_axes": "cluster_map",
    "default_mcu_cost": "metrics",
    "device_model_type": "metrics",
    "match_demo": "demo_match",
    "model_card": "card",
    "model_testing_scores": "score_sets",
    "scored_points": "cluster_map",
    "shown_metrics": "metrics",
    "summarize_scored": "scored_summary",
    "threshold_meaning": "threshold",
    "tuning_scores": "score_sets",
    "upload_scores": "score_sets",
    "validation_scores": "score_sets",
    "with_demo_names": "demo_match",
}


__getattr__ = lazy_names(__name__, _WHERE)


__all__ = [
    "KMEANS_ONLY",
    "Comparison",
    "DemoMatch",
    "McuCost",
    "ModelCard",
    "ModelTypeRow",
    "ScoreDefinition",
    "ScoreSet",
    "ScoreSource",
    "ScoredPoints",
    "ScoredSummary",
    "SharedWindows",
    "SourceKind",
    "ThresholdMeaning",
    "block_title",
    "compare_blocks",
    "counts_line",
    "default_map_axes",
    "default_mcu_cost",
    "device_model_type",
    "gmm_components",
    "match_demo",
    "model_card",
    "model_testing_scores",
    "score_definition",
    "scored_points",
    "shared_upload_windows",
    "shared_validation_windows",
    "shown_metrics",
    "summarize_scored",
    "threshold_meaning",
    "tuning_scores",
    "upload_scores",
    "validation_scores",
    "with_demo_names",
]

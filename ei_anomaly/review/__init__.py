"""The review of an anomaly block, decided once: typed sections that the pages, the HTML report,
the notebook view and the JSON only render.

Each section is a frozen object computed by a pure function of its inputs; its figures are built by
its own methods (with `ei_anomaly.figures`), so a page and the report draw the same thing.
- `model_card`: what the block is, its score and what it is exact to, accuracy, default-MCU cost.
- `map_section`: its clusters or components on two axes, with a scored file's rows.
- `validation_sections`: per model type, the confusion matrix, metrics and predictions.
- `on_device_section`: latency, RAM and flash per MCU for a model type.
- `threshold_section`: a threshold on a score set (`validation_scores`, `model_testing_scores`,
  `upload_scores`): what it flags, precision and recall, errors per test sample.
- `guarantee_section`: the false-alarm guarantee from normal windows (`validation_normal`,
  `model_testing_normal`, `file_normal`) counted in a unit, and the bound of the review's threshold.
- `scoring_section`: a scored file at a threshold (`summarize_scored`, `counts_line`: the CLI's words).
- `fleet_section`, `alarm_budget`, `device_drilldown`: a fleet log under an alarm policy.
- `compare_blocks` (with the `shared_*_windows`) and `compare_on_fleet`: two blocks side by side.
- `review_snapshot`: all of them for one set of inputs (`ReviewInputs`), as `ReviewSnapshot`.
- `match_demo`, `with_demo_names`: whether a block is the bundled demo's.
A new section is a module here: a frozen dataclass with `to_dict()` and its figure methods, and a
function computing it; `review_snapshot` adds it, the report's template renders it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .block_map import MapSection, ScoredPoints, default_map_axes, map_section, scored_points
    from .card import ModelCard, ModelTypeRow, model_card
    from .compare import Comparison, SharedWindows, compare_blocks, shared_upload_windows, shared_validation_windows
    from .compare_fleet import FleetComparison, compare_on_fleet
    from .demo_match import DemoMatch, match_demo, with_demo_names
    from .fleet import AlarmBudget, DeviceDrillDown, FleetSection, alarm_budget, device_drilldown, fleet_section
    from .guarantee import GuaranteeSection, guarantee_section
    from .kinds import ScoreSource, SourceKind
    from .metrics import McuCost, default_mcu_cost, device_model_type, shown_metrics
    from .normal import NormalSource, NormalWindows, file_normal, model_testing_normal, validation_normal
    from .on_device import OnDeviceSection, on_device_section
    from .score_sets import ScoreSet, model_testing_scores, tuning_scores, upload_scores, validation_scores
    from .scored_summary import ScoredSummary, ScoringSection, scoring_section, summarize_scored
    from .snapshot import CompareWith, NamedLog, ReviewInputs, ReviewSnapshot, review_snapshot
    from .threshold import ThresholdMeaning, threshold_meaning
    from .tuning import ThresholdSection, threshold_section
    from .validation import ValidationSection, validation_section, validation_sections
    from .wording import counts_line

# Names are imported on first use (PEP 562): the command line's start-up needs only `wording`.
_WHERE = {
    "AlarmBudget": "fleet",
    "CompareWith": "snapshot",
    "Comparison": "compare",
    "DemoMatch": "demo_match",
    "DeviceDrillDown": "fleet",
    "FleetComparison": "compare_fleet",
    "FleetSection": "fleet",
    "GuaranteeSection": "guarantee",
    "MapSection": "block_map",
    "McuCost": "metrics",
    "ModelCard": "card",
    "ModelTypeRow": "card",
    "NamedLog": "snapshot",
    "NormalSource": "normal",
    "NormalWindows": "normal",
    "OnDeviceSection": "on_device",
    "ReviewInputs": "snapshot",
    "ReviewSnapshot": "snapshot",
    "ScoreSet": "score_sets",
    "ScoreSource": "kinds",
    "ScoredPoints": "block_map",
    "ScoredSummary": "scored_summary",
    "ScoringSection": "scored_summary",
    "SharedWindows": "compare",
    "SourceKind": "kinds",
    "ThresholdMeaning": "threshold",
    "ThresholdSection": "tuning",
    "ValidationSection": "validation",
    "alarm_budget": "fleet",
    "compare_blocks": "compare",
    "compare_on_fleet": "compare_fleet",
    "counts_line": "wording",
    "default_map_axes": "block_map",
    "default_mcu_cost": "metrics",
    "device_drilldown": "fleet",
    "device_model_type": "metrics",
    "file_normal": "normal",
    "fleet_section": "fleet",
    "guarantee_section": "guarantee",
    "map_section": "block_map",
    "match_demo": "demo_match",
    "model_card": "card",
    "model_testing_normal": "normal",
    "model_testing_scores": "score_sets",
    "on_device_section": "on_device",
    "review_snapshot": "snapshot",
    "scored_points": "block_map",
    "scoring_section": "scored_summary",
    "shared_upload_windows": "compare",
    "shared_validation_windows": "compare",
    "shown_metrics": "metrics",
    "summarize_scored": "scored_summary",
    "threshold_meaning": "threshold",
    "threshold_section": "tuning",
    "tuning_scores": "score_sets",
    "upload_scores": "score_sets",
    "validation_normal": "normal",
    "validation_scores": "score_sets",
    "validation_section": "validation",
    "validation_sections": "validation",
    "with_demo_names": "demo_match",
}

__getattr__ = lazy_names(__name__, _WHERE)

__all__ = [
    "AlarmBudget",
    "CompareWith",
    "Comparison",
    "DemoMatch",
    "DeviceDrillDown",
    "FleetComparison",
    "FleetSection",
    "GuaranteeSection",
    "MapSection",
    "McuCost",
    "ModelCard",
    "ModelTypeRow",
    "NamedLog",
    "NormalSource",
    "NormalWindows",
    "OnDeviceSection",
    "ReviewInputs",
    "ReviewSnapshot",
    "ScoreSet",
    "ScoreSource",
    "ScoredPoints",
    "ScoredSummary",
    "ScoringSection",
    "SharedWindows",
    "SourceKind",
    "ThresholdMeaning",
    "ThresholdSection",
    "ValidationSection",
    "alarm_budget",
    "compare_blocks",
    "compare_on_fleet",
    "counts_line",
    "default_map_axes",
    "default_mcu_cost",
    "device_drilldown",
    "device_model_type",
    "file_normal",
    "fleet_section",
    "guarantee_section",
    "map_section",
    "match_demo",
    "model_card",
    "model_testing_normal",
    "model_testing_scores",
    "on_device_section",
    "review_snapshot",
    "scored_points",
    "scoring_section",
    "shared_upload_windows",
    "shared_validation_windows",
    "shown_metrics",
    "summarize_scored",
    "threshold_meaning",
    "threshold_section",
    "tuning_scores",
    "upload_scores",
    "validation_normal",
    "validation_scores",
    "validation_section",
    "validation_sections",
    "with_demo_names",
]

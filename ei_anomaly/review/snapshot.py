"""A review, computed once: every section of it for one block and what it was given.

`review_snapshot` is a pure function of its inputs (the block, the threshold, a scored file, a fleet
log and policy, a second block, normal windows for the false-alarm guarantee); the result is
frozen. The HTML report, the notebook view and the JSON (`ei_anomaly.report`: `Review`) render the
same snapshot, and the pages compute the sections
they show with the same functions (`model_card`, `map_section`, `threshold_section`, ...), so a
number is decided in one place whichever way it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..alarms import FleetLog, FleetPolicy
from ..blocks import AnomalyBlock
from ..bounds import DEFAULT_CONFIDENCE, DEFAULT_FPR, Unit
from ..scored_file import ScoredFile
from .block_map import MapSection, map_section
from .card import ModelCard, model_card
from .compare import DEFAULT_FALSE_ALARM_RATE, Comparison, SharedWindows, compare_blocks, shared_validation_windows
from .compare_fleet import FleetComparison, compare_on_fleet
from .fleet import AlarmBudget, FleetSection, alarm_budget, fleet_section
from .guarantee import GuaranteeSection, guarantee_section
from .jsonable import JsonValue, jsonable
from .normal import NormalWindows, validation_normal
from .on_device import OnDeviceSection, on_device_section
from .parity import ParitySection, block_parity
from .score_sets import ScoreSet, tuning_scores
from .scored_summary import ScoringSection, scoring_section
from .tuning import ThresholdSection, threshold_section
from .validation import ValidationSection, validation_sections

__all__ = [
    "FLEET_BUDGET_PER_DAY",
    "CompareWith",
    "NamedLog",
    "ReviewInputs",
    "ReviewSnapshot",
    "review_snapshot",
]

FLEET_BUDGET_PER_DAY = 1.0  # the alarm budget a comparison on a fleet log holds both blocks to, by default


@dataclass(frozen=True)
class NamedLog:
    """A fleet log scored by the reviewed block, and the name of its file."""

    name: str
    log: FleetLog


@dataclass(frozen=True)
class CompareWith:
    """The second block of a comparison and what both are judged on.

    `shared`: labelled windows both blocks scored (default: the validation windows of the same
    samples, when they share any); `fleet_log`: the review's fleet log with this block's scores of
    the same rows (for the comparison on the fleet log)."""

    block: AnomalyBlock
    name: str
    shared: SharedWindows | None = None
    use_validation: bool = True  # when `shared` is None, judge on the shared validation windows (if any)
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE
    fleet_log: FleetLog | None = None
    fleet_budget_per_day: float = FLEET_BUDGET_PER_DAY


@dataclass(frozen=True)
class ReviewInputs:
    """What a review is of. Only `block` and `threshold` are needed; every other input adds sections."""

    block: AnomalyBlock
    threshold: float
    title: str
    source_label: str  # where the block came from, in words (a file name, a project and block)
    name: str = "A"  # how a comparison names this block
    scored: ScoredFile | None = None  # a feature file the block scored
    tune_on: ScoreSet | None = None  # the scores the threshold is judged on (default: validation, else `scored`)
    fleet: NamedLog | None = None
    policy: FleetPolicy = field(default_factory=FleetPolicy)
    fleet_budget_per_day: float | None = None  # also the lowest threshold that keeps this many alarms a day
    compare: CompareWith | None = None
    # The false-alarm guarantee: normal windows (default: the validation windows labelled normal; when
    # given, also the reference of the scored file's p-values), counted in `unit`, for `fpr` at `confidence`.
    normal: NormalWindows | None = None
    unit: Unit = field(default_factory=Unit)
    fpr: float = DEFAULT_FPR
    confidence: float = DEFAULT_CONFIDENCE


@dataclass(frozen=True)
class ReviewSnapshot:
    """Every section of one review, computed once (None: the input it needs was not given)."""

    inputs: ReviewInputs
    generated: datetime
    version: str
    card: ModelCard
    block_map: MapSection
    validation: list[ValidationSection]
    on_device: OnDeviceSection | None
    threshold: ThresholdSection
    guarantee: GuaranteeSection | None  # None: no normal windows
    scoring: ScoringSection | None
    fleet: FleetSection | None
    budget: AlarmBudget | None  # the fleet's alarm curve (and a budget's threshold, when asked)
    comparison: Comparison | None
    fleet_comparison: FleetComparison | None
    parity: ParitySection | None  # with a second block: is A block B, number for number?

    @property
    def block(self) -> AnomalyBlock:
        return self.inputs.block

    def to_dict(self) -> dict[str, JsonValue]:
        """Every number the HTML report shows, with what the review is of: the block's identity, the
        threshold, the policy, the tool's version. What `report --format json` writes."""
        i = self.inputs
        return {
            "anomaly_lens": {"version": self.version, "generated": jsonable(self.generated)},
            "title": i.title,
            "source": i.source_label,
            "block": {
                "kind": i.block.kind.value,
                "kind_label": i.block.kind.label,
                "fingerprint": i.block.fingerprint,
                "axes": [
                    {"index": ix, "label": label} for ix, label in zip(i.block.axes, i.block.axis_labels, strict=True)
                ],
                "target": i.block.setup.target.value,
                "features_are": i.block.setup.features_are.value if i.block.setup.normalization is not None else None,
                "normalization": i.block.setup.normalization.to_dict() if i.block.setup.normalization else None,
                "export": i.block.setup.origin.to_dict() if i.block.setup.origin is not None else None,
            },
            "threshold": jsonable(i.threshold),
            "policy": i.policy.describe() if i.fleet is not None else None,
            "card": self.card.to_dict(),
            "map": self.block_map.to_dict(),
            "validation": [v.to_dict() for v in self.validation],
            "on_device": self.on_device.to_dict() if self.on_device is not None else None,
            "tuning": self.threshold.to_dict(),
            "guarantee": self.guarantee.to_dict() if self.guarantee is not None else None,
            "scoring": self.scoring.to_dict() if self.scoring is not None else None,
            "fleet": (self.fleet.to_dict() | (self.budget.to_dict() if self.budget else {})) if self.fleet else None,
            "comparison": self.comparison.to_dict() if self.comparison is not None else None,
            "fleet_comparison": self.fleet_comparison.to_dict() if self.fleet_comparison is not None else None,
            "parity": self.parity.to_dict() if self.parity is not None else None,
        }


def _comparison(inputs: ReviewInputs, with_b: CompareWith) -> tuple[Comparison, FleetComparison | None]:
    a, b = inputs.block, with_b.block
    shared = with_b.shared
    if shared is None and with_b.use_validation:
        shared = shared_validation_windows(a, b)
    comparison = compare_blocks(
        (inputs.name, a),
        (with_b.name, b),
        shared,
        threshold_a=inputs.threshold,
        false_alarm_rate=with_b.false_alarm_rate,
    )
    if inputs.fleet is None or with_b.fleet_log is None:
        return comparison, None
    fleet = compare_on_fleet(
        inputs.fleet.name,
        (comparison.a.name, inputs.fleet.log, comparison.a.threshold),
        (comparison.b.name, with_b.fleet_log, comparison.b.threshold),
        policy=inputs.policy,
        budget_per_day=with_b.fleet_budget_per_day,
    )
    return comparison, fleet


def review_snapshot(inputs: ReviewInputs, *, version: str, generated: datetime | None = None) -> ReviewSnapshot:
    """Every section of the review of `inputs`."""
    block, threshold, scored = inputs.block, inputs.threshold, inputs.scored
    tune_on = inputs.tune_on if inputs.tune_on is not None else tuning_scores(block.metadata, scored)
    fleet = budget = None
    if inputs.fleet is not None:
        fleet = fleet_section(inputs.fleet.name, inputs.fleet.log, inputs.policy.at(threshold))
        budget = alarm_budget(fleet, inputs.fleet_budget_per_day)
    comparison, fleet_comparison = _comparison(inputs, inputs.compare) if inputs.compare is not None else (None, None)
    normal = inputs.normal if inputs.normal is not None else validation_normal(block.metadata)
    guarantee = None
    if normal is not None and normal.windows:
        guarantee = guarantee_section(normal, threshold, unit=inputs.unit, fpr=inputs.fpr, confidence=inputs.confidence)
    parity = block_parity(block, inputs.compare.block, inputs.name, inputs.compare.name) if inputs.compare else None
    return ReviewSnapshot(
        inputs=inputs,
        generated=generated or datetime.now(timezone.utc),
        version=version,
        card=model_card(block, threshold),
        block_map=map_section(block, scored, threshold),
        validation=validation_sections(block),
        on_device=on_device_section(block),
        threshold=threshold_section(block, tune_on, threshold),
        guarantee=guarantee,
        scoring=scoring_section(block, scored, threshold, reference=inputs.normal) if scored is not None else None,
        fleet=fleet,
        budget=budget,
        comparison=comparison,
        fleet_comparison=fleet_comparison,
        parity=parity,
    )

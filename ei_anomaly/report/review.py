"""`Review`: a block's review computed once, then shown as HTML, in a notebook, or as JSON.

    from ei_anomaly import Review

    review = Review("block-5/", threshold=2.4, features="session.csv", fleet="fleet.csv", policy="10:7")
    review                      # in a notebook: the report, offline (the same figures as the app)
    review.to_html("review.html")
    review.to_dict()            # every number the report shows; `report --format json` writes it
    Review("block-5/", normal="normal.csv", fpr=0.01, confidence=0.95, unit=Unit(per="device-hour"))

Paths are read here (a metadata file or block directory, feature files, fleet logs); objects the
app already holds (a loaded block, a scored file, a fleet log) are taken as they are. What is
computed is `ei_anomaly.review.review_snapshot`, once.
"""

from __future__ import annotations

import html
import json
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..alarms import FleetPolicy
from ..alarms.log_file import FleetFile, read_fleet_file
from ..blocks import AnomalyBlock, atomic_write, load_block
from ..blocks.parts import FeatureSpace, Target
from ..bounds import DEFAULT_CONFIDENCE, DEFAULT_FPR, Unit
from ..errors import UsageError
from ..review import (
    CompareWith,
    NamedLog,
    NormalWindows,
    ReviewInputs,
    ReviewSnapshot,
    ScoreSet,
    file_normal,
    match_demo,
    review_snapshot,
    validation_normal,
    with_demo_names,
)
from ..review.jsonable import JsonValue
from ..review.normal import file_grouping, file_groupings
from ..scored_file import ScoredFile
from ..version import tool_version

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "VALIDATION_NORMAL",
    "Review",
    "demo_subject",
    "load_reviewed_block",
    "normal_windows",
    "score_features_file",
]

PathLike = str | Path
VALIDATION_NORMAL = "validation"  # as a normal source: the block's validation windows labelled normal


def load_reviewed_block(source: PathLike | AnomalyBlock) -> tuple[AnomalyBlock, str]:
    """The block (with the demo's axis names when it is a demo block) and its name: the file's, or its title."""
    if not isinstance(source, (str, Path)):
        return source, source.title
    path = Path(source)
    return with_demo_names(load_block(path)), path.name


def demo_subject(block: AnomalyBlock, path: PathLike | None) -> str:
    """What a review is of, for its title: the demo project's name, else the file's stem."""
    if match_demo(block).identical:
        from ..demo import demo_files

        return str(demo_files()["project"]["name"])
    return Path(path).stem if path is not None else block.title


def score_features_file(path: PathLike, block: AnomalyBlock) -> ScoredFile:
    """A feature file read whole and scored by `block` (the report's rows, exactly as `score` gives them)."""
    from ..features import map_columns, read_feature_file

    file = Path(path)
    table = read_feature_file(file)
    return ScoredFile.score(table, block, map_columns(table, block), file.name, str(file.resolve()))


def normal_windows(
    source: PathLike | NormalWindows,
    block: AnomalyBlock,
    *,
    label_column: str | None = None,
    per: str | None = None,
    time_column: str | None = None,
) -> NormalWindows:
    """Normal windows from `source`: the word `validation` (the block's validation windows labelled
    normal), a feature file of normal operation scored by `block` (all rows, or those whose
    `label_column` says normal; `per`: a grouping to offer besides the file's own), or as given."""
    if isinstance(source, NormalWindows):
        return source
    if str(source) == VALIDATION_NORMAL:
        found = validation_normal(block.metadata)
        if found is None:
            raise UsageError("the block has no validation windows labelled normal with a score")
        return found
    scored = score_features_file(source, block)
    groups = file_groupings(scored, time_column=time_column)
    if per is not None and per not in groups:
        groups[per] = file_grouping(scored, per, time_column)
    return file_normal(scored, label_column=label_column, groups=groups)


def _fleet_file(fleet: PathLike | FleetFile) -> FleetFile:
    return fleet if isinstance(fleet, FleetFile) else FleetFile(Path(fleet))


def _policy(policy: FleetPolicy | str | None) -> FleetPolicy:
    if policy is None:
        return FleetPolicy()
    return FleetPolicy.parse(policy) if isinstance(policy, str) else policy


class Review:
    """The review of one block (a path to its metadata file or block directory, or a loaded block).

    `threshold` (default: the block's own); `features`: a feature file to score (or a scored file);
    `fleet`: a fleet log (a path, a `FleetFile` naming its columns, or a `NamedLog`) simulated under
    `policy` (`FleetPolicy`, or "N:K" for the SDK's smoothing); `compare`: a second block (a path, a
    block, or a `CompareWith` saying what both are judged on). Keyword-only: the report's `title`,
    `source_label`, the block's `name` in a comparison, the scores the threshold is judged on
    (`tune_on`), an alarm budget for the fleet, and for the false-alarm guarantee the normal
    windows (`normal`: a `NormalWindows`, a feature file of normal operation, or "validation", the
    default; a given one is also the reference of the scored file's p-values), the rows of a normal
    file whose `normal_label` column says normal, the `unit`, the target `fpr` and `confidence`,
    the `target` the scores are exact to ("linux" or "cortex-m", for both blocks; default: each
    block's own) and what the rows are (`features_are`: "raw" or "normalized", for a deployment
    export with data normalization).
    """

    def __init__(
        self,
        block: PathLike | AnomalyBlock,
        threshold: float | None = None,
        features: PathLike | ScoredFile | None = None,
        fleet: PathLike | FleetFile | NamedLog | None = None,
        policy: FleetPolicy | str | None = None,
        compare: PathLike | AnomalyBlock | CompareWith | None = None,
        *,
        title: str | None = None,
        source_label: str | None = None,
        name: str | None = None,
        tune_on: ScoreSet | None = None,
        fleet_budget_per_day: float | None = None,
        normal: PathLike | NormalWindows | None = None,
        normal_label: str | None = None,
        unit: Unit | None = None,
        fpr: float = DEFAULT_FPR,
        confidence: float = DEFAULT_CONFIDENCE,
        generated: datetime | None = None,
        target: Target | str | None = None,
        features_are: FeatureSpace | str | None = None,
    ) -> None:
        name_a = name
        loaded, name = load_reviewed_block(block)
        self._target = Target(target) if target is not None else None
        loaded = self._with_setup(loaded)
        if features_are is not None:
            if loaded.setup.normalization is None:
                raise UsageError(
                    "features_are applies to a deployment export with data normalization; this block has none"
                )
            loaded = loaded.with_setup(features_are=FeatureSpace(features_are))
        label = name + (" (the bundled demo)" if match_demo(loaded).identical else "")
        chosen = loaded.default_threshold if threshold is None else float(threshold)
        if not (chosen == chosen and abs(chosen) != float("inf")):
            raise UsageError("the threshold must be a finite number")
        scored = score_features_file(features, loaded) if isinstance(features, (str, Path)) else features
        named = self._fleet(fleet, loaded)
        chosen_unit = unit or Unit()
        normal_given = (
            normal_windows(normal, loaded, label_column=normal_label, per=chosen_unit.per)
            if normal is not None
            else None
        )
        source = source_label or label
        inputs = ReviewInputs(
            block=loaded,
            threshold=chosen,
            title=title
            or f"Anomaly model review: {demo_subject(loaded, block if isinstance(block, (str, Path)) else None)}",
            source_label=source,
            name=name_a or f"A: {name} ({loaded.kind.label})",
            scored=scored,
            tune_on=tune_on,
            fleet=named,
            policy=_policy(policy),
            fleet_budget_per_day=fleet_budget_per_day,
            compare=self._compare(compare, fleet, named),
            normal=normal_given,
            unit=chosen_unit,
            fpr=fpr,
            confidence=confidence,
        )
        self._inputs = inputs
        self._generated = generated

    def _with_setup(self, block: AnomalyBlock) -> AnomalyBlock:
        return block.with_setup(target=self._target) if self._target is not None else block

    @staticmethod
    def _fleet(fleet: PathLike | FleetFile | NamedLog | None, block: AnomalyBlock) -> NamedLog | None:
        if fleet is None or isinstance(fleet, NamedLog):
            return fleet
        file = _fleet_file(fleet)
        return NamedLog(file.path.name, read_fleet_file(file, block).log)

    def _compare(
        self,
        compare: PathLike | AnomalyBlock | CompareWith | None,
        fleet: PathLike | FleetFile | NamedLog | None,
        named: NamedLog | None,
    ) -> CompareWith | None:
        if compare is None or isinstance(compare, CompareWith):
            return compare
        block, label = load_reviewed_block(compare)
        block = self._with_setup(block)
        log_b = None
        if isinstance(fleet, (str, Path, FleetFile)):
            log_b = read_fleet_file(_fleet_file(fleet), block).log  # block B reads and scores the same rows
        elif named is not None:
            raise UsageError("a comparison on a fleet log needs the log's file (block B scores it too)")
        return CompareWith(block, f"B: {label} ({block.kind.label})", fleet_log=log_b)

    @property
    def inputs(self) -> ReviewInputs:
        return self._inputs

    @cached_property
    def snapshot(self) -> ReviewSnapshot:
        """Every section, computed once (on first use)."""
        return review_snapshot(self._inputs, version=tool_version(), generated=self._generated)

    def to_dict(self) -> dict[str, JsonValue]:
        """Every number the HTML report shows, with the block's identity, the threshold, the policy and the version."""
        return self.snapshot.to_dict()

    def to_json(self, path: PathLike | None = None) -> str:
        """`to_dict()` as JSON text; written atomically to `path` when given."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if path is not None:
            atomic_write(Path(path), text.encode("utf-8"))
        return text

    def to_html(self, path: PathLike | None = None) -> str:
        """The offline HTML report; written atomically to `path` when given."""
        from .render import render_html

        text = render_html(self.snapshot)
        if path is not None:
            atomic_write(Path(path), text.encode("utf-8"))
        return text

    def _repr_html_(self) -> str:
        """The report inside a notebook: a frame of its own (its styles and scripts stay inside),
        offline like the file (Plotly's JavaScript inlined)."""
        document = html.escape(self.to_html(), quote=True)
        return (
            f'<iframe srcdoc="{document}" style="width:100%;height:900px;border:1px solid #e5e7eb" '
            f'title="{html.escape(self._inputs.title)}" sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        i = self._inputs
        return f"Review({i.source_label!r}, threshold={i.threshold:g})"

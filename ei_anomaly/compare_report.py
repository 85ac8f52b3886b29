"""`report A --compare B`: two blocks compared, as one offline HTML file.

B is a metadata file or a block directory, like A. Both are judged on the validation windows of
the same samples when they share any (e.g. two blocks of one project, or one block before and
after retraining on the same validation set); otherwise the report compares model cards and
on-device costs only, and says so. With `--fleet LOG` both blocks also score the fleet log and are
simulated under the same smoothing and cool-down (`review.compare_fleet`), with a budget of
`FLEET_BUDGET_PER_DAY` alarms per device per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .blocks import atomic_write
from .model import AnomalyModel
from .review import compare_blocks, shared_validation_windows, with_demo_names

if TYPE_CHECKING:
    from .alarms import Smoothing
    from .review.compare_fleet import FleetComparison

__all__ = ["FLEET_BUDGET_PER_DAY", "FleetFile", "write_comparison_report"]

FLEET_BUDGET_PER_DAY = 1.0


@dataclass(frozen=True)
class FleetFile:
    """`--fleet LOG` with its columns and the policy both blocks share."""

    path: Path
    smoothing: Smoothing | None = None
    cooldown_s: float = 0.0
    device: str | None = None
    time: str | None = None
    stride_s: float | None = None


def _fleet_comparison(
    fleet: FleetFile, a: tuple[str, AnomalyModel, float], b: tuple[str, AnomalyModel, float]
) -> FleetComparison:
    """Each block reads and scores the log (the same rows in the same order), then both are simulated."""
    from .alarms.log_file import choose_fleet_columns, read_fleet_log
    from .review.compare_fleet import compare_on_fleet
    from .streaming import open_feature_stream

    logs = []
    for _, model, _ in (a, b):
        stream = open_feature_stream(fleet.path)
        try:
            columns = choose_fleet_columns(stream.first.columns, fleet.device, fleet.time, None)
            logs.append(read_fleet_log(stream, model, columns, fleet.stride_s).log)
        finally:
            stream.close()
    return compare_on_fleet(
        fleet.path.name,
        (a[0], logs[0], a[2]),
        (b[0], logs[1], b[2]),
        smoothing=fleet.smoothing,
        cooldown_s=fleet.cooldown_s,
        budget_per_day=FLEET_BUDGET_PER_DAY,
    )


def _name(path: Path, model: AnomalyModel) -> str:
    return f"{path.name} ({model.kind.label})"


def write_comparison_report(
    a_path: Path,
    a: AnomalyModel,
    b_path: Path,
    output: Path,
    *,
    threshold: float | None = None,
    title: str | None = None,
    fleet: FleetFile | None = None,
) -> str:
    """Write the report; returns the line the CLI prints."""
    from . import load_metadata
    from .report import build_comparison_report

    b = with_demo_names(load_metadata(b_path))
    shared = shared_validation_windows(a, b)
    comparison = compare_blocks(
        (f"A: {_name(a_path, a)}", a), (f"B: {_name(b_path, b)}", b), shared, threshold_a=threshold
    )
    fleet_comparison = (
        _fleet_comparison(
            fleet, (comparison.a.name, a, comparison.a.threshold), (comparison.b.name, b, comparison.b.threshold)
        )
        if fleet is not None
        else None
    )
    html = build_comparison_report(
        comparison,
        title=title or f"Anomaly blocks compared: {a_path.name} and {b_path.name}",
        fleet=fleet_comparison,
    )
    data = html.encode("utf-8")
    atomic_write(output, data)
    where = comparison.shared.origin if comparison.shared is not None else "no shared labelled windows"
    counts = ""
    if comparison.counts_a is not None and comparison.counts_b is not None:
        counts = f"; recall A {comparison.counts_a.recall:.1%}, B {comparison.counts_b.recall:.1%} at their thresholds"
    if fleet_comparison is not None:
        rates = (fleet_comparison.a.own.fleet_rate, fleet_comparison.b.own.fleet_rate)
        counts += f"; alarms per device per day on {fleet_comparison.log_name}: A {rates[0]:.3g}, B {rates[1]:.3g}"
    return f"wrote {output} ({len(data) / 1e6:.1f} MB); {where}{counts}"

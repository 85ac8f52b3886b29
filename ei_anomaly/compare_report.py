"""`report A --compare B`: two blocks compared, as one offline HTML file.

B is a metadata file or a block directory, like A. Both are judged on the validation windows of
the same samples when they share any (e.g. two blocks of one project, or one block before and
after retraining on the same validation set); otherwise the report compares model cards and
on-device costs only, and says so.
"""

from __future__ import annotations

from pathlib import Path

from .blocks import atomic_write
from .model import AnomalyModel
from .review import compare_blocks, shared_validation_windows, with_demo_names

__all__ = ["write_comparison_report"]


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
) -> str:
    """Write the report; returns the line the CLI prints."""
    from . import load_metadata
    from .report import build_comparison_report

    b = with_demo_names(load_metadata(b_path))
    shared = shared_validation_windows(a, b)
    comparison = compare_blocks(
        (f"A: {_name(a_path, a)}", a), (f"B: {_name(b_path, b)}", b), shared, threshold_a=threshold
    )
    html = build_comparison_report(
        comparison, title=title or f"Anomaly blocks compared: {a_path.name} and {b_path.name}"
    )
    data = html.encode("utf-8")
    atomic_write(output, data)
    where = comparison.shared.origin if comparison.shared is not None else "no shared labelled windows"
    counts = ""
    if comparison.counts_a is not None and comparison.counts_b is not None:
        counts = f"; recall A {comparison.counts_a.recall:.1%}, B {comparison.counts_b.recall:.1%} at their thresholds"
    return f"wrote {output} ({len(data) / 1e6:.1f} MB); {where}{counts}"

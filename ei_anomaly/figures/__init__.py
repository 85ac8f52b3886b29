"""Pure Plotly figure builders: data in, `go.Figure` out. No Streamlit, no I/O.

The pages and the HTML report draw with the same builders, one module per subject:
`clusters` (map, 3-D, parallel coordinates), `gmm` (a GMM block's components, the same three),
`evaluation` (confusion matrix, scores per label, histogram, precision-recall), `scores` (a scored
file along the file), `on_device` (cost per MCU), `guarantee` (the false-alarm bound against the
threshold), `fleet` (alarm rates).
Outside text goes in as it is (cut with `text.chart_label`), never as markup: every figure leaves
Python through `text.safe_figure`, which escapes it all. Colours come from `style`.
A new figure goes into the module of its subject, as a `fig_*` function, and is exported here.
Names are imported on first use (PEP 562): `figures.style` can be read without loading Plotly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .clusters import fig_cluster_3d, fig_cluster_map, fig_parallel_centers
    from .compare import COMPARE_COLORS, fig_alarm_curves_compare, fig_pr_compare
    from .evaluation import fig_confusion_matrix, fig_pr_curve, fig_score_histogram, fig_scores_by_label
    from .explain import add_window_marker, fig_axis_shares
    from .fleet import fig_alarm_curve, fig_device_trace, fig_rate_grid
    from .gmm import fig_gmm_3d, fig_gmm_map, fig_gmm_parallel
    from .guarantee import fig_false_alarm_bound
    from .layout import MAX_POINTS
    from .on_device import FLASH, RAM, DeviceMetric, fig_latency, fig_on_device
    from .scores import fig_score_timeline

_WHERE = {
    "COMPARE_COLORS": "compare",
    "DeviceMetric": "on_device",
    "FLASH": "on_device",
    "MAX_POINTS": "layout",
    "RAM": "on_device",
    "add_window_marker": "explain",
    "fig_alarm_curve": "fleet",
    "fig_alarm_curves_compare": "compare",
    "fig_axis_shares": "explain",
    "fig_cluster_3d": "clusters",
    "fig_cluster_map": "clusters",
    "fig_confusion_matrix": "evaluation",
    "fig_device_trace": "fleet",
    "fig_false_alarm_bound": "guarantee",
    "fig_gmm_3d": "gmm",
    "fig_gmm_map": "gmm",
    "fig_gmm_parallel": "gmm",
    "fig_latency": "on_device",
    "fig_on_device": "on_device",
    "fig_parallel_centers": "clusters",
    "fig_pr_compare": "compare",
    "fig_pr_curve": "evaluation",
    "fig_rate_grid": "fleet",
    "fig_score_histogram": "evaluation",
    "fig_score_timeline": "scores",
    "fig_scores_by_label": "evaluation",
}

__getattr__ = lazy_names(__name__, _WHERE)

__all__ = [
    "COMPARE_COLORS",
    "FLASH",
    "MAX_POINTS",
    "RAM",
    "DeviceMetric",
    "add_window_marker",
    "fig_alarm_curve",
    "fig_alarm_curves_compare",
    "fig_axis_shares",
    "fig_cluster_3d",
    "fig_cluster_map",
    "fig_confusion_matrix",
    "fig_device_trace",
    "fig_false_alarm_bound",
    "fig_gmm_3d",
    "fig_gmm_map",
    "fig_gmm_parallel",
    "fig_latency",
    "fig_on_device",
    "fig_parallel_centers",
    "fig_pr_compare",
    "fig_pr_curve",
    "fig_rate_grid",
    "fig_score_histogram",
    "fig_score_timeline",
    "fig_scores_by_label",
]

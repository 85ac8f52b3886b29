"""Two blocks on one labelled source: their precision-recall curves overlaid, thresholds marked."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from .layout import apply_layout
from .text import chart_label

__all__ = ["COMPARE_COLORS", "fig_pr_compare"]

COMPARE_COLORS = ("#2563eb", "#db2777")  # block A, block B


def fig_pr_compare(
    curves: Sequence[tuple[str, pd.DataFrame, tuple[float, float] | None, float]], source: str
) -> go.Figure:
    """One precision-recall curve per block: (name, curve from `pr_curve`, (precision, recall) at the
    block's own threshold, that threshold). `source` names the shared labelled windows."""
    fig = go.Figure()
    for i, (name, curve, current, threshold) in enumerate(curves):
        color = COMPARE_COLORS[i % len(COMPARE_COLORS)]
        label = chart_label(name)
        fig.add_trace(
            go.Scatter(
                x=curve["recall"],
                y=curve["precision"],
                mode="lines",
                line={"color": color, "shape": "hv", "width": 2},
                name=label,
                customdata=curve["threshold"],
                hovertemplate=f"{label}<br>threshold %{{customdata:.4g}}<br>recall %{{x:.3f}}<br>"
                "precision %{y:.3f}<extra></extra>",
            )
        )
        if current is not None:
            fig.add_trace(
                go.Scatter(
                    x=[current[1]],
                    y=[current[0]],
                    mode="markers+text",
                    name=f"{label}: its threshold {threshold:.4g}",
                    text=[f"{threshold:.4g}"],
                    textposition="bottom left",
                    textfont={"color": color},
                    marker={"color": color, "size": 13, "symbol": "diamond", "line": {"color": "white", "width": 2}},
                    hovertemplate=f"{label} at its threshold {threshold:.4g}<br>recall %{{x:.3f}}<br>"
                    "precision %{y:.3f}<extra></extra>",
                )
            )
    apply_layout(fig, f"Precision-recall on {chart_label(source)}", height=420)
    fig.update_xaxes(title="recall (anomalies caught)", range=[0, 1.02])
    fig.update_yaxes(title="precision (flags that are real)", range=[0, 1.05])
    return fig

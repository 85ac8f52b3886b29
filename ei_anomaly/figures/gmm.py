"""Where a GMM block's components sit: ellipses on two axes, ellipsoids in 3-D, means on every axis.

A Gaussian's shadow on two axes is the Gaussian of its 2 x 2 sub-covariance, so the ellipses at
1, 2 and 3 standard deviations are exact (the contours of that marginal density), not a sketch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from .clusters import fig_parallel, finish_3d
from .layout import apply_layout
from .style import CLUSTER, symbol_for
from .text import chart_label

__all__ = ["SIGMAS", "fig_gmm_3d", "fig_gmm_map", "fig_gmm_parallel", "sigma_ellipse"]

SIGMAS = (1, 2, 3)
_SIGMA_STYLE = {1: ("solid", 0.95), 2: ("dash", 0.7), 3: ("dot", 0.5)}


def sigma_ellipse(
    mean: npt.ArrayLike, cov: npt.ArrayLike, k: float, n: int = 72
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points on the k-standard-deviation ellipse of a 2-D Gaussian: {x : (x-m)^T C^-1 (x-m) = k^2}."""
    m = np.asarray(mean, np.float64)
    c = np.asarray(cov, np.float64)
    values, vectors = np.linalg.eigh(c)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    points = vectors @ (np.sqrt(np.clip(values, 0, None))[:, None] * circle) * k
    return m[0] + points[0], m[1] + points[1]


def _widths(weights: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Line width per component: 1 to 4 px, by weight relative to the heaviest."""
    w = np.asarray(weights, np.float64)
    widths: npt.NDArray[np.float64] = 1.0 + 3.0 * w / w.max()
    return widths


def fig_gmm_map(
    means: npt.NDArray[np.floating],
    covariances: npt.NDArray[np.floating],
    weights: npt.NDArray[np.floating],
    axis_titles: tuple[str, str],
    overlays: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike, str]] = (),
    indices: Sequence[int] | None = None,
) -> go.Figure:
    """Components on two axes: `means` (K, 2), `covariances` (K, 2, 2) of those axes, `weights` (K);
    `indices`: each one's number in the block (default 0..K-1: all of them, in order).

    Each component is drawn at 1, 2 and 3 standard deviations (solid, dashed, dotted), its lines
    thicker and its mean bigger the larger its weight, labelled with its index and weight.
    Overlays are (name, x, y, colour), drawn under the components.
    """
    if means.ndim != 2 or means.shape[1] != 2 or covariances.shape != (len(means), 2, 2):
        raise ValueError("means must be (K, 2) and covariances (K, 2, 2)")
    if len(weights) != len(means):
        raise ValueError("one weight per component")
    numbers = list(range(len(means))) if indices is None else [int(i) for i in indices]
    fig = go.Figure()
    for name, x, y, color in overlays:
        fig.add_trace(
            go.Scattergl(
                x=x,
                y=y,
                mode="markers",
                name=name,
                marker={"size": 5, "color": color, "opacity": 0.55, "symbol": symbol_for(color)},
            )
        )
    widths = _widths(weights)
    for sigma in SIGMAS:
        dash, opacity = _SIGMA_STYLE[sigma]
        for k in range(len(means)):
            x, y = sigma_ellipse(means[k], covariances[k], sigma)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines",
                    name=f"{sigma} standard deviation{'s' if sigma > 1 else ''}",
                    legendgroup=f"sigma{sigma}",
                    showlegend=k == 0,
                    line={"color": CLUSTER, "width": float(widths[k]), "dash": dash},
                    opacity=opacity,
                    hoverinfo="skip",
                )
            )
    share = np.asarray(weights, np.float64)
    fig.add_trace(
        go.Scatter(
            x=means[:, 0],
            y=means[:, 1],
            mode="markers+text",
            name="component mean (size: weight)",
            marker={"symbol": "x", "size": 6 + 14 * share / share.max(), "color": CLUSTER},
            text=[f"{k}: {w:.0%}" for k, w in zip(numbers, share, strict=True)],
            textposition="top right",
            textfont={"size": 11, "color": CLUSTER},
            hovertext=[f"component {k}<br>weight {w:.3f}" for k, w in zip(numbers, share, strict=True)],
            hoverinfo="text",
        )
    )
    apply_layout(fig, "GMM components: 1, 2 and 3 standard deviations on these two axes", height=560)
    fig.update_xaxes(title=chart_label(axis_titles[0]), zeroline=False)
    fig.update_yaxes(title=chart_label(axis_titles[1]), zeroline=False)
    return fig


def fig_gmm_3d(
    means: npt.NDArray[np.floating],
    covariances: npt.NDArray[np.floating],
    weights: npt.NDArray[np.floating],
    axis_titles: tuple[str, str, str],
    overlays: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, str]] = (),
    indices: Sequence[int] | None = None,
) -> go.Figure:
    """Components on three axes as their 1-standard-deviation ellipsoids (raw axis units);
    `indices` as for `fig_gmm_map`."""
    numbers = list(range(len(means))) if indices is None else [int(i) for i in indices]
    fig = go.Figure()
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 16), np.linspace(0, np.pi, 16))
    sphere = np.stack([np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v)])  # (3, n, n)
    for k in range(len(means)):
        chol = np.linalg.cholesky(np.asarray(covariances[k], np.float64))
        x, y, z = np.einsum("ij,jab->iab", chol, sphere) + np.asarray(means[k], np.float64)[:, None, None]
        fig.add_trace(
            go.Surface(
                x=x,
                y=y,
                z=z,
                opacity=0.18 + 0.3 * float(weights[k] / np.max(weights)),
                showscale=False,
                colorscale=[[0, CLUSTER], [1, CLUSTER]],
                name=f"component {numbers[k]}",
                hovertemplate=f"component {numbers[k]}<br>weight {float(weights[k]):.3f}<extra></extra>",
                showlegend=False,
            )
        )
    return finish_3d(fig, "GMM components in 3-D (1 standard deviation)", axis_titles, overlays)


def fig_gmm_parallel(
    means: npt.NDArray[np.floating], weights: npt.NDArray[np.floating], labels: Sequence[str]
) -> go.Figure:
    """Every axis at once: one line per component mean, coloured by weight."""
    return fig_parallel(means, labels, weights, "weight", "Component means on every axis (raw units)")

"""The fig_* builders: assert on the figure's data, not on pixels.

Traces are read through their attributes (`trace.x`), which give plain arrays; Plotly's
`to_dict()` encodes numpy data as base64 typed arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ei_anomaly import figures
from ei_anomaly.evaluation import on_device_frame, pr_curve, predictions_frame
from ei_anomaly.figures.style import ANOMALY, NORMAL
from ei_anomaly.score_views import HISTOGRAM_BINS, score_histogram


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def numbers(values) -> np.ndarray:
    return np.array([v for v in values if v is not None], float)


def test_cluster_map_draws_one_circle_per_cluster_with_equal_aspect():
    centers = np.array([[0.0, 0.0], [3.0, 4.0]])
    fig = figures.fig_cluster_map(centers, np.array([1.0, 0.5]), ("a", "b"))
    edge = trace(fig, "cluster edge (score 0)")
    xs, ys = numbers(edge.x), numbers(edge.y)
    first, second = slice(0, 48), slice(48, 96)
    assert np.allclose(np.hypot(xs[first], ys[first]), 1.0)
    assert np.allclose(np.hypot(xs[second] - 3, ys[second] - 4), 0.5)
    assert fig.layout.yaxis.scaleanchor == "x"


def test_cluster_map_stretches_circles_into_ellipses_in_original_units():
    fig = figures.fig_cluster_map(np.array([[0.0, 0.0]]), np.array([1.0]), ("a", "b"), stretch=(2.0, 0.5))
    edge = trace(fig, "cluster edge (score 0)")
    xs, ys = numbers(edge.x), numbers(edge.y)
    assert xs.max() == pytest.approx(2.0) and ys.max() == pytest.approx(0.5, abs=1e-3)


def test_cluster_map_draws_one_overlay_point_per_marker_cell_as_svg():
    from ei_anomaly.figures.thin import MAP_CELLS

    rng = np.random.default_rng(0)
    x, y = (rng.normal(size=(2, 50_000)) * 5).round() / 5  # on a lattice: a few thousand cells
    fig = figures.fig_cluster_map(np.zeros((1, 2)), np.array([1.0]), ("a", "b"), [("points", x, y, "#000")])
    drawn = fig.data[0]
    assert drawn.type == "scatter"  # SVG: few enough markers
    assert len(drawn.x) < 5000 < len(x)
    cells = {(int(a), int(b)) for a, b in zip(drawn.x * 1e6, drawn.y * 1e6, strict=True)}
    assert len(cells) == len(drawn.x)  # no point drawn twice
    lo_x, hi_x, lo_y, hi_y = x.min(), x.max(), y.min(), y.max()
    occupied = {
        (
            min(int((a - lo_x) / (hi_x - lo_x) * MAP_CELLS[0]), MAP_CELLS[0] - 1),
            min(int((b - lo_y) / (hi_y - lo_y) * MAP_CELLS[1]), MAP_CELLS[1] - 1),
        )
        for a, b in zip(x, y, strict=True)
    }
    assert len(drawn.x) == len(occupied)  # every occupied cell keeps a point


def test_cluster_map_refuses_mismatched_input():
    with pytest.raises(ValueError, match="match radii"):
        figures.fig_cluster_map(np.zeros((2, 2)), np.zeros(3), ("a", "b"))


def test_confusion_matrix_shows_counts_and_row_percentages():
    heat = figures.fig_confusion_matrix([[30, 10], [5, 15]], ["normal", "anomaly"], "t").data[0]
    assert heat.text[0][0] == 30 and heat.text[1][1] == 15
    assert heat.z[0][0] == pytest.approx(75.0) and heat.z[1][1] == pytest.approx(75.0)
    assert heat.texttemplate == "%{text}<br>%{z:.0f}%"  # markup only in the template: the data stays text
    assert heat.z[1][0] == pytest.approx(25.0)
    with pytest.raises(ValueError, match="2 labels"):
        figures.fig_confusion_matrix([[1, 2, 3]] * 3, ["a", "b"], "t")


def test_score_histogram_colours_bars_above_the_threshold():
    scores = np.r_[np.linspace(-1, 0, 50), np.linspace(1, 2, 10), [np.nan]]
    fig = figures.fig_score_histogram(score_histogram(scores), 0.5)
    normal, anomaly = trace(fig, "normal"), trace(fig, "anomaly")
    assert sum(normal.y) == 50 and sum(anomaly.y) == 10
    assert normal.marker.color == NORMAL and anomaly.marker.color == ANOMALY
    assert all(x > 0.5 for x in anomaly.x)


def test_a_histogram_of_a_million_scores_sends_bins_not_scores():
    scores = np.random.default_rng(0).normal(size=1_000_000).astype(np.float32)
    fig = figures.fig_score_histogram(score_histogram(scores), 0.3)
    assert sum(len(t.x) for t in fig.data) <= HISTOGRAM_BINS
    assert sum(sum(t.y) for t in fig.data) == 1_000_000


def test_timeline_refuses_too_many_points():
    n = figures.MAX_POINTS + 1
    with pytest.raises(ValueError, match="reduce"):
        figures.fig_score_timeline((np.arange(n), np.zeros(n)), (np.arange(0), np.zeros(0)), 0, 0.3, "row")


def test_timeline_marks_anomalies_and_says_when_it_shows_only_some():
    scores = np.array([0.0, 2.0, 0.1, 3.0])
    fig = figures.fig_score_timeline((np.arange(4), scores), (np.array([1, 3]), scores[[1, 3]]), 2, 0.3, "row")
    assert list(trace(fig, "anomaly").x) == [1, 3]
    fig = figures.fig_score_timeline((np.arange(4), scores), (np.array([3]), scores[[3]]), 2, 0.3, "row")
    some = trace(fig, "anomaly")
    assert list(some.x) == [3] and "1 of 2 marked" in some.hovertemplate


def test_pr_curve_marks_the_current_point(demo_model):
    frame = predictions_frame(demo_model.metadata.model_validation_metrics[1])
    curve = pr_curve(frame["anomaly score"].to_numpy(), frame["labelled anomaly"].to_numpy())
    fig = figures.fig_pr_curve(curve, (0.9, 0.8))
    point = trace(fig, "current threshold")
    assert list(point.x) == [0.8] and list(point.y) == [0.9]
    assert len(trace(fig, "all thresholds").x) == len(curve)


def test_on_device_bars_star_the_default_mcu(demo_model):
    frame = on_device_frame(demo_model.metadata)
    view = frame[frame["model type"] == "float32"]
    fig = figures.fig_on_device(view, figures.RAM)
    assert {t.name for t in fig.data} == {"TFLite", "EON", "EON RAM-optimized"}
    starred = [y for y in fig.data[0].y if "★" in y]
    assert starred == ["★ Cortex-M4F 80MHz"]
    raw = view[view["engine"] == "EON"]["RAM (KB)"].to_numpy()
    assert np.allclose(np.asarray(trace(fig, "EON").x, float), raw)
    assert (fig.layout.title.text, fig.layout.xaxis.title.text) == ("RAM per MCU (KB)", "RAM (KB)")
    flash = figures.fig_on_device(view, figures.FLASH)
    assert (flash.layout.title.text, flash.layout.xaxis.title.text) == ("Flash per MCU (KB)", "flash (KB)")
    assert np.allclose(np.asarray(trace(flash, "EON").x, float), view[view["engine"] == "EON"]["ROM (KB)"])


def test_latency_bars_say_which_mcu_was_not_profiled(demo_model):
    frame = on_device_frame(demo_model.metadata)
    fig = figures.fig_latency(frame[frame["model type"] == "int8"])
    assert "not profiled" in fig.data[0].text


def test_scores_by_label_uses_the_anomaly_colour_for_anomalous_labels():
    frame = pd.DataFrame(
        {
            "label": ["idle", "idle", "anomaly"],
            "anomaly score": [-0.1, 0.0, 2.0],
            "labelled anomaly": [False, False, True],
        }
    )
    fig = figures.fig_scores_by_label(frame, 0.3)
    colours = {t.name: t.marker.color for t in fig.data}
    assert colours["anomaly"] == ANOMALY and colours["idle"] != ANOMALY


def test_a_long_tailed_histogram_is_drawn_on_a_log_axis():
    scores = np.r_[np.zeros(100_000), np.linspace(1, 20, 500)]
    assert figures.fig_score_histogram(score_histogram(scores), 0.3).layout.yaxis.type == "log"
    even = np.linspace(0, 1, 1000)
    assert figures.fig_score_histogram(score_histogram(even), 0.3).layout.yaxis.type != "log"


@pytest.mark.parametrize(
    ("plotly_way", "ours"),
    [
        ({"y": 0.3}, {"y": 0.3}),
        ({"x": 0.3}, {"x": 0.3}),
        ({"x": 0.3, "annotation_position": "bottom right"}, {"x": 0.3, "top": False}),
    ],
)
def test_value_lines_draw_what_plotlys_own_lines_draw(plotly_way, ours):
    import plotly.graph_objects as go

    from ei_anomaly.figures.layout import value_line

    line = {"color": "#111827", "dash": "dash"}
    expected = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    axis = "x" if "x" in plotly_way else "y"
    add = expected.add_vline if axis == "x" else expected.add_hline
    add(
        **{axis: plotly_way[axis]}, line=line, annotation_text="t", **{k: v for k, v in plotly_way.items() if k != axis}
    )
    got = value_line(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), line=line, text="t", **ours)
    assert got.layout.shapes == expected.layout.shapes
    assert got.layout.annotations == expected.layout.annotations

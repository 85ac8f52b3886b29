"""Explaining a window: the nearest cluster is the scorer's, and the axes' squared terms rebuild
the score exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ei_anomaly.demo import load_demo_gmm_model
from ei_anomaly.errors import FeatureFileError, UsageError
from ei_anomaly.figures import fig_axis_shares
from ei_anomaly.figures.text import safe_figure
from ei_anomaly.scoring import reference_scores


def test_decomposition_rebuilds_the_score_bit_for_bit(demo_model):
    rng = np.random.default_rng(5)
    rows = demo_model.to_original(rng.normal(0, 1.5, (300, len(demo_model.axes))))
    reference = reference_scores(rows, demo_model.mean, demo_model.scale, demo_model.centers, demo_model.max_errors)
    for i, row in enumerate(rows):
        e = demo_model.explain(row, i)
        assert np.float32(e.score) == reference[i]
        assert np.float32(e.recomputed) == np.float32(e.score)
        assert sum(a.share for a in e.axes) == pytest.approx(1.0)
        # the nearest cluster is the one whose own score is lowest (first on ties), as the SDK keeps it
        per_cluster = [
            reference_scores(row[None], demo_model.mean, demo_model.scale, c[None], m[None])[0]
            for c, m in zip(demo_model.centers, demo_model.max_errors, strict=True)
        ]
        assert e.cluster == int(np.argmin(per_cluster))


def test_the_axis_that_is_off_gets_the_largest_share(demo_model):
    z = demo_model.centers[4].copy()
    z[1] += 5.0  # far off on the second axis only
    e = demo_model.explain(demo_model.to_original(z[None])[0])
    assert e.top.label == demo_model.axis_labels[1] and e.top.share > 0.95
    assert demo_model.axis_labels[1] in e.sentence()
    fig = fig_axis_shares(e)
    assert fig.data[0].y[0] == demo_model.axis_labels[1]


def test_an_unscorable_window_is_a_clear_error(demo_model):
    with pytest.raises(FeatureFileError, match="row 7 has an empty or non-numeric feature"):
        demo_model.explain([np.nan, 1.0, 2.0], 7)


def test_axis_labels_from_outside_stay_text_in_the_chart(demo_model):
    e = demo_model.explain(demo_model.to_original(demo_model.centers[:1] + 1)[0])
    hostile = type(e)(**{**e.__dict__, "axes": [type(a)(**{**a.__dict__, "label": "<a href=x>y</a>"}) for a in e.axes]})
    fig = safe_figure(fig_axis_shares(hostile))
    assert all("<a" not in str(name) for name in fig["data"][0]["y"])


def test_a_gmm_block_is_not_explained_by_a_cluster_but_says_why():
    gmm = load_demo_gmm_model()
    with pytest.raises(UsageError, match="applies to K-means blocks"):
        gmm.explain(np.zeros(len(gmm.axes), np.float32))

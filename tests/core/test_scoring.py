"""The scoring maths: hand-checkable cases and bit-for-bit agreement with the SDK's loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ei_anomaly import load_metadata
from ei_anomaly.scoring import reference_scores
from tests.support.constants import tiny_metadata


def full_vector(model, axis_values):
    """A full feature vector with `axis_values` placed at the block's (unsorted) axes."""
    x = np.zeros(model.n_features_required)
    x[model.axes] = axis_values
    return x


def test_point_on_a_center_scores_minus_max_error(tiny_model):
    for k in range(tiny_model.n_clusters):
        on_center = tiny_model.centers[k] * tiny_model.scale + tiny_model.mean
        score = tiny_model.score(full_vector(tiny_model, on_center)[None, :])[0]
        assert score == pytest.approx(-tiny_model.max_errors[k], abs=1e-6)


def test_distance_is_euclidean_in_scaled_space_minus_max_error(tiny_model):
    # z = (3, 4, 0) sits on cluster 1's center; z = (0, 0, 1.5) is 1.5 from cluster 0.
    x = full_vector(tiny_model, np.array([0.0, 1.0, 2.0]) + np.array([0.0, 0.0, 1.5]) * tiny_model.scale)
    assert tiny_model.score(x[None, :])[0] == pytest.approx(1.5 - 0.5)
    # (0.6, 0.8, 0) is distance 1 from cluster 0 and sqrt(2.4^2 + 3.2^2) = 4 from cluster 1.
    z = np.array([0.6, 0.8, 0.0])
    x = full_vector(tiny_model, z * tiny_model.scale + tiny_model.mean)
    assert tiny_model.score(x[None, :])[0] == pytest.approx(min(1 - 0.5, 4 - 1.0))


def test_unsorted_axes_select_features_in_axis_order():
    model = load_metadata(tiny_metadata())  # axes [2, 0, 1], mean [0, 1, 2], scale [1, 2, 4]
    x = np.array([[1.0, 3.0, 0.0]])  # feature 2 -> z0 = 0, feature 0 -> z1 = 0, feature 1 -> z2 = 0.25
    assert model.score(x)[0] == pytest.approx(0.25 - 0.5)
    swapped = load_metadata(tiny_metadata(axes=[0, 1, 2]))
    assert swapped.score(x)[0] != pytest.approx(0.25 - 0.5)


@pytest.mark.parametrize("method", ["direct", "pruned"])
def test_far_points_cap_at_1000(tiny_model, method):
    x = np.array([[1e6, 0.0, 0.0], [1e30, 1e30, 1e30], [-3e38, 0, 0], [3e38, 3e38, 3e38]])
    scores = tiny_model.score_full(x, method=method).score
    assert scores.dtype == np.float32
    assert np.all(scores == 1000.0)


def test_nearest_cluster_names_the_closest_edge_even_when_capped(tiny_model):
    z_far = np.array([3.0, 4.0, 5000.0])
    x = full_vector(tiny_model, z_far * tiny_model.scale + tiny_model.mean)
    result = tiny_model.score_full(x[None, :])
    assert result.score[0] == 1000.0
    assert result.nearest_cluster[0] == 1


def test_ties_go_to_the_first_cluster_as_in_the_sdk():
    model = load_metadata(tiny_metadata(clusters=[{"center": [1, 1, 1], "maxError": 0.2}] * 3))
    assert model.nearest_cluster(np.zeros((1, 3))).tolist() == [0]


def test_threshold_is_strictly_greater(tiny_model):
    on_center = full_vector(tiny_model, tiny_model.mean)  # score exactly -0.5 in float32
    s = tiny_model.score_full(on_center[None, :])
    assert not s.is_anomaly(float(s.score[0]))[0]
    assert s.is_anomaly(float(s.score[0]) - 1e-3)[0]


@pytest.mark.parametrize("method", ["direct", "pruned"])
def test_rows_with_missing_values_are_unscorable_not_dropped(tiny_model, method):
    x = np.array([[0.0, 1.0, 2.0], [np.nan, 1.0, 2.0], [0.0, np.inf, 2.0], [0.0, 1.0, 2.0]])
    s = tiny_model.score_full(x, method=method)
    assert len(s.score) == 4
    assert s.scorable.tolist() == [True, False, False, True]
    assert np.isnan(s.score[1]) and np.isnan(s.score[2])
    assert s.nearest_cluster[1] == -1
    assert s.unscorable_count == 2
    assert not s.is_anomaly(-100).tolist()[1]


def test_too_narrow_feature_vectors_are_refused(tiny_model):
    with pytest.raises(ValueError, match="needs feature 2"):
        tiny_model.score(np.zeros((2, 2)))


def _random_model(rng, n_axes, n_clusters):
    return {
        "scale": (rng.random(n_axes) * 3 + 0.1).tolist(),
        "mean": rng.normal(size=n_axes).tolist(),
        "axes": rng.permutation(n_axes + 5)[:n_axes].tolist(),
        "clusters": [
            {"center": rng.normal(size=n_axes).tolist(), "maxError": float(rng.random())} for _ in range(n_clusters)
        ],
    }


@pytest.mark.parametrize("method", ["direct", "pruned"])
@pytest.mark.parametrize(("n_axes", "n_clusters", "rows"), [(3, 32, 1031), (7, 5, 700), (40, 50, 300), (1, 3, 50)])
def test_fast_kernels_equal_the_sdk_loop_bit_for_bit(n_axes, n_clusters, rows, method):
    rng = np.random.default_rng(n_axes * 100 + n_clusters)
    model = load_metadata(_random_model(rng, n_axes, n_clusters))
    x = rng.normal(size=(rows, model.n_features_required)) * 2
    # some rows right next to centers, where rounding matters most
    near = model.centers_in_original_units()[rng.integers(0, n_clusters, 50)] + rng.normal(size=(50, n_axes)) * 1e-4
    x[:50, model.axes] = near
    x[50:60] *= 1e4  # and some far away
    fast = model.score_full(x, method=method).score
    slow = reference_scores(x[:, model.axes], model.mean, model.scale, model.centers, model.max_errors)
    assert fast.dtype == np.float32
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("method", ["direct", "pruned"])
def test_demo_session_matches_the_sdk_loop(demo_model, demo_dir, method):
    import pandas as pd

    x = pd.read_csv(demo_dir / "normal_session.csv").iloc[:, 1:].to_numpy()
    fast = demo_model.score_full(x, method=method)
    slow = reference_scores(
        x[:, demo_model.axes], demo_model.mean, demo_model.scale, demo_model.centers, demo_model.max_errors
    )
    np.testing.assert_array_equal(fast.score, slow)


def test_both_strategies_agree_on_nearest_cluster_and_ties():
    rng = np.random.default_rng(5)
    meta = _random_model(rng, 12, 40)
    meta["clusters"][7] = dict(meta["clusters"][3])  # an exact duplicate: cluster 3 must win ties
    model = load_metadata(meta)
    x = rng.normal(size=(5000, model.n_features_required))
    x[:100, model.axes] = model.centers_in_original_units()[3]
    direct = model.score_full(x, method="direct")
    pruned = model.score_full(x, method="pruned")
    np.testing.assert_array_equal(direct.score, pruned.score)
    np.testing.assert_array_equal(direct.nearest_cluster, pruned.nearest_cluster)
    assert 7 not in direct.nearest_cluster


def test_float32_semantics_differ_from_float64():
    # Scaling in float32 loses the small offset that float64 would keep: the SDK's answer is 0 - 0.
    model = load_metadata({"scale": [1.0], "mean": [1e8], "axes": [0], "clusters": [{"center": [0.0], "maxError": 0}]})
    score = model.score(np.array([[1e8 + 3.0]]))[0]
    assert score == 0.0
    assert math.sqrt(((1e8 + 3.0) - 1e8) ** 2) == 3.0


def test_empty_input_gives_empty_scores(tiny_model):
    assert tiny_model.score(np.zeros((0, 3))).shape == (0,)


def test_default_threshold_rules():
    base = tiny_metadata()
    assert load_metadata(base).default_threshold == 0.4
    other = tiny_metadata(thresholds=[{"key": "min_score", "value": "0.25"}, {"key": "x", "value": 9}])
    assert load_metadata(other).default_threshold == 0.25
    text_only = tiny_metadata(thresholds=[{"key": "min_anomaly_score", "value": "auto"}])
    assert load_metadata(text_only).default_threshold == 0.3
    assert load_metadata(tiny_metadata(thresholds=[])).default_threshold == 0.3

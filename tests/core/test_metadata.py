"""Metadata validation: every problem gets a message naming the field."""

from __future__ import annotations

import json

import pytest

from ei_anomaly import MetadataError, load_metadata
from ei_anomaly.metadata import parse_metadata
from tests.support.constants import tiny_metadata


def test_loads_from_dict_text_bytes_and_path(tmp_path):
    meta = tiny_metadata()
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    sources = [
        meta,
        json.dumps(meta),
        json.dumps(meta).encode(),
        b"\xef\xbb\xbf" + json.dumps(meta).encode(),
        path,
        str(path),
    ]
    for source in sources:
        assert load_metadata(source).axes == [2, 0, 1]


def test_demo_metadata_parses_every_section(demo_model):
    meta = demo_model.metadata
    assert meta.created.year == 2026
    assert {m.type for m in meta.model_validation_metrics} == {"int8", "float32"}
    perf = meta.model_validation_metrics[0].on_device_performance
    assert len(perf) >= 5
    assert all(p.eon_ram_optimized is not None for p in perf)
    assert sum(p.is_default for p in perf) == 1
    assert meta.model_validation_metrics[1].predictions[0].anomaly_scores
    assert demo_model.axis_labels == ["accX RMS", "accY RMS", "accZ RMS"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mean": [0, 1]}, "`mean` has 2 values but `axes` has 3"),
        ({"scale": [1, 2, 3, 4]}, "`scale` has 4 values but `axes` has 3"),
        ({"clusters": []}, "`clusters` is empty"),
        ({"clusters": [{"center": [0, 0], "maxError": 1}]}, "`clusters[0].center` has 2 values"),
        ({"scale": [1, 0, 2]}, "`scale[1]` is 0"),
        ({"axes": [0, -1, 2]}, "`axes[1]`"),
        ({"axes": [0, 1.5, 2]}, "`axes[1]`"),
        ({"axes": [0, 0, 2]}, "same feature index twice"),
        ({"axes": []}, "`axes` is empty"),
        ({"clusters": [{"center": [0, 0, 0]}]}, "`clusters[0].maxError`: field is required"),
        ({"mean": "0,1,2"}, "`mean`"),
    ],
)
def test_inconsistent_metadata_is_refused_with_the_field_named(change, message):
    with pytest.raises(MetadataError) as err:
        load_metadata(tiny_metadata(**change))
    assert message in str(err.value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(literal):
    text = json.dumps(tiny_metadata()).replace('"maxError": 0.5', f'"maxError": {literal}')
    with pytest.raises(MetadataError, match=r"clusters\[0\]\.maxError"):
        load_metadata(text)


def test_missing_required_field():
    meta = tiny_metadata()
    del meta["clusters"]
    with pytest.raises(MetadataError, match="`clusters`: field is required"):
        load_metadata(meta)


def test_success_false_carries_the_api_error():
    with pytest.raises(MetadataError, match="No trained model for this block"):
        load_metadata({"success": False, "error": "No trained model for this block"})


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "", "\xff"])
def test_not_json_or_not_an_object(text):
    """Each gets a message about JSON, not a confusing file-not-found."""
    with pytest.raises(MetadataError, match="metadata:") as err:
        load_metadata(text.encode("latin-1") if text == "\xff" else text)
    assert "cannot read" not in str(err.value)


def test_threshold_values_may_be_numbers_or_strings():
    meta = parse_metadata(
        tiny_metadata(
            thresholds=[
                {"key": "min_anomaly_score", "value": "0.35", "suggestedValue": "0.5"},
                {"key": "mode", "value": "auto"},
                {"key": "min_score", "value": 1},
            ]
        )
    )
    assert meta.thresholds[0].value == 0.35 and isinstance(meta.thresholds[0].value, float)
    assert meta.thresholds[0].suggested_value == 0.5
    assert meta.thresholds[1].value == "auto" and meta.thresholds[1].numeric_value is None
    assert meta.thresholds[2].numeric_value == 1.0


def test_unknown_fields_are_tolerated_and_optional_fields_may_be_absent():
    meta = {
        "scale": [1.0],
        "mean": [0.0],
        "axes": [5],
        "clusters": [{"center": [0.0], "maxError": 0.1, "weight": 3}],
        "someNewField": {"x": 1},
    }
    model = load_metadata(meta)
    assert model.metadata.model_validation_metrics == []
    assert model.metadata.thresholds == []
    assert model.n_features_required == 6


def test_missing_file_is_a_metadata_error(tmp_path):
    with pytest.raises(MetadataError, match="cannot read missing.json"):
        load_metadata(tmp_path / "missing.json")

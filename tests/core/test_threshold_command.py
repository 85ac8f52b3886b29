"""`ei-anomaly threshold` (the guaranteed threshold from normal data), `score --reference` (the
p_value column) and the guarantee in the review, run in this process on the demo's files: the
numbers agree with the core, for K-means and GMM blocks alike."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ei_anomaly.blocks import load_block
from ei_anomaly.bounds import Unit, guaranteed_threshold, order_statistic_rank, p_values
from ei_anomaly.demo import ANOMALY_SESSION_CSV, DEMO_DIR, FLEET_LOG_CSV, GMM_DEMO_DIR, NORMAL_SESSION_CSV
from ei_anomaly.report import Review
from ei_anomaly.report.review import normal_windows, score_features_file
from ei_anomaly.review import guarantee_section, validation_normal
from tests.support.cli import run_cli

METADATA = DEMO_DIR / "metadata.json"
BLOCKS = {"kmeans": METADATA, "gmm": GMM_DEMO_DIR}


def normal_scores(block_path) -> np.ndarray:
    """The demo's normal session as the block scores it (float32, scorable rows)."""
    return score_features_file(NORMAL_SESSION_CSV, load_block(block_path)).finite_scores


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_the_command_gives_the_order_statistic_threshold(kind):
    result = run_cli("threshold", BLOCKS[kind], NORMAL_SESSION_CSV, "--fpr", "0.01", "--confidence", "0.95", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    scores = normal_scores(BLOCKS[kind])
    assert {"threshold", "n", "m", "fpr", "confidence", "unit"} <= set(out)
    assert out["n"] == len(scores) == 650 and out["m"] == order_statistic_rank(650, 0.01, 0.95) == 2
    assert out["fpr"] == 0.01 and out["confidence"] == 0.95 and out["unit"] == "every window"
    assert np.float32(out["threshold"]) == np.sort(scores)[::-1][2]  # the 3rd largest, one of the scores
    assert int(np.sum(scores > np.float32(out["threshold"]))) == out["above"] <= 2
    assert out["upper_bound"] <= 0.01 and out["exceed_probability"] <= 0.05
    text = run_cli("threshold", BLOCKS[kind], NORMAL_SESSION_CSV)
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0] == f"threshold {out['threshold_text']}"
    assert np.float32(float(out["threshold_text"])) == np.float32(
        out["threshold"]
    )  # the printed decimal is the float32
    assert lines[1].startswith("n 650; m 2: the 3rd largest")
    assert any(line.startswith("achieved bound: ") for line in lines)
    assert any(line.startswith("unit: every window") for line in lines)


def test_too_few_normal_windows_exit_2_saying_how_many_are_needed():
    result = run_cli("threshold", METADATA, "validation")  # 240 validation windows labelled normal
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.startswith("error: needs at least 299 normal windows")
    assert "these have 240" in result.stderr
    looser = run_cli("threshold", METADATA, "validation", "--fpr", "0.02", "--json")
    assert looser.returncode == 0 and json.loads(looser.stdout)["n"] == 240


def test_the_unit_is_said_and_changes_n():
    stride = json.loads(run_cli("threshold", METADATA, NORMAL_SESSION_CSV, "--stride", "2", "--json").stdout)
    assert stride["n"] == 325 and stride["unit"] == "every 2nd window" and stride["m"] == 0
    per = run_cli("threshold", METADATA, FLEET_LOG_CSV, "--per", "device-hour", "--json")
    assert per.returncode == 0, per.stderr
    found = json.loads(per.stdout)
    frame = pd.read_csv(FLEET_LOG_CSV)
    hours = pd.to_datetime(frame["timestamp"]).dt.floor("h")
    assert found["n"] == frame.groupby([frame["device"], hours]).ngroups
    assert found["unit"] == "one score per device-hour (its highest window)"
    devices = json.loads(run_cli("threshold", METADATA, FLEET_LOG_CSV, "--per", "device", "--fpr", "0.1",
                                 "--confidence", "0.9", "--json").stdout)  # fmt: skip
    assert devices["n"] == 36


def test_rows_whose_label_says_normal(tmp_path):
    frame = pd.read_csv(NORMAL_SESSION_CSV)
    anomalies = pd.read_csv(ANOMALY_SESSION_CSV)
    mixed = pd.concat([frame.assign(label="idle"), anomalies.assign(label="anomaly")], ignore_index=True)
    path = tmp_path / "mixed.csv"
    mixed.to_csv(path, index=False)
    labelled = json.loads(run_cli("threshold", METADATA, path, "--label", "label", "--json").stdout)
    whole = json.loads(run_cli("threshold", METADATA, NORMAL_SESSION_CSV, "--json").stdout)
    assert labelled["n"] == 650 and labelled["threshold"] == whole["threshold"]
    assert "whose label is idle" in labelled["origin"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fpr", "1.5"], "--fpr must be above 0 and below 1"),
        (["--confidence", "0"], "--confidence must be above 0 and below 1"),
        (["--stride", "0"], "must be 1 or more"),
        (["--stride", "2", "--per", "device"], "not allowed with argument"),
        (["--per", "nope"], "no column 'nope'"),
        (["--label", "nope"], "no label column 'nope'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args, says):
    result = run_cli("threshold", METADATA, FLEET_LOG_CSV, *args)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.startswith("error: ") and says in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("kind", sorted(BLOCKS))
def test_score_with_a_reference_writes_p_values(kind, tmp_path):
    out = tmp_path / "scored.parquet"
    result = run_cli("score", BLOCKS[kind], ANOMALY_SESSION_CSV, "-o", out, "--reference", NORMAL_SESSION_CSV)
    assert result.returncode == 0, result.stderr
    assert "p_value: among 650 scored windows of normal_session.csv" in result.stderr
    table = pq.read_table(out)
    assert table.column_names[-4:] == ["anomaly_score", "nearest_cluster", "is_anomaly", "p_value"]
    scores = table.column("anomaly_score").to_numpy(zero_copy_only=False)
    p = table.column("p_value").to_numpy(zero_copy_only=False)
    expected = p_values(scores, normal_scores(BLOCKS[kind]))
    assert np.array_equal(np.isnan(p), np.isnan(scores)) and np.allclose(p, expected, equal_nan=True)
    assert np.nanmin(p) >= 1 / 651 and np.nanmax(p) <= 1
    again = tmp_path / "again.csv"  # re-scoring a scored file replaces its p_value, as its other results
    assert run_cli("score", BLOCKS[kind], out, "-o", again, "--reference", "validation").returncode == 0
    header = again.read_text().splitlines()[0]
    assert header.count("p_value") == 1 and "p_value_1" not in header


def test_the_review_the_command_and_the_core_agree(tmp_path):
    review = Review(METADATA, 0.5, normal=NORMAL_SESSION_CSV, unit=Unit(stride=1))
    shown = review.to_dict()["guarantee"]
    command = json.loads(run_cli("threshold", METADATA, NORMAL_SESSION_CSV, "--threshold", "0.5", "--json").stdout)
    for key in ("threshold", "n", "m", "needed", "above", "upper_bound", "exceed_probability", "unit", "at_threshold"):
        assert shown[key] == command[key], key
    core = guaranteed_threshold(normal_scores(METADATA), 0.01, 0.95)
    assert shown["threshold"] == core.threshold and shown["m"] == core.m
    assert shown["at_threshold"]["above"] == 0 and shown["at_threshold"]["n"] == 650
    report = tmp_path / "review.json"
    argv = ["report", METADATA, "-o", report, "--format", "json", "--normal", NORMAL_SESSION_CSV, "--threshold", "0.5"]
    assert run_cli(*argv).returncode == 0
    assert json.loads(report.read_text())["guarantee"] == shown


def test_the_default_guarantee_is_from_the_validation_windows_labelled_normal():
    block = load_block(METADATA)
    normal = validation_normal(block.metadata)
    assert normal is not None and normal.windows == 240 and normal.groupings == ["sample"]
    section = guarantee_section(normal, 0.3)
    assert not section.found.qualifies and section.too_few is not None and "299" in section.too_few
    assert section.current_text.startswith("At 0.3: 0 of 240 normal windows above; false-alarm rate <= 1.24%")
    assert Review(METADATA).to_dict()["guarantee"]["n"] == 240
    per_sample = guarantee_section(normal, 0.3, unit=Unit(per="sample"))
    assert per_sample.n == 240  # one window per sample in the demo
    with pytest.raises(Exception, match="no grouping 'device'"):
        guarantee_section(normal, 0.3, unit=Unit(per="device"))


def test_normal_windows_of_a_file_offer_its_groupings():
    block = load_block(METADATA)
    fleet = normal_windows(FLEET_LOG_CSV, block)
    assert set(fleet.groupings) == {"device", "hour", "device-hour"}
    session = normal_windows(NORMAL_SESSION_CSV, block)
    assert session.groupings == ["hour"] and session.windows == 650

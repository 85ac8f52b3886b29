"""Studio's model-testing results (`GET /api/{projectId}/classify/all/result`) as labelled windows.

The answer (official model `ClassifyJobResponse`) holds, per test sample, one classification per
learn block; for a K-means block `result[i]["anomaly"]` is window i's score and
`expectedAnomalyOutcome[i].label` its expected outcome ("anomaly" / "no anomaly"). Windows that
lack either are counted, never silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["HOW_TO_RUN_MODEL_TESTING", "NoTestResults", "TestWindows", "block_test_windows"]

COLUMNS = ["sample id", "sample", "label", "window", "anomaly score", "expected anomaly"]
HOW_TO_RUN_MODEL_TESTING = (
    "In Studio, open **Model testing** and click **Classify all**; the results then show here "
    "(use *Refresh from Edge Impulse* in the sidebar if they were fetched in the last few minutes)."
)
_INVALIDATED = {
    "can_regenerate_model_summary": (
        "In Studio, open **Model testing** and regenerate the summary (or click **Classify all**)."
    ),
    "should_rerun_full_job": "In Studio, open **Model testing** and click **Classify all** to run it again.",
}
_OUTCOMES = {"anomaly": True, "no anomaly": False}


@dataclass(frozen=True)
class NoTestResults:
    """Why there are no usable model-testing windows for the block, and what to do about it."""

    reason: str
    how_to: str = HOW_TO_RUN_MODEL_TESTING


@dataclass(frozen=True)
class TestWindows:
    """One learn block's test windows: a row each, in the columns of `COLUMNS`."""

    __test__ = False  # not a pytest class

    frame: pd.DataFrame
    n_samples: int
    unlabelled: int = 0  # windows with a score but no expected outcome we can read
    unscored: int = 0  # windows without an anomaly score

    @property
    def scores(self) -> npt.NDArray[np.float64]:
        return self.frame["anomaly score"].to_numpy(np.float64)

    @property
    def truth(self) -> npt.NDArray[np.bool_]:
        return self.frame["expected anomaly"].to_numpy(bool)


def _score(window: Any) -> float | None:
    value = window.get("anomaly") if isinstance(window, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _outcomes(classification: dict[str, Any], n: int) -> list[bool | None]:
    """Expected outcome per window; None where it is missing or not one of the two values.

    The API sends one entry per window; a list of another length cannot be matched to the
    windows, so all of them count as unlabelled.
    """
    raw = classification.get("expectedAnomalyOutcome")
    if not isinstance(raw, list) or len(raw) != n:
        return [None] * n
    out: list[bool | None] = []
    for entry in raw:
        label = entry.get("label") if isinstance(entry, dict) else entry
        out.append(_OUTCOMES.get(str(label).strip().lower()) if isinstance(label, str) else None)
    return out


def _labels(classification: dict[str, Any], n: int, fallback: str) -> list[str]:
    raw = classification.get("expectedLabels")
    if isinstance(raw, list) and len(raw) == n:
        return [str(e.get("label", fallback)) if isinstance(e, dict) else fallback for e in raw]
    return [fallback] * n


def _for_block(item: dict[str, Any], learn_id: int) -> dict[str, Any] | None:
    for c in item.get("classifications") or []:
        if isinstance(c, dict):
            block = c.get("learnBlock")
            if isinstance(block, dict) and block.get("id") == learn_id:
                return c
    return None


def block_test_windows(response: dict[str, Any], learn_id: int) -> TestWindows | NoTestResults:
    """Labelled windows of one learn block from a `classify/all/result` answer."""
    invalidated = response.get("noResultsBecauseThresholdsChanged")
    if invalidated:
        return NoTestResults(
            "Studio's model-testing results were cleared because a threshold changed.",
            _INVALIDATED.get(str(invalidated), HOW_TO_RUN_MODEL_TESTING),
        )
    results = [r for r in response.get("result") or [] if isinstance(r, dict)]
    if not results:
        return NoTestResults("This project has no model-testing results yet.")
    rows: list[tuple[Any, ...]] = []
    samples = unlabelled = unscored = 0
    for item in results:
        classification = _for_block(item, learn_id)
        if classification is None:
            continue
        samples += 1
        found_windows, found_sample = classification.get("result"), item.get("sample")
        windows: list[Any] = found_windows if isinstance(found_windows, list) else []
        sample: dict[str, Any] = found_sample if isinstance(found_sample, dict) else {}
        sample_id = item.get("sampleId", sample.get("id"))
        name = str(sample.get("filename") or sample.get("name") or f"sample {sample_id}")
        outcomes = _outcomes(classification, len(windows))
        labels = _labels(classification, len(windows), str(sample.get("label", "")))
        for i, window in enumerate(windows):
            score = _score(window)
            if score is None:
                unscored += 1
            elif outcomes[i] is None:
                unlabelled += 1
            else:
                rows.append((sample_id, name, labels[i], i, score, outcomes[i]))
    if samples == 0:
        return NoTestResults(
            f"The model-testing results hold nothing for learn block #{learn_id}: the block was probably "
            "added or retrained after the last test run.",
        )
    if not rows:
        return NoTestResults(
            f"The model-testing results for learn block #{learn_id} have no window with both an anomaly score "
            f"and an expected outcome ({unscored} without a score, {unlabelled} without an outcome). Mark which "
            "labels are anomalous in Studio's project settings, then run model testing again.",
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["anomaly score"] = frame["anomaly score"].astype(np.float64)
    frame["expected anomaly"] = frame["expected anomaly"].astype(bool)
    return TestWindows(frame, samples, unlabelled, unscored)

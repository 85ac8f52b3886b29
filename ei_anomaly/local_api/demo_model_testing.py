"""The demo project's model-testing results, as Studio's `classify/all/result` answers them.

Scores come from the project's own SDK-exact scorer on the demo's test samples
(`demo.demo_test_samples`); the local API builds the answer from them with the block's
current thresholds, so a threshold written with set-thresholds shows in the next answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..blocks import AnomalyBlock
from ..demo import DemoTestSample
from ..rules import ANOMALY_THRESHOLD_KEY, STUDIO_DEFAULT_THRESHOLD, is_anomaly

WINDOW_MS, INCREASE_MS, HZ = 2000, 80, 62.5
CREATED = "2026-11-21T09:00:00.000Z"
_LABELS = ("anomaly", "no anomaly")


@dataclass(frozen=True)
class ScoredTestSample:
    sample: DemoTestSample
    scores: npt.NDArray[np.float32]  # one per window


def score_test_samples(samples: list[DemoTestSample], model: AnomalyBlock) -> list[ScoredTestSample]:
    return [ScoredTestSample(s, np.asarray(model.score(s.features), np.float32)) for s in samples]


def _sample_json(s: DemoTestSample, project_id: int) -> dict[str, Any]:
    n = len(s.features)
    length_ms = WINDOW_MS + (n - 1) * INCREASE_MS
    values = int(length_ms * HZ / 1000)
    sensors = [{"index": i, "name": name, "units": "m/s2"} for i, name in enumerate(("accX", "accY", "accZ"))]
    return {
        "id": s.id,
        "filename": s.filename,
        "signatureValidate": False,
        "created": CREATED,
        "lastModified": CREATED,
        "category": "testing",
        "coldstorageFilename": f"testing/{s.filename}.cbor",
        "label": s.label,
        "intervalMs": 1000 / HZ,
        "frequency": HZ,
        "originalIntervalMs": 1000 / HZ,
        "originalFrequency": HZ,
        "deviceType": "ACCELEROMETER",
        "sensors": sensors,
        "valuesCount": values,
        "totalLengthMs": float(length_ms),
        "added": CREATED,
        "boundingBoxes": [],
        "boundingBoxesType": "object_detection",
        "chartType": "chart",
        "isDisabled": False,
        "isProcessing": False,
        "processingError": False,
        "isCropped": False,
        "projectId": project_id,
        "sha256Hash": hashlib.sha256(s.filename.encode()).hexdigest(),
        "datastreams": [
            {
                "index": 0,
                "chartType": "chart",
                "intervalMs": 1000 / HZ,
                "frequencyHz": HZ,
                "sensors": sensors,
                "valuesCount": values,
                "totalLengthMs": float(length_ms),
            }
        ],
    }


def _per_window(label: str, n: int) -> list[dict[str, Any]]:
    """StructuredLabel per window; start/end index the raw values the window covers."""
    step, size = int(INCREASE_MS * HZ / 1000), int(WINDOW_MS * HZ / 1000)
    return [{"startIndex": i * step, "endIndex": i * step + size - 1, "label": label} for i in range(n)]


def classify_all_result(
    scored: list[ScoredTestSample],
    impulse: dict[str, Any],
    learn_id: int,
    thresholds: list[dict[str, Any]],
    project_id: int,
    other_anomaly_blocks: list[tuple[int, list[ScoredTestSample], list[dict[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """`ClassifyJobResponse` for the anomaly block `learn_id` (plus the impulse's classifier, if any,
    and one classification per sample for each of `other_anomaly_blocks`: (learnId, the same
    samples scored by that block, its thresholds)). The summary counts are `learn_id`'s."""
    blocks = {b["id"]: b for b in impulse["learnBlocks"]}
    anomaly_block = blocks[learn_id]
    classifier = next((b for b in impulse["learnBlocks"] if b["type"] == "keras"), None)
    value = next((t["value"] for t in thresholds if t["key"] == ANOMALY_THRESHOLD_KEY), STUDIO_DEFAULT_THRESHOLD)
    threshold = float(value)
    classes = sorted({s.sample.label for s in scored if not s.sample.expected_anomaly})
    result, predictions = [], []
    confusion = {a: dict.fromkeys(_LABELS, 0) for a in _LABELS}
    for s in scored:
        n = len(s.scores)
        expected = "anomaly" if s.sample.expected_anomaly else "no anomaly"
        flagged = is_anomaly(s.scores, threshold)
        common = {
            "expectedLabels": _per_window(s.sample.label, n),
            "expectedAnomalyOutcome": _per_window(expected, n),
            "intervalMs": 1000 / HZ,
            "frequencyHz": HZ,
            "resultCount": n,
        }
        classifications = [
            {
                "learnBlock": anomaly_block,
                "result": [{"anomaly": float(v)} for v in s.scores],
                "minimumConfidenceRating": float(value) if isinstance(value, (int, float)) else 0.3,
                "thresholds": thresholds,
                **common,
            }
        ]
        for other_id, other_scored, other_thresholds in other_anomaly_blocks or []:
            other = next(o for o in other_scored if o.sample.id == s.sample.id)
            other_value = next(
                (t["value"] for t in other_thresholds if t["key"] == ANOMALY_THRESHOLD_KEY), STUDIO_DEFAULT_THRESHOLD
            )
            classifications.append(
                {
                    "learnBlock": blocks[other_id],
                    "result": [{"anomaly": float(v)} for v in other.scores],
                    "minimumConfidenceRating": float(other_value) if isinstance(other_value, (int, float)) else 0.3,
                    "thresholds": other_thresholds,
                    **common,
                }
            )
        if classifier is not None:
            probs = {
                c: (1.0 if c == s.sample.label else 0.0) if not s.sample.expected_anomaly else 1 / len(classes)
                for c in classes
            }
            classifications.append(
                {
                    "learnBlock": classifier,
                    "result": [dict(probs) for _ in range(n)],
                    "minimumConfidenceRating": 0.6,
                    "thresholds": [],
                    **common,
                }
            )
        result.append(
            {"sampleId": s.sample.id, "sample": _sample_json(s.sample, project_id), "classifications": classifications}
        )
        for i in range(n):
            predicted = "anomaly" if flagged[i] else "no anomaly"
            confusion[expected][predicted] += 1
            predictions.append(
                {
                    "sampleId": s.sample.id,
                    "startMs": float(i * INCREASE_MS),
                    "endMs": float(i * INCREASE_MS + WINDOW_MS),
                    "label": s.sample.label,
                    "prediction": predicted,
                    "predictionCorrect": predicted == expected,
                    "expectedAnomalyOutcome": expected,
                }
            )
    good = {a: confusion[a][a] for a in _LABELS}
    total = {a: sum(confusion[a].values()) for a in _LABELS}
    all_good = sum(good.values())
    all_windows = sum(total.values())
    return {
        "success": True,
        "result": result,
        "predictions": predictions,
        "accuracy": {
            "totalSummary": {"good": all_good, "bad": all_windows - all_good},
            "summaryPerClass": {a: {"good": good[a], "bad": total[a] - good[a]} for a in _LABELS},
            "confusionMatrixValues": {a: {b: float(confusion[a][b]) for b in _LABELS} for a in _LABELS},
            "allLabels": list(_LABELS),
            "accuracyScore": all_good / all_windows if all_windows else 0.0,
            "anomalyAccuracyScore": good["anomaly"] / total["anomaly"] if total["anomaly"] else 0.0,
            "noAnomalyAccuracyScore": good["no anomaly"] / total["no anomaly"] if total["no anomaly"] else 0.0,
        },
        "additionalMetricsByLearnBlock": [],
        "availableVariants": ["float32"],
    }


def no_results(reason: str | None = None) -> dict[str, Any]:
    """The answer when there are no results (optionally because thresholds changed)."""
    body: dict[str, Any] = {
        "success": True,
        "result": [],
        "predictions": [],
        "accuracy": {
            "totalSummary": {"good": 0, "bad": 0},
            "summaryPerClass": {},
            "confusionMatrixValues": {},
            "allLabels": [],
        },
        "additionalMetricsByLearnBlock": [],
        "availableVariants": [],
    }
    if reason:
        body["noResultsBecauseThresholdsChanged"] = reason
    return body

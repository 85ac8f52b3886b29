"""The SDK's `ei_classifier_smooth_init` / `ei_classifier_smooth_update`, restated line by line in
Python (the project's own restatement of its semantics, for the tests), plus alarm counting as a
user counts alarms. Slow on purpose: one window at a time, exactly as the device steps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

UNCERTAIN, ANOMALY = -1, -2


class SdkSmooth:
    """One device's smoothing state."""

    def __init__(
        self,
        n_readings: int,
        min_readings_same: int,
        labels: Sequence[str],
        classifier_confidence: float = 0.8,
        anomaly_confidence: float = 0.3,
    ) -> None:
        self.last_readings = [UNCERTAIN] * n_readings  # every reading starts uncertain
        self.min_readings_same = min_readings_same & 0xFF  # uint8_t
        self.classifier_confidence = np.float32(classifier_confidence)
        self.anomaly_confidence = np.float32(anomaly_confidence)
        self.labels = list(labels)

    def update(self, classification: Sequence[float], anomaly: float) -> str:
        label_count = len(self.labels)
        count = [0] * (label_count + 2)  # uint8_t, cleared
        self.last_readings = self.last_readings[1:] + self.last_readings[:1]  # roll by -1
        reading = UNCERTAIN
        for ix in range(label_count):
            if np.float32(classification[ix]) >= self.classifier_confidence:
                reading = ix  # the last class at or above the confidence wins
        if np.float32(anomaly) >= self.anomaly_confidence:  # NaN compares false
            reading = ANOMALY
        self.last_readings[-1] = reading
        for r in self.last_readings:
            if r >= 0:
                count[r] = (count[r] + 1) & 0xFF
            elif r == UNCERTAIN:
                count[label_count] = (count[label_count] + 1) & 0xFF
            elif r == ANOMALY:
                count[label_count + 1] = (count[label_count + 1] + 1) & 0xFF
        top_result, top_count = 0, 0
        met = False
        for ix in range(label_count + 2):
            if count[ix] > top_count:
                top_result, top_count = ix, count[ix]
            if count[ix] >= self.min_readings_same:
                met = True
        if met:
            if top_result == label_count:
                return "uncertain"
            if top_result == label_count + 1:
                return "anomaly"
            return self.labels[top_result]
        return "uncertain"


def reference_device(
    scores: Sequence[float],
    times: Sequence[float],
    n: int | None,
    k: int | None,
    threshold: float,
    cooldown: float = 0.0,
    classes: Sequence[int] | None = None,
    n_labels: int = 0,
) -> tuple[list[bool], list[bool]]:
    """(answer is anomaly, alarm raised) per window of one device, already in time order.

    n None: no smoothing, a window is anomalous when score > threshold (Studio's rule)."""
    labels = [f"class {i}" for i in range(n_labels)]
    smooth = SdkSmooth(n, k, labels, 0.8, threshold) if n is not None and k is not None else None
    answers, alarms = [], []
    before = False
    last_alarm: float | None = None
    for i, score in enumerate(scores):
        if smooth is None:
            now = bool(np.float32(score) > np.float32(threshold))
        else:
            conf = [0.0] * n_labels
            if classes is not None and classes[i] >= 0:
                conf[classes[i]] = 0.95
            now = smooth.update(conf, float(np.float32(score)) if not np.isnan(score) else float("nan")) == "anomaly"
        turned = now and not before
        raised = turned and (cooldown <= 0 or last_alarm is None or times[i] - last_alarm >= cooldown)
        if raised:
            last_alarm = times[i]
        answers.append(now)
        alarms.append(raised)
        before = now
    return answers, alarms

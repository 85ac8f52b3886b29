"""Tables and metrics the dashboard shows, computed from metadata and scores (no UI here)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import AnomalyLensError
from .metadata import AnomalyMetadata, ValidationMetrics
from .rules import count_anomalies, is_anomaly

ENGINES = {"tflite": "TFLite", "eon": "EON", "eon_ram_optimized": "EON RAM-optimized"}
_REPORT_SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg", "samples avg"}


def is_anomaly_label(label: str | None) -> bool:
    """Edge Impulse labels anomalous test samples `anomaly`; every other label is normal data."""
    return bool(label) and str(label).strip().lower().startswith("anomal")


def confusion_labels(metrics: ValidationMetrics) -> list[str]:
    """Class names for the confusion matrix rows: from the report, else from predictions."""
    n = len(metrics.confusion_matrix)
    from_report = [k for k in metrics.report if k not in _REPORT_SUMMARY_KEYS and isinstance(metrics.report[k], dict)]
    if len(from_report) == n:
        return from_report
    seen = []
    for p in metrics.predictions:
        for name in (p.label, p.prediction):
            if name and name not in seen:
                seen.append(name)
    if len(seen) == n:
        return seen
    return [f"class {i}" for i in range(n)]


def predictions_frame(metrics: ValidationMetrics) -> pd.DataFrame:
    """One row per validation window, with its anomaly score and whether its label is anomalous."""
    rows = []
    for p in metrics.predictions:
        score = p.anomaly_scores[0][0] if p.anomaly_scores and p.anomaly_scores[0] else np.nan
        rows.append(
            {
                "sample": p.sample_id,
                "start (ms)": p.start_ms,
                "end (ms)": p.end_ms,
                "label": p.label or "",
                "prediction": p.prediction or "",
                "correct": p.prediction_correct,
                "anomaly score": score,
                "labelled anomaly": is_anomaly_label(p.label),
            }
        )
    columns = [
        "sample",
        "start (ms)",
        "end (ms)",
        "label",
        "prediction",
        "correct",
        "anomaly score",
        "labelled anomaly",
    ]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    return frame


@dataclass(frozen=True)
class BinaryCounts:
    """Normal-vs-anomaly outcome at one threshold (positives are anomalies)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else float("nan")

    @property
    def matrix(self) -> list[list[int]]:
        """Rows: actual normal, actual anomaly. Columns: predicted normal, predicted anomaly."""
        return [[self.tn, self.fp], [self.fn, self.tp]]


def count_flagged(scores: npt.ArrayLike, threshold: float) -> int:
    """How many scores are anomalies at this threshold (score > threshold, in float32 as the SDK)."""
    return count_anomalies(scores, threshold)


def binary_counts(scores: npt.ArrayLike, truth: npt.ArrayLike, threshold: float) -> BinaryCounts:
    flagged = is_anomaly(scores, threshold)
    truth = np.asarray(truth, bool)
    return BinaryCounts(
        tp=int(np.sum(flagged & truth)),
        fp=int(np.sum(flagged & ~truth)),
        fn=int(np.sum(~flagged & truth)),
        tn=int(np.sum(~flagged & ~truth)),
    )


def pr_curve(scores: npt.ArrayLike, truth: npt.ArrayLike) -> pd.DataFrame:
    """Precision and recall at every distinct threshold (anomaly when score > threshold)."""
    scores = np.asarray(scores, np.float64)
    truth = np.asarray(truth, bool)
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], truth[order]
    distinct = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(t)[distinct]
    flagged = distinct + 1
    total = max(int(t.sum()), 1)
    # flagging every score >= s[i] is the same as score > the next lower distinct score
    below = np.r_[s[distinct][1:], s[-1] - 1.0]
    frame: pd.DataFrame = pd.DataFrame({"threshold": below, "precision": tp / flagged, "recall": tp / total})
    return frame


def on_device_frame(meta: AnomalyMetadata) -> pd.DataFrame:
    """Long table: one row per model type x MCU x engine, in ms and KB."""
    rows = []
    for metrics in meta.model_validation_metrics:
        for perf in metrics.on_device_performance:
            for key, engine in ENGINES.items():
                mem = getattr(perf, key)
                rows.append(
                    {
                        "model type": metrics.type,
                        "mcu": perf.mcu,
                        "device": perf.name,
                        "default": perf.is_default,
                        "engine": engine,
                        "latency (ms)": perf.latency if perf.has_performance else np.nan,
                        "RAM (KB)": mem.ram_required / 1024 if mem and mem.ram_required is not None else np.nan,
                        "ROM (KB)": mem.rom_required / 1024 if mem and mem.rom_required is not None else np.nan,
                        "profiling error": perf.profiling_error or "",
                    }
                )
    columns = [
        "model type",
        "mcu",
        "device",
        "default",
        "engine",
        "latency (ms)",
        "RAM (KB)",
        "ROM (KB)",
        "profiling error",
    ]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    return frame


def fits_budget(frame: pd.DataFrame, ram_kb: float, rom_kb: float) -> pd.Series:
    """True where the combination is profiled and needs no more RAM and flash than given."""
    return (frame["RAM (KB)"] <= ram_kb) & (frame["ROM (KB)"] <= rom_kb) & (frame["profiling error"] == "")


def downsample_keep_flagged(flags: npt.ArrayLike, max_points: int, seed: int = 0) -> npt.NDArray[np.intp]:
    """Sorted row indices: every flagged row, plus a seeded sample of the rest, max_points in all.

    If there are more flagged rows than max_points, a seeded sample of them.
    """
    flags = np.asarray(flags, bool)
    if len(flags) <= max_points:
        return np.arange(len(flags))
    rng = np.random.default_rng(seed)
    flagged = np.flatnonzero(flags)
    if len(flagged) >= max_points:
        return np.sort(rng.choice(flagged, max_points, replace=False))
    rest = np.flatnonzero(~flags)
    keep = rng.choice(rest, max_points - len(flagged), replace=False)
    return np.sort(np.concatenate([flagged, keep]))


def threshold_exports(block_id: int | None, key: str, value: float) -> dict[str, str]:
    """The tuned threshold as the set-thresholds API body and as a Linux runner override: the
    runner's arguments quoted for a POSIX shell (the key comes from the metadata, and the command
    is offered for copying into a terminal)."""
    import json
    import shlex

    block = block_id if block_id is not None else "<learnId>"
    body = {"thresholds": [{"blockId": block, "key": key, "value": round(float(value), 6)}]}
    return {
        "json": json.dumps(body, indent=2),
        "runner": shlex.join(["--thresholds", f"{block}.{key}={round(float(value), 6):g}"]),
    }


# --- Choosing a threshold on labelled windows ------------------------------------------------
# Every candidate is a float32 score value (plus one just below the lowest score, which flags
# everything), so the SDK's strict `score > threshold` in float32 gives exactly the promised counts.


@dataclass(frozen=True)
class ThresholdChoice:
    """A suggested threshold, its outcome on the labelled windows, and whether the target was met."""

    threshold: float
    counts: BinaryCounts
    met: bool = True


def shortest_float32(value: float) -> float:
    """The shortest decimal that is the same float32 as `value` (0.7400000095367432 -> 0.74)."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="-"))


def _sweep(
    scores: npt.ArrayLike, truth: npt.ArrayLike
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Candidate thresholds (float32, ascending) and the true/false alarms each gives.

    Unscorable (NaN) windows are never flagged, as in `binary_counts`.
    """
    s = np.asarray(scores, np.float32)
    truth = np.asarray(truth, bool)
    if s.shape != truth.shape:
        raise ValueError(f"{len(s)} scores but {len(truth)} labels")
    finite = np.isfinite(s)
    if not finite.any():
        raise AnomalyLensError("no scored windows to choose a threshold from")
    uniq = np.unique(s[finite])
    below = np.nextafter(uniq[0], np.float32(-np.inf), dtype=np.float32)
    candidates = np.concatenate([[below], uniq]).astype(np.float32)
    pos = np.sort(s[finite & truth])
    neg = np.sort(s[finite & ~truth])
    tp = len(pos) - np.searchsorted(pos, candidates, side="right")
    fp = len(neg) - np.searchsorted(neg, candidates, side="right")
    return candidates, tp, fp


def _choice(scores: npt.ArrayLike, truth: npt.ArrayLike, threshold: np.float32, met: bool = True) -> ThresholdChoice:
    return ThresholdChoice(float(threshold), binary_counts(scores, truth, float(threshold)), met)


def threshold_for_false_alarm_rate(scores: npt.ArrayLike, truth: npt.ArrayLike, max_rate: float) -> ThresholdChoice:
    """The smallest threshold whose false alarms are at most `max_rate` of the normal windows.

    Smallest, so recall is as high as that false-alarm budget allows. Always reachable: the
    highest score flags nothing.
    """
    if not (math.isfinite(max_rate) and 0 <= max_rate <= 1):
        raise AnomalyLensError("the false-alarm rate must be between 0 and 1")
    n_normal = int(np.count_nonzero(~np.asarray(truth, bool)))
    if n_normal == 0:
        raise AnomalyLensError("no windows labelled normal: a false-alarm rate needs some")
    candidates, _, fp = _sweep(scores, truth)
    allowed = math.floor(max_rate * n_normal + 1e-9)  # 0.29 * 100 is 28.999999999999996
    i = int(np.argmax(fp <= allowed))  # fp never increases with the threshold
    return _choice(scores, truth, candidates[i])


def threshold_for_recall(scores: npt.ArrayLike, truth: npt.ArrayLike, min_recall: float) -> ThresholdChoice:
    """The largest threshold (fewest false alarms) that still flags `min_recall` of the anomalies.

    When no threshold reaches it (unscorable anomalies are never flagged), the best recall there
    is, with `met=False`.
    """
    if not (math.isfinite(min_recall) and 0 < min_recall <= 1):
        raise AnomalyLensError("the recall target must be above 0 and at most 1")
    n_anomaly = int(np.count_nonzero(np.asarray(truth, bool)))
    if n_anomaly == 0:
        raise AnomalyLensError("no windows labelled anomaly: recall needs some")
    candidates, tp, _ = _sweep(scores, truth)
    needed = math.ceil(min_recall * n_anomaly - 1e-9)
    ok = np.flatnonzero(tp >= needed)
    if len(ok):
        return _choice(scores, truth, candidates[ok[-1]])
    best = np.flatnonzero(tp == tp.max())[-1]
    return _choice(scores, truth, candidates[best], met=False)


def threshold_for_cost(
    scores: npt.ArrayLike, truth: npt.ArrayLike, miss_cost: float, false_alarm_cost: float
) -> ThresholdChoice:
    """The threshold with the lowest total cost `misses * miss_cost + false alarms * false_alarm_cost`.

    On a tie, the largest such threshold (fewest alarms).
    """
    for name, cost in (("missed anomaly", miss_cost), ("false alarm", false_alarm_cost)):
        if not (math.isfinite(cost) and cost >= 0):
            raise AnomalyLensError(f"the cost of a {name} must be a number of 0 or more")
    if miss_cost == 0 and false_alarm_cost == 0:
        raise AnomalyLensError("at least one cost must be above 0")
    candidates, tp, fp = _sweep(scores, truth)
    n_anomaly = int(np.count_nonzero(np.asarray(truth, bool) & np.isfinite(np.asarray(scores, np.float32))))
    costs = (n_anomaly - tp) * float(miss_cost) + fp * float(false_alarm_cost)
    best = np.flatnonzero(costs == costs.min())[-1]
    return _choice(scores, truth, candidates[best])


def total_cost(counts: BinaryCounts, miss_cost: float, false_alarm_cost: float) -> float:
    return counts.fn * miss_cost + counts.fp * false_alarm_cost


def errors_per_sample(frame: pd.DataFrame, threshold: float, top: int = 20) -> pd.DataFrame:
    """Test samples with the most missed anomalies and false alarms at this threshold.

    `frame` has one row per window: `sample id`, `sample`, `label`, `anomaly score`,
    `expected anomaly`. Samples without an error are left out; worst first.
    """
    flagged = is_anomaly(frame["anomaly score"].to_numpy(np.float32), threshold)
    truth = frame["expected anomaly"].to_numpy(bool)
    work: pd.DataFrame = pd.DataFrame(
        {
            "sample id": frame["sample id"].to_numpy(),
            "sample": frame["sample"].to_numpy(),
            "label": frame["label"].to_numpy(),
            "windows": 1,
            "missed anomalies": truth & ~flagged,
            "false alarms": ~truth & flagged,
            "highest score": frame["anomaly score"].to_numpy(np.float64),
        }
    )
    per: pd.DataFrame = work.groupby(["sample id", "sample", "label"], sort=False).agg(
        {"windows": "sum", "missed anomalies": "sum", "false alarms": "sum", "highest score": "max"}
    )
    per = per.reset_index()
    per["errors"] = per["missed anomalies"] + per["false alarms"]
    per = per[per["errors"] > 0].sort_values(["errors", "sample id"], ascending=[False, True], kind="stable")
    worst: pd.DataFrame = per.drop(columns="errors").head(top).reset_index(drop=True)
    return worst

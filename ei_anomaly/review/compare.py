"""Two blocks side by side, decided once for the Compare page and the comparison report.

"Which block should we ship?" is answered on ONE shared labelled source, so that both blocks are
judged on the same windows: the validation windows both blocks were validated on (matched by
sample and start time), Studio's model-testing results of both (matched by sample and window),
or a feature file with a label column (both blocks score it). On it: each block's confusion
matrix at its own threshold, both precision-recall curves, recall at a matched false-alarm rate,
and the windows one block flags and the other does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..blocks import AnomalyBlock
from ..errors import AnomalyLensError
from ..evaluation import BinaryCounts, binary_counts, on_device_frame, pr_curve, predictions_frame
from ..evaluation import threshold_for_false_alarm_rate as for_false_alarm_rate
from ..model_testing import TestWindows
from ..rules import is_anomaly
from .card import ModelCard, model_card
from .jsonable import JsonValue, jsonable, records
from .metrics import DEFAULT_MCU_ENGINE, device_model_type, shown_metrics

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "AgreementRow",
    "ComparedBlock",
    "Comparison",
    "LabelledSide",
    "MatchedRate",
    "SharedWindows",
    "compare_blocks",
    "cost_comparison",
    "shared_model_testing_windows",
    "shared_upload_windows",
    "shared_validation_windows",
]

DEFAULT_FALSE_ALARM_RATE = 0.01
MAX_AGREEMENT_ROWS = 200
MAX_SHARED_WINDOWS = 1_000_000  # windows compared at most (each side's are matched one to one)


@dataclass(frozen=True)
class ComparedBlock:
    name: str
    model: AnomalyBlock
    threshold: float
    card: ModelCard

    @property
    def cost_text(self) -> str:
        """The default MCU's cost in a line, "" when it was not profiled there."""
        mcu = self.card.default_mcu
        if mcu is None or mcu.latency_ms is None:
            return ""
        return f"{mcu.device}: {mcu.latency_ms:.3g} ms, {mcu.ram_kb:.3g} KB RAM, {mcu.flash_kb:.3g} KB flash"

    def to_dict(self) -> dict[str, JsonValue]:
        card = self.card
        return {
            "name": self.name,
            "title": card.title,
            card.units.noun + "s": card.units.count,
            "axes": card.axis_labels,
            "threshold": jsonable(self.threshold),
            "accuracy": jsonable(card.accuracy),
            "default_mcu": jsonable(vars(card.default_mcu)) if card.default_mcu is not None else None,
            "fingerprint": card.fingerprint,
        }


@dataclass(frozen=True)
class SharedWindows:
    """Windows both blocks scored, with one truth: `keys` names each window (sample, time...)."""

    origin: str
    keys: pd.DataFrame
    truth: npt.NDArray[np.bool_]
    scores_a: npt.NDArray[np.float64]
    scores_b: npt.NDArray[np.float64]

    @property
    def labelled(self) -> bool:
        return bool(self.truth.any()) and bool((~self.truth).any())


@dataclass(frozen=True)
class MatchedRate:
    """Each block's lowest threshold with at most `rate` of the normal windows flagged, and its recall."""

    rate: float
    threshold_a: float
    threshold_b: float
    counts_a: BinaryCounts
    counts_b: BinaryCounts


@dataclass(frozen=True)
class AgreementRow:
    which: str  # "only A" / "only B"
    key: str
    label: str
    score_a: float
    score_b: float


@dataclass(frozen=True)
class LabelledSide:
    """One block on the shared windows, when they are labelled both ways: at its own threshold."""

    counts: BinaryCounts
    curve: pd.DataFrame  # precision and recall at every threshold


@dataclass(frozen=True)
class Comparison:
    a: ComparedBlock
    b: ComparedBlock
    costs: pd.DataFrame  # per MCU: latency, RAM, flash of A and B and B - A
    shared: SharedWindows | None
    labelled: tuple[LabelledSide, LabelledSide] | None  # A's and B's, on shared windows labelled both ways
    matched: MatchedRate | None
    agreement: dict[str, int]  # both, only A, only B, neither (on the shared windows)
    disagreements: list[AgreementRow]  # the first MAX_AGREEMENT_ROWS, the largest score margins first
    notes: list[str]

    @property
    def sides(self) -> tuple[ComparedBlock, ComparedBlock]:
        return self.a, self.b

    def confusion_figures(self) -> list[go.Figure]:
        """Each block's normal-vs-anomaly matrix at its own threshold ([] without labelled windows)."""
        from ..figures import fig_confusion_matrix

        if self.labelled is None:
            return []
        return [
            fig_confusion_matrix(side.counts.matrix, ["normal", "anomaly"], f"{block.name[:60]} at {block.threshold:g}")
            for block, side in zip(self.sides, self.labelled, strict=True)
        ]

    def pr_figure(self) -> go.Figure | None:
        """Both precision-recall curves, each block's own threshold marked."""
        from ..figures import fig_pr_compare

        if self.labelled is None or self.shared is None:
            return None
        curves = [
            (block.name, side.curve, (side.counts.precision, side.counts.recall), block.threshold)
            for block, side in zip(self.sides, self.labelled, strict=True)
        ]
        return fig_pr_compare(curves, self.shared.origin)

    def matched_table(self) -> pd.DataFrame | None:
        """Each block at the lowest threshold within the matched false-alarm rate: its recall and precision."""
        m = self.matched
        if m is None:
            return None
        rows = [
            (block.name, threshold, counts)
            for block, threshold, counts in ((self.a, m.threshold_a, m.counts_a), (self.b, m.threshold_b, m.counts_b))
        ]
        return pd.DataFrame(
            [
                {
                    "block": name,
                    "threshold": threshold,
                    "false alarms": counts.fp,
                    "recall": counts.recall,
                    "precision": counts.precision,
                }
                for name, threshold, counts in rows
            ]
        )

    def disagreement_table(self) -> pd.DataFrame:
        """The windows one block flags and the other does not, the clearest first."""
        return pd.DataFrame(
            [
                {"flagged by": r.which, "window": r.key, "label": r.label, "score A": r.score_a, "score B": r.score_b}
                for r in self.disagreements
            ],
            columns=["flagged by", "window", "label", "score A", "score B"],
        )

    def to_dict(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "notes": self.notes,
            "costs": records(self.costs),
            "shared_windows": self.shared.origin if self.shared is not None else None,
            "agreement": jsonable(self.agreement),
            "disagreements": records(self.disagreement_table()),
        }
        if self.labelled is not None:
            out["labelled"] = {
                side_name: {
                    "precision": jsonable(side.counts.precision),
                    "recall": jsonable(side.counts.recall),
                    "false_alarms": side.counts.fp,
                    "missed": side.counts.fn,
                }
                for side_name, side in zip(("a", "b"), self.labelled, strict=True)
            }
        matched = self.matched_table()
        if self.matched is not None and matched is not None:
            out["matched_false_alarm_rate"] = {"rate": jsonable(self.matched.rate), "rows": records(matched)}
        return out


def _block(name: str, model: AnomalyBlock, threshold: float | None) -> ComparedBlock:
    chosen = model.default_threshold if threshold is None else float(threshold)
    return ComparedBlock(name, model, chosen, model_card(model, chosen))


def _shown_predictions(model: AnomalyBlock) -> pd.DataFrame | None:
    metrics = shown_metrics(model.metadata, with_predictions=True)
    if metrics is None:
        return None
    frame = predictions_frame(metrics).dropna(subset=["anomaly score"])
    return frame if len(frame) else None


def _matched(a: pd.DataFrame, b: pd.DataFrame, on: list[str], what: str) -> tuple[pd.DataFrame, str]:
    """A's and B's windows matched one to one on `on`: a key that names several windows on a side
    names none of them (which would be which?), and at most MAX_SHARED_WINDOWS are kept. Returns
    the matched rows and what was left out, in words ("" when nothing was)."""
    notes = []
    for side, frame in (("A", a), ("B", b)):
        repeated = frame.duplicated(on, keep=False)
        if repeated.any():
            notes.append(
                f"{int(repeated.sum()):,} of {side}'s {what} share their {', '.join(on)} with another and are left out"
            )
    merged = a[~a.duplicated(on, keep=False)].merge(
        b[~b.duplicated(on, keep=False)], on=on, suffixes=(" A", " B"), validate="one_to_one"
    )
    if len(merged) > MAX_SHARED_WINDOWS:
        notes.append(f"only the first {MAX_SHARED_WINDOWS:,} of {len(merged):,} shared {what} are compared")
        merged = merged.iloc[:MAX_SHARED_WINDOWS]
    return merged, "; ".join(notes)


def _origin(count: int, what: str, left_out: str) -> str:
    return f"{count:,} {what}" + (f" ({left_out})" if left_out else "")


def shared_validation_windows(a: AnomalyBlock, b: AnomalyBlock) -> SharedWindows | None:
    """The validation windows of the same samples in both blocks (same sample id and start, same
    label), one to one, or None when the blocks share none (e.g. trained on different data)."""
    pa, pb = _shown_predictions(a), _shown_predictions(b)
    if pa is None or pb is None:
        return None
    keys = ["sample", "start (ms)", "label"]
    merged, left_out = _matched(
        pa[[*keys, "anomaly score", "labelled anomaly"]], pb[[*keys, "anomaly score"]], keys, "validation windows"
    )
    if merged.empty:
        return None
    return SharedWindows(
        _origin(len(merged), "validation windows both blocks were validated on", left_out),
        merged[keys].reset_index(drop=True),
        merged["labelled anomaly"].to_numpy(bool),
        merged["anomaly score A"].to_numpy(np.float64),
        merged["anomaly score B"].to_numpy(np.float64),
    )


def shared_model_testing_windows(a: TestWindows, b: TestWindows) -> SharedWindows | None:
    """Studio's model-testing windows both blocks have a score for (same sample and window), one to one."""
    keys = ["sample id", "sample", "label", "window"]
    merged, left_out = _matched(
        a.frame[[*keys, "anomaly score", "expected anomaly"]],
        b.frame[["sample id", "window", "anomaly score"]],
        ["sample id", "window"],
        "model-testing windows",
    )
    if merged.empty:
        return None
    return SharedWindows(
        _origin(len(merged), "windows of Studio's model-testing results, scored by both blocks", left_out),
        merged[["sample", "window", "label"]].reset_index(drop=True),
        merged["expected anomaly"].to_numpy(bool),
        merged["anomaly score A"].to_numpy(np.float64),
        merged["anomaly score B"].to_numpy(np.float64),
    )


def shared_upload_windows(
    name: str,
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    labels: pd.Series,
    anomaly_values: set[str],
) -> SharedWindows:
    """A file both blocks scored, with a label column: rows whose label is in `anomaly_values`
    are anomalies. Rows either block could not score are left out (the origin says how many)."""
    a, b = np.asarray(scores_a, np.float64), np.asarray(scores_b, np.float64)
    text = labels.astype("string").fillna("")
    ok = np.isfinite(a) & np.isfinite(b) & (text != "").to_numpy(bool)
    rows = np.flatnonzero(ok)
    dropped = len(a) - len(rows)
    origin = f"{len(rows):,} labelled rows of {name}" + (
        f" ({dropped:,} unscorable or unlabelled left out)" if dropped else ""
    )
    keys = pd.DataFrame({"row": rows, "label": text.to_numpy()[rows]})
    truth = keys["label"].isin(anomaly_values).to_numpy(bool)
    return SharedWindows(origin, keys, truth, a[rows], b[rows])


def cost_comparison(a: AnomalyBlock, b: AnomalyBlock) -> pd.DataFrame:
    """Per MCU (by its id), each block's shown model type with the default engine: latency (ms),
    RAM and flash (KB) of A and B and the difference B - A. MCUs only one block was profiled on keep
    their row, with the other's values empty."""
    frames = []
    for tag, model in (("A", a), ("B", b)):
        devices = on_device_frame(model.metadata)
        if devices.empty:
            continue
        model_type = device_model_type(devices, model.metadata)
        rows = devices[(devices["model type"] == model_type) & (devices["engine"] == DEFAULT_MCU_ENGINE)]
        rows = rows.drop_duplicates("mcu").set_index("mcu")
        frames.append(
            rows[["device", "latency (ms)", "RAM (KB)", "ROM (KB)"]].rename(
                columns={c: f"{c.replace('ROM', 'flash')} {tag}" for c in ("latency (ms)", "RAM (KB)", "ROM (KB)")}
                | {"device": f"device {tag}"}
            )
        )
    if not frames:
        return pd.DataFrame()
    table = frames[0].join(frames[1], how="outer") if len(frames) == 2 else frames[0]
    out = pd.DataFrame(index=table.index)
    out["device"] = table.get("device A", pd.Series(dtype=object)).fillna(table.get("device B"))
    for what in ("latency (ms)", "RAM (KB)", "flash (KB)"):
        for tag in ("A", "B"):
            out[f"{what} {tag}"] = table.get(f"{what} {tag}", np.nan)
        out[f"{what} B - A"] = out[f"{what} B"] - out[f"{what} A"]
    return out.reset_index().rename(columns={"index": "mcu"})


def _key_text(keys: pd.DataFrame, i: int) -> str:
    row = keys.iloc[i]
    return ", ".join(f"{c} {row[c]}" for c in keys.columns if c != "label")


def compare_blocks(
    a: tuple[str, AnomalyBlock],
    b: tuple[str, AnomalyBlock],
    shared: SharedWindows | None,
    *,
    threshold_a: float | None = None,
    threshold_b: float | None = None,
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
) -> Comparison:
    """The comparison of two blocks (name, model) on `shared` (None: model cards and costs only)."""
    block_a, block_b = _block(*a, threshold_a), _block(*b, threshold_b)
    notes: list[str] = []
    if block_a.model.fingerprint == block_b.model.fingerprint:
        notes.append("Both sides are the same block: every score is the same.")
    if not (math.isfinite(false_alarm_rate) and 0 <= false_alarm_rate <= 1):
        raise AnomalyLensError("the false-alarm rate must be between 0 and 1")
    labelled = None
    matched = None
    agreement = {"both flag": 0, "only A flags": 0, "only B flags": 0, "neither": 0}
    rows: list[AgreementRow] = []
    if shared is not None and len(shared.truth):
        flags_a = is_anomaly(shared.scores_a, block_a.threshold)
        flags_b = is_anomaly(shared.scores_b, block_b.threshold)
        agreement = {
            "both flag": int(np.sum(flags_a & flags_b)),
            "only A flags": int(np.sum(flags_a & ~flags_b)),
            "only B flags": int(np.sum(~flags_a & flags_b)),
            "neither": int(np.sum(~flags_a & ~flags_b)),
        }
        # how far past its own threshold each block is, in its own score units: largest first
        margin = np.abs(shared.scores_a - block_a.threshold) + np.abs(shared.scores_b - block_b.threshold)
        differ = np.flatnonzero(flags_a != flags_b)
        for i in differ[np.argsort(-margin[differ], kind="stable")][:MAX_AGREEMENT_ROWS]:
            rows.append(
                AgreementRow(
                    "only A" if flags_a[i] else "only B",
                    _key_text(shared.keys, int(i)),
                    str(shared.keys["label"].iloc[int(i)]) if "label" in shared.keys else "",
                    float(shared.scores_a[i]),
                    float(shared.scores_b[i]),
                )
            )
        if shared.labelled:
            labelled = (
                LabelledSide(
                    binary_counts(shared.scores_a, shared.truth, block_a.threshold),
                    pr_curve(shared.scores_a, shared.truth),
                ),
                LabelledSide(
                    binary_counts(shared.scores_b, shared.truth, block_b.threshold),
                    pr_curve(shared.scores_b, shared.truth),
                ),
            )
            ma = for_false_alarm_rate(shared.scores_a, shared.truth, false_alarm_rate)
            mb = for_false_alarm_rate(shared.scores_b, shared.truth, false_alarm_rate)
            matched = MatchedRate(false_alarm_rate, ma.threshold, mb.threshold, ma.counts, mb.counts)
        else:
            notes.append(
                "The shared windows are not labelled both ways (anomalies and normal): no precision or recall."
            )
    return Comparison(
        block_a,
        block_b,
        cost_comparison(block_a.model, block_b.model),
        shared,
        labelled,
        matched,
        agreement,
        rows,
        notes,
    )

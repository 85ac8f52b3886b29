"""Typed model and validation of the anomaly metadata endpoint's answer.

`GET /v1/api/{projectId}/training/anomaly/{learnId}/metadata`. Unknown extra fields are kept
(the API grows); optional fields may be absent. Before the schema, every value of the JSON is
checked where it is parsed (`_check_values`): each text (keys included) against the text limit,
each number against what float32 and int64 hold, and every array's values counted toward the
model size. Beyond the schema, each block kind checks what its scoring maths needs (equal lengths,
at least one cluster, non-zero scale for K-means: `ei_anomaly.blocks`); `check_common_fields` is
what every kind needs (distinct axes, float32 numbers, square confusion matrices).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from .errors import MetadataError
from .limits import Limits, human_bytes, too_big
from .rules import FLOAT32_MAX, fits_float32

_INT64_MAX = 2**63 - 1
_TOO_DEEP = "the JSON is nested too deeply (over ~1,000 levels) to be anomaly metadata"
AxisIndex = Annotated[int, Field(ge=0, le=_INT64_MAX)]

_CONFIG = ConfigDict(
    alias_generator=to_camel,
    populate_by_name=True,
    extra="allow",
    allow_inf_nan=False,
)


class _Model(BaseModel):
    model_config = _CONFIG


class Cluster(_Model):
    center: list[float]
    max_error: float


class MemoryFootprint(_Model):
    ram_required: float | None = None
    rom_required: float | None = None
    arena_size: float | None = None
    model_size: float | None = None


class CustomMetric(_Model):
    name: str
    value: str | float | None = None


class OnDevicePerformance(_Model):
    mcu: str
    name: str
    is_default: bool = False
    latency: float | None = None
    tflite: MemoryFootprint | None = None
    eon: MemoryFootprint | None = None
    # The JSON key is literally snake_case, unlike every other key.
    eon_ram_optimized: MemoryFootprint | None = Field(default=None, alias="eon_ram_optimized")
    custom_metrics: list[CustomMetric] = []
    has_performance: bool = True
    profiling_error: str | None = None


class BoundingBox(_Model):
    label: str
    x: float
    y: float
    width: float
    height: float
    score: float


class Prediction(_Model):
    sample_id: int
    start_ms: float | None = None
    end_ms: float | None = None
    label: str | None = None
    prediction: str | None = None
    prediction_correct: bool | None = None
    f1_score: float | None = None
    anomaly_scores: list[list[float]] | None = None
    bounding_boxes: list[BoundingBox] | None = None


class AdditionalMetric(_Model):
    name: str
    value: str
    full_precision_value: float | None = None
    tooltip_text: str | None = None
    link: str | None = None


class ValidationMetrics(_Model):
    type: str
    loss: float | None = None
    accuracy: float | None = None
    confusion_matrix: list[list[float]] = []
    report: dict[str, Any] = {}
    on_device_performance: list[OnDevicePerformance] = []
    predictions: list[Prediction] = []
    visualization: str | None = None
    is_supported_on_mcu: bool | None = None
    mcu_support_error: str | None = None
    profiling_job_id: int | None = None
    profiling_job_failed: bool | None = None
    additional_metrics: list[AdditionalMetric] = []


class Threshold(_Model):
    key: str
    description: str = ""
    help_text: str = ""
    suggested_value: float | str | None = None
    suggested_value_text: str | None = None
    value: float | str

    @field_validator("value", "suggested_value", mode="before")
    @classmethod
    def _numeric_strings_become_numbers(cls, v: Any) -> Any:
        """The API types `value` as float | str: "0.3" becomes 0.3, other text stays text."""
        if isinstance(v, str):
            try:
                number = float(v)
            except ValueError:
                return v
            if math.isfinite(number) and not fits_float32(number):
                raise ValueError(f"{v[:40]!r} overflows to infinity in float32, which thresholds are read in")
            return number if math.isfinite(number) else v
        return v

    @property
    def numeric_value(self) -> float | None:
        return self.value if isinstance(self.value, float) else None


class AnomalyMetadata(_Model):
    success: bool = True
    error: str | None = None
    created: datetime | None = None
    scale: list[float]
    mean: list[float]
    clusters: list[Cluster] = []  # K-means only: a GMM block has none
    axes: list[AxisIndex]
    default_minimum_confidence_rating: float | None = None
    available_model_types: list[str] = []
    recommended_model_type: str | None = None
    model_validation_metrics: list[ValidationMetrics] = []
    has_trained_model: bool | None = None
    thresholds: list[Threshold] = []


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(err: ValidationError) -> str:
    problems = []
    for e in err.errors()[:5]:
        where = _location(e["loc"]) or "(top level)"
        msg = "field is required" if e["type"] == "missing" else e["msg"]
        problems.append(f"`{where}`: {msg}")
    more = err.error_count() - len(problems)
    tail = f" (and {more} more problems)" if more > 0 else ""
    return "; ".join(problems) + tail


GMM_METADATA_ALONE = (
    "this is a GMM block's metadata (no clusters; `mean` and `scale` hold one value each, the "
    "spread of its training log-likelihoods, not a feature scaler). A GMM block is scored with "
    "its own TFLite file: give its block directory instead (`python -m ei_anomaly fetch "
    "--project-id P --learn-id L -o DIR` writes one)"
)


def check_common_fields(meta: AnomalyMetadata) -> None:
    """What every block kind's metadata must hold beyond its own fields (the kinds' own checks are in
    `ei_anomaly.blocks`): distinct axes, float32 numbers, square confusion matrices."""
    if len(set(meta.axes)) != len(meta.axes):
        raise MetadataError("`axes` lists the same feature index twice")
    _check_float32(meta)
    _check_confusion_matrices(meta)


def _check_confusion_matrices(meta: AnomalyMetadata) -> None:
    """A confusion matrix is square: one row and one column per class (any block kind)."""
    for i, m in enumerate(meta.model_validation_metrics):
        rows = len(m.confusion_matrix)
        short = [len(r) for r in m.confusion_matrix if len(r) != rows]
        if short:
            raise MetadataError(
                f"`modelValidationMetrics[{i}].confusionMatrix` has {rows} rows but a row of {short[0]} values; "
                "a confusion matrix is square (one row and one column per class)"
            )


def _float32_problem(values: list[float]) -> tuple[int, str] | None:
    """(index, what goes wrong) for the first value the device's float32 cannot hold, else None."""
    wide = np.asarray(values, np.float64)
    with np.errstate(over="ignore", under="ignore"):
        narrow = wide.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(narrow) | ((narrow == 0) & (wide != 0)))
    if not len(bad):
        return None
    i = int(bad[0])
    return i, ("becomes 0" if narrow[i] == 0 else "overflows to infinity")


def _check_float32(meta: AnomalyMetadata) -> None:
    """The SDK scores in float32: a value finite in JSON's float64 but not in float32 (a `scale` of
    1e-50 becomes 0 and flags every row; a `maxError` of 1e39 becomes inf) cannot be scored."""
    named: list[tuple[str, list[float]]] = [("scale", meta.scale), ("mean", meta.mean)]
    named += [(f"clusters[{k}].center", c.center) for k, c in enumerate(meta.clusters)]
    named.append(("clusters[].maxError", [c.max_error for c in meta.clusters]))
    for name, values in named:
        problem = _float32_problem(values)
        if problem is None:
            continue
        i, what = problem
        where = f"clusters[{i}].maxError" if name == "clusters[].maxError" else f"{name}[{i}]"
        raise MetadataError(
            f"`{where}` is {values[i]:g}, which {what} in the float32 arithmetic "
            "devices score with; the model cannot be scored"
        )
    for i, t in enumerate(meta.thresholds):
        if t.numeric_value is not None and _float32_problem([t.numeric_value]) == (0, "overflows to infinity"):
            raise MetadataError(
                f"`thresholds[{i}].value` is {t.numeric_value:g}, which overflows to infinity in float32"
            )


def _as_dict(source: Any, limits: Limits) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    looks_like_json = isinstance(source, str) and source.lstrip()[:1] in ("{", "[", "")
    if isinstance(source, Path) or (isinstance(source, str) and not looks_like_json):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > limits.metadata_bytes:
                raise MetadataError(_too_big(size, limits))
            source = path.read_bytes()
        except OSError as exc:
            raise MetadataError(f"cannot read {path.name}: {exc.strerror}") from None
    if len(source) > limits.metadata_bytes:  # characters for text: at least as many bytes
        raise MetadataError(_too_big(len(source), limits))
    check_json_shape(source.encode() if isinstance(source, str) else bytes(source), "the JSON", limits)
    if isinstance(source, (bytes, bytearray)):
        try:
            source = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise MetadataError("the file is not UTF-8 text (is it a JSON file?)") from None
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise MetadataError(_TOO_DEEP) from None
    except ValueError as exc:  # Python refuses integers of more than 4,300 digits
        raise MetadataError(f"a number in the JSON is too long to read ({str(exc).split(':')[0]})") from None
    if not isinstance(data, dict):
        raise MetadataError("expected a JSON object with `clusters`, `mean`, `scale`, `axes`")
    return data


MAX_JSON_DEPTH = 1_000  # what Python's decoder reaches before it runs out of recursion
JSON_ITEMS_PER_VALUE = 2  # values and object members a file may hold per value of `model_values`
_CHUNK = 4 * 1024 * 1024


def json_shape(raw: bytes) -> tuple[int, int]:
    """(deepest nesting, items) of JSON text, counted on its bytes before it is decoded: items are
    the commas and the opened arrays and objects (at least the values and members it holds).
    Brackets and commas inside strings count too: an upper bound, in a few ms per 30 MB."""
    items = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    deepest, depth = 0, 0
    for start in range(0, len(raw), _CHUNK):
        chunk = np.frombuffer(raw, np.uint8, count=min(_CHUNK, len(raw) - start), offset=start)
        opens = (chunk == ord("[")) | (chunk == ord("{"))
        closes = (chunk == ord("]")) | (chunk == ord("}"))
        if not (opens.any() or closes.any()):
            continue
        levels = np.cumsum(opens.astype(np.int32) - closes.astype(np.int32)) + depth
        deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    return deepest, items


def check_json_shape(raw: bytes, name: str, limits: Limits) -> None:
    """Refuse JSON nested too deeply or holding too many items, before decoding it: decoding a
    31 MB file of nested lists took 22 s and 2.4 GB."""
    depth, items = json_shape(raw)
    if depth > MAX_JSON_DEPTH:
        raise MetadataError(_TOO_DEEP)
    most = JSON_ITEMS_PER_VALUE * limits.model_values
    if items > most:
        raise MetadataError(
            too_big(
                name, f"over {items:,} values and fields", f"{most:,} (twice the model-values limit)", "model_values"
            )
        )


def _too_big(size: int, limits: Limits) -> str:
    return too_big("the JSON", human_bytes(size), human_bytes(limits.metadata_bytes), "metadata_bytes")


def _check_model_size(data: dict[str, Any], limits: Limits) -> None:
    clusters, axes = data.get("clusters"), data.get("axes")
    if isinstance(clusters, list) and isinstance(axes, list) and len(clusters) * len(axes) > limits.model_values:
        raise MetadataError(
            too_big(
                f"the model ({len(clusters):,} clusters x {len(axes):,} axes)",
                f"{len(clusters) * len(axes):,} values",
                f"{limits.model_values:,}",
                "model_values",
            )
        )


_INT64 = 2**63


def _where(path: tuple[str | int, ...]) -> str:
    return _location(path) or "(top level)"


def _value_problem(value: object, where: str, text_chars: int) -> str | None:
    """What is wrong with one JSON value at `where`, or None."""
    if isinstance(value, str):
        if len(value) > text_chars:
            return (
                f"`{where}`: text of {len(value):,} characters; the limit is {text_chars:,} "
                f"(`{Limits.variable('text_chars')}` raises it)"
            )
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            return f"`{where}` is a whole number of {len(str(abs(value))):,} digits, beyond the 64-bit integers"
    elif isinstance(value, float) and not fits_float32(value):
        return f"`{where}` is {value:g}, which overflows to infinity in float32 (the numbers are read as float32)"
    return None


def _numbers_fit(values: list[Any]) -> bool:
    """Whether a list of JSON numbers fits float32 (and its whole numbers int64), vectorised: a
    model's arrays hold millions of values. False sends the caller to the value-by-value check."""
    try:
        wide = np.asarray(values, np.float64)
    except OverflowError:  # a whole number beyond float64
        return False
    with np.errstate(over="ignore"):
        if not np.isfinite(wide.astype(np.float32)).all():
            return False
    return not (np.abs(wide) >= 2.0**63).any() or all(type(v) is float or -_INT64 <= v < _INT64 for v in values)


def _fine(value: object, text_chars: int) -> bool:
    """A quick pass for one JSON value (most of them): short text, a float well inside float32, a
    small whole number. Anything else gets `_value_problem`'s full check."""
    kind = type(value)
    if kind is float:
        return -FLOAT32_MAX <= value <= FLOAT32_MAX  # type: ignore[operator]
    if kind is str:
        return len(value) <= text_chars  # type: ignore[arg-type]
    if kind is int:
        return -_INT64 <= value < _INT64  # type: ignore[operator]
    return kind is bool or value is None


def _check_values(data: dict[str, Any], limits: Limits) -> None:
    """Every value of the JSON, where it is parsed: text (keys included) within the text limit,
    numbers within float32 (whole numbers within int64), and the values in every array counted
    toward the model size. The first problem is a MetadataError naming its field."""
    counted, chars = 0, limits.text_chars
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if len(key) > chars:
                    raise MetadataError(
                        f"a key in `{_where(path)}` has {len(key):,} characters; the limit is "
                        f"{chars:,} (`{Limits.variable('text_chars')}` raises it)"
                    )
                if isinstance(value, (dict, list)):
                    stack.append((value, (*path, key)))
                elif not _fine(value, chars) and (problem := _value_problem(value, _where((*path, key)), chars)):
                    raise MetadataError(problem)
            continue
        if len(node) > 64 and all(type(v) is float or type(v) is int for v in node):
            counted += len(node)
            fits = _numbers_fit(node)
        else:
            counted += sum(1 for v in node if not isinstance(v, (dict, list)))
            fits = False
        if counted > limits.model_values:
            what = f"over {limits.model_values:,} values in its arrays (the limit was passed at `{_where(path)}`)"
            raise MetadataError(too_big("the model", what, f"{limits.model_values:,}", "model_values"))
        if fits:
            continue
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                stack.append((value, (*path, i)))
            elif not _fine(value, chars) and (problem := _value_problem(value, _where((*path, i)), chars)):
                raise MetadataError(problem)


def parse_metadata(source: str | bytes | Path | dict[str, Any], limits: Limits | None = None) -> AnomalyMetadata:
    """Parse and validate metadata from a path, JSON text/bytes or a dict: its schema, its sizes and
    every value. Whether it describes a scorable block of its kind is the block's to say
    (`ei_anomaly.blocks`: `load_block` and each kind's `from_metadata`).

    `limits` (default: `Limits.from_env()`) bounds the JSON size, clusters x axes and text fields.
    """
    limits = limits or Limits.from_env()
    data = _as_dict(source, limits)
    if data.get("success") is False:
        reason = str(data.get("error") or "no reason given")
        if len(reason) > 500:
            reason = reason[:500] + "…"
        raise MetadataError(f"the API reported failure: {reason}")
    _check_model_size(data, limits)
    _check_values(data, limits)
    try:
        meta = AnomalyMetadata.model_validate(data)
    except ValidationError as exc:
        raise MetadataError(_describe(exc)) from None
    except RecursionError:
        raise MetadataError(_TOO_DEEP) from None
    if not meta.axes:
        raise MetadataError("`axes` is empty; the block was trained on no features")
    return meta


def feature_names_from_config(config: dict[str, Any], limits: Limits | None = None) -> dict[int, str]:
    """Feature index -> label from an anomaly block config (`axes[{ix, label}]`). A label past the
    text limit or an index outside the feature-file column limit is a MetadataError naming it (a
    far index would make a full feature vector gigabytes; a 2 MB label was repeated 60 times in
    the report)."""
    limits = limits or Limits.from_env()
    names: dict[int, str] = {}
    axes = config.get("axes") or []
    if not isinstance(axes, list):
        return names
    for i, axis in enumerate(axes):
        if isinstance(axis, dict) and isinstance(axis.get("label"), str):
            ix = axis.get("ix", i)
            if not isinstance(ix, int) or isinstance(ix, bool):
                continue
            if not 0 <= ix < limits.columns:
                raise MetadataError(
                    f"`axes[{i}].ix` is {ix}; feature indices run from 0 to {limits.columns - 1:,} "
                    f"(`{Limits.variable('columns')}`)"
                )
            label = axis["label"]
            if len(label) > limits.text_chars:
                raise MetadataError(
                    f"`axes[{i}].label`: text of {len(label):,} characters; the limit is {limits.text_chars:,} "
                    f"(`{Limits.variable('text_chars')}` raises it)"
                )
            names[ix] = label
    return names

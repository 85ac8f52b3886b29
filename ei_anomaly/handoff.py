"""Hand an alarm policy to the firmware: a C header of constants, test vectors and a README.

`anomaly_policy.h` holds the threshold (as a float literal and as its float32 bits), the smoothing
init values for `ei_classifier_smooth_init`, and a fingerprint of the scoring parameters that the
firmware can compute from its own exported model (FNV-1a, 64 bits, over the little-endian bytes of
the axes as uint32, then mean, scale, the cluster centers row by row, and maxError, as float32).
`test_vectors.csv` holds feature vectors and the score the SDK computes for each, bit for bit.
"""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .alarms.policy import Smoothing
from .errors import UsageError
from .features import ColumnMapping, FeatureTable, axis_matrix, map_columns
from .limits import Limits
from .visible import visible_controls

if TYPE_CHECKING:
    from .blocks import AnomalyBlock
    from .streaming import FeatureStream

__all__ = [
    "MAX_VECTORS",
    "HandoffFiles",
    "check_vector_count",
    "feature_count",
    "fnv1a64",
    "model_fingerprint",
    "pick_test_vectors",
    "policy_header",
    "write_handoff",
]

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
NEAR_SHARE = 0.5  # of the vectors: the ones closest to the threshold
MAX_VECTORS = 10_000  # test vectors a hand-off holds at most


def fnv1a64(data: bytes, h: int = _FNV_OFFSET) -> int:
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def model_fingerprint(model: AnomalyBlock) -> int:
    """FNV-1a 64 over axes (uint32 LE), mean, scale, centers (row-major), maxError (float32 LE)."""
    p = model.handoff_parameters()
    h = _FNV_OFFSET
    h = fnv1a64(np.asarray(p.axes, "<u4").tobytes(), h)
    for part in (p.mean, p.scale, p.centers, p.max_errors):
        h = fnv1a64(np.ascontiguousarray(part, "<f4").tobytes(), h)
    return h


def feature_count(model: AnomalyBlock) -> int:
    """The length of the full feature vector, as far as the block tells: its named features, at
    least up to its highest axis. UsageError past the feature-file column limit (a far index in the
    metadata or `anomaly_config.json` would make every test vector gigabytes)."""
    named = max(model.feature_names, default=-1) + 1
    count = max(model.n_features_required, named)
    most = Limits.from_env().columns
    if count > most:
        raise UsageError(
            f"the block's features reach index {count - 1:,} (its axes or its axis labels), so each test vector "
            f"would have {count:,} values; a feature file may have {most:,} columns "
            f"(`{Limits.variable('columns')}`)"
        )
    return count


def check_vector_count(n_vectors: int) -> int:
    """`--vectors`: at least 1, at most MAX_VECTORS (a firmware test suite, not a data set)."""
    if not 1 <= n_vectors <= MAX_VECTORS:
        raise UsageError(f"--vectors must be at least 1 and at most {MAX_VECTORS:,}, not {n_vectors:,}")
    return n_vectors


def _float_literal(value: np.float32) -> str:
    """A C float literal that reads back as exactly this float32 (9 significant digits)."""
    text = f"{float(value):.9g}"
    if "e" not in text and "." not in text and "inf" not in text:
        text += ".0"
    return text + "f"


def _bits(value: np.float32) -> str:
    return f"{struct.unpack('<I', struct.pack('<f', float(value)))[0]:08X}"


def policy_header(model: AnomalyBlock, threshold: float, smoothing: Smoothing | None, n_features: int) -> str:
    """The header; `n_features`: the length of the feature vectors the test vectors hold."""
    t = np.float32(threshold)
    if not np.isfinite(t):
        raise UsageError(f"the threshold {threshold:g} is not a finite float32 number; the device could not use it")
    fp = model_fingerprint(model)
    smooth_lines = (
        [
            "/* Smoothing: ei_classifier_smooth_init(&smooth, ANOMALY_POLICY_N_READINGS,",
            " *     ANOMALY_POLICY_MIN_READINGS_SAME, 0.8f, ANOMALY_POLICY_ANOMALY_CONFIDENCE);",
            " * then ei_classifier_smooth_update(&smooth, &result) per window; an alarm is its answer turning",
            ' * to "anomaly". The SDK counts a reading as anomalous when score >= the anomaly confidence. */',
            "#define ANOMALY_POLICY_SMOOTHING 1",
            f"#define ANOMALY_POLICY_N_READINGS {smoothing.n_readings}u",
            f"#define ANOMALY_POLICY_MIN_READINGS_SAME {smoothing.min_readings_same}u",
            "#define ANOMALY_POLICY_ANOMALY_CONFIDENCE ANOMALY_POLICY_THRESHOLD",
        ]
        if smoothing is not None
        else [
            "/* No smoothing: every window with score > ANOMALY_POLICY_THRESHOLD is an anomaly (Studio's rule),",
            " * and an alarm is raised at the start of each run of them. */",
            "#define ANOMALY_POLICY_SMOOTHING 0",
        ]
    )
    lines = [
        "/* anomaly_policy.h: an alarm policy for one Edge Impulse K-means anomaly block.",
        " * Written by Anomaly Lens (python -m ei_anomaly handoff). Valid only with the model whose",
        " * fingerprint is ANOMALY_POLICY_MODEL_FINGERPRINT: FNV-1a 64 over the little-endian bytes of",
        " * the axes (uint32 each), then mean, scale, the cluster centers row by row and maxError (float32).",
        " * See README.md beside this file. */",
        "#ifndef ANOMALY_POLICY_H",
        "#define ANOMALY_POLICY_H",
        "",
        "#include <stdint.h>",
        "",
        "/* A window is an anomaly when score > ANOMALY_POLICY_THRESHOLD (float32). */",
        f"#define ANOMALY_POLICY_THRESHOLD {_float_literal(t)}",
        f"#define ANOMALY_POLICY_THRESHOLD_BITS 0x{_bits(t)}u",
        "",
        *smooth_lines,
        "",
        f"#define ANOMALY_POLICY_MODEL_FINGERPRINT 0x{fp:016X}ull",
        f"#define ANOMALY_POLICY_AXES_COUNT {len(model.axes)}u",
        f"#define ANOMALY_POLICY_CLUSTER_COUNT {len(model.handoff_parameters().centers)}u",
        f"#define ANOMALY_POLICY_FEATURE_COUNT {n_features}u",
        "",
        "/* FNV-1a 64, to compute the fingerprint from the exported model's arrays. */",
        "static inline uint64_t anomaly_policy_fnv1a64(uint64_t hash, const void *data, uint32_t size) {",
        "    const unsigned char *bytes = (const unsigned char *)data;",
        "    uint32_t i;",
        "    for (i = 0; i < size; i++) {",
        "        hash ^= (uint64_t)bytes[i];",
        "        hash *= 0x100000001B3ull;",
        "    }",
        "    return hash;",
        "}",
        "#define ANOMALY_POLICY_FNV1A64_START 0xCBF29CE484222325ull",
        "",
        "static inline int anomaly_policy_is_anomaly(float score) {",
        "    return score > ANOMALY_POLICY_THRESHOLD;",
        "}",
        "",
        "#endif /* ANOMALY_POLICY_H */",
        "",
    ]
    return "\n".join(lines)


def _synthetic_rows(
    model: AnomalyBlock, threshold: float, count: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Feature vectors around the clusters: about half at scaled distances near the threshold, the
    rest across the score range; features the block does not use are 0."""
    p = model.handoff_parameters()
    dims = len(model.axes)
    k = rng.integers(len(p.centers), size=count)
    direction = rng.normal(size=(count, dims))
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    near = rng.random(count) < NEAR_SHARE + 0.2
    target = np.where(near, threshold + rng.normal(0, 0.02, count), rng.uniform(-1.0, max(3.0, 2 * threshold), count))
    radius = np.maximum(p.max_errors[k] + target, 0.0)
    z = p.centers[k] + direction * radius[:, None]
    x = np.asarray(p.mean, np.float64) + z * np.asarray(p.scale, np.float64)
    norm = model.setup.normalization
    if norm is not None and model.setup.normalizes_rows:  # raw DSP output, which the export normalizes first
        x = x / np.asarray(norm.inverse_scale, np.float64) + np.asarray(norm.mean, np.float64)
    rows = np.zeros((count, feature_count(model)), np.float32)
    rows[:, model.axes] = x.astype(np.float32)
    return rows


def _file_rows(
    stream: FeatureStream, model: AnomalyBlock, threshold: float, count: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Candidate rows of a feature file, block by block: each block's rows nearest the threshold and
    a random sample, so memory stays bounded; the full vector when the file has it, else the axes."""
    first = stream.first
    mapping = map_columns(first, model)
    full = mapping.how == "numeric columns are the full feature vector"
    width = len(first.numeric_columns) if full else feature_count(model)
    kept = np.zeros((0, width), np.float32)

    def vectors(block: FeatureTable) -> npt.NDArray[np.float32]:
        if full:
            cols = ColumnMapping(first.numeric_columns[:width], mapping.how)
            return axis_matrix(block, cols)
        out = np.zeros((block.n_rows, width), np.float32)
        out[:, model.axes] = axis_matrix(block, mapping)
        return out

    def blocks() -> Iterator[FeatureTable]:
        yield first
        for table in stream.rest():
            yield FeatureTable(table, first.numeric_columns, first.source_name)

    try:
        for block in blocks():
            rows = vectors(block)
            rows = rows[np.isfinite(rows[:, model.axes]).all(axis=1)]
            if not len(rows):
                continue
            pool = np.concatenate([kept, rows])
            scores = model.score_full(pool).score
            near = np.argsort(np.abs(scores.astype(np.float64) - threshold), kind="stable")[:count]
            sample = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
            kept = pool[np.unique(np.concatenate([near, sample]))]
    finally:
        stream.close()
    if not len(kept):
        raise UsageError("the feature file has no scorable row to make test vectors from")
    return kept


def pick_test_vectors(
    model: AnomalyBlock, threshold: float, count: int, candidates: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """`count` rows of `candidates`: half nearest the threshold, the rest evenly across the scores;
    returned with their SDK-exact scores, ordered by score."""
    scores = model.score_full(candidates).score
    order = np.argsort(np.abs(scores.astype(np.float64) - threshold), kind="stable")
    n_near = min(len(order), int(count * NEAR_SHARE))
    chosen = list(order[:n_near])
    rest = np.setdiff1d(np.arange(len(scores)), chosen)
    if len(rest) and count > n_near:
        by_score = rest[np.argsort(scores[rest], kind="stable")]
        picks = np.unique(np.linspace(0, len(by_score) - 1, min(count - n_near, len(by_score))).round().astype(int))
        chosen += list(by_score[picks])
    idx = np.array(sorted(chosen, key=lambda i: (float(scores[i]), i)), np.int64)
    return candidates[idx], scores[idx]


def _vectors_csv(rows: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], threshold: float) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    width = rows.shape[1]
    writer.writerow([*(f"f{i}" for i in range(width)), "expected_score_hex", "expected_score", "expected_anomaly"])
    t = np.float32(threshold)
    for row, score in zip(rows, scores, strict=True):
        writer.writerow([*(str(v) for v in row), _bits(score), str(score), int(score > t)])
    return out.getvalue()


def _readme(
    model: AnomalyBlock, threshold: float, smoothing: Smoothing | None, n_vectors: int, source: str, width: int
) -> str:
    t = np.float32(threshold)
    smooth = (
        f"smoothing {smoothing.n_readings} readings, {smoothing.min_readings_same} the same "
        "(`ei_classifier_smooth_init(&s, ANOMALY_POLICY_N_READINGS, ANOMALY_POLICY_MIN_READINGS_SAME, 0.8f, "
        "ANOMALY_POLICY_ANOMALY_CONFIDENCE)`; a reading is anomalous when score >= the threshold, as the SDK "
        "compares)"
        if smoothing
        else "no smoothing: every window with score > the threshold is an anomaly"
    )
    return f"""# Anomaly policy hand-off

Written by Anomaly Lens (`python -m ei_anomaly handoff`) for the K-means anomaly block with
{len(model.axes)} axes and {model.units.text} (model fingerprint
`0x{model_fingerprint(model):016X}`).

- `anomaly_policy.h`: the threshold {float(t):.9g} (float32 bits `{_bits(t)}`), {smooth}, and the
  model fingerprint. It compiles as C (C99) and C++.
- `test_vectors.csv`: {n_vectors} feature vectors ({source}), half of them scoring close to the
  threshold. Columns `f0` to `f{width - 1}` are the full feature vector (the
  DSP output the anomaly block reads; features the block does not use may be 0, they do not change
  the score), then `expected_score_hex` (the float32 bit pattern of the score, 8 hex digits),
  `expected_score` (the same number in decimal) and `expected_anomaly` (1 when score > threshold).{_rows_note(model)}

## Check on the target

1. Check the model: compute the fingerprint from your exported model's arrays (axes as uint32,
   then mean, scale, every cluster's center and its maxError as float32, in that order) with
   `anomaly_policy_fnv1a64`, starting from `ANOMALY_POLICY_FNV1A64_START`, and compare it with
   `ANOMALY_POLICY_MODEL_FINGERPRINT`. A different value means another model: the threshold and
   the vectors do not apply.
2. Check the scores: for each row, put `f0..` into a float array and run the anomaly block of the
   exported C++ library on it (the K-means function in
   `edge-impulse-sdk/classifier/inferencing_engines/anomaly.h`; its name and signature depend on
   the SDK version of your export), then compare the bits of `result.anomaly` (copy the float into
   a `uint32_t` with `memcpy`) with `expected_score_hex`. Equal bits mean the device scores exactly
   as the review did; compare bits, not decimals.
3. Check the decision: `anomaly_policy_is_anomaly(result.anomaly)` must equal `expected_anomaly`.
"""


def _markdown_name(name: str) -> str:
    """A file name as README text: in a code span (no markup, no link), controls shown as escapes,
    on one line."""
    return "`" + visible_controls(" ".join(name.split())).replace("`", "'")[:200] + "`"


@dataclass(frozen=True)
class HandoffFiles:
    header: str
    vectors: str
    readme: str


def _rows_note(model: AnomalyBlock) -> str:
    """What the README says about the vectors' space when the export normalizes its DSP output."""
    setup = model.setup
    if setup.normalization is None:
        return ""
    blocks = ", ".join(f"#{b}" for b in setup.normalization.dsp_blocks)
    if setup.normalizes_rows:
        return (
            f"\n  The vectors are raw DSP output: the export normalizes DSP block {blocks} before the anomaly "
            "block, so run its data normalization (`run_data_normalization`) on them before the K-means function."
        )
    return (
        f"\n  The vectors are already normalized (DSP block {blocks}): give them to the K-means function as they are."
    )


def write_handoff(
    model: AnomalyBlock,
    out_dir: Path,
    threshold: float,
    smoothing: Smoothing | None,
    n_vectors: int,
    stream: FeatureStream | None = None,
    seed: int = 0,
) -> HandoffFiles:
    """Build the three files and write them into `out_dir` (created if needed). For the blocks whose
    SDK arrays the header's fingerprint and the README's check are (K-means): another kind's block
    raises UsageError saying why (`AnomalyBlock.handoff_parameters`)."""
    model.handoff_parameters()
    check_vector_count(n_vectors)
    feature_count(model)
    rng = np.random.default_rng(seed)
    if stream is not None:
        candidates = _file_rows(stream, model, threshold, n_vectors, rng)
        source = f"rows of {_markdown_name(stream.first.source_name)}"
    else:
        candidates = _synthetic_rows(model, threshold, max(4 * n_vectors, 256), rng)
        source = "made around the clusters"
    rows, scores = pick_test_vectors(model, threshold, n_vectors, candidates)
    width = rows.shape[1]
    files = HandoffFiles(
        policy_header(model, threshold, smoothing, width),
        _vectors_csv(rows, scores, threshold),
        _readme(model, threshold, smoothing, len(rows), source, width),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("anomaly_policy.h", files.header),
        ("test_vectors.csv", files.vectors),
        ("README.md", files.readme),
    ):
        tmp = out_dir / f".{name}.part"
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(out_dir / name)
    return files

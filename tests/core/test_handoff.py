"""`python -m ei_anomaly handoff`: the header compiles as C and C++, and a C program built on it
checks the fingerprint, the threshold bits and every test vector's score, bit for bit."""

from __future__ import annotations

import csv
import shutil
import struct
import subprocess

import numpy as np
import pytest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from tests.support.cli import run_cli
from tests.support.constants import ROOT

META = ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json"
GMM_BLOCK = ROOT / "ei_anomaly" / "data" / "demo" / "gmm"


def run(*args):
    return run_cli("handoff", *args)


def c_array(kind: str, name: str, values) -> str:
    return f"static const {kind} {name}[] = {{{', '.join(values)}}};"


def bits(x: float) -> str:
    return f"0x{struct.unpack('<I', struct.pack('<f', float(x)))[0]:08X}u"


def checker_source(model, rows: list[list[str]], width: int) -> str:
    """A C program (valid C99 and C++11): the fingerprint from the model's arrays, the threshold's
    bits, and the K-means score of each vector computed as the SDK documents it, compared bit for bit."""
    f32 = np.float32
    vec_bits = [bits(f32(v)) for row in rows for v in row[:width]]
    expected = [f"0x{row[width]}u" for row in rows]
    flags = [row[width + 2] for row in rows]
    return "\n".join(
        [
            "#include <stdio.h>",
            "#include <string.h>",
            "#include <math.h>",
            '#include "anomaly_policy.h"',
            c_array("uint32_t", "AXES", [f"{a}u" for a in model.axes]),
            c_array("uint32_t", "MEAN", [bits(v) for v in model.mean]),
            c_array("uint32_t", "SCALE", [bits(v) for v in model.scale]),
            c_array("uint32_t", "CENTERS", [bits(v) for v in model.centers.ravel()]),
            c_array("uint32_t", "MAXERR", [bits(v) for v in model.max_errors]),
            c_array("uint32_t", "VECTORS", vec_bits),
            c_array("uint32_t", "EXPECTED", expected),
            c_array("int", "FLAGS", flags),
            f"#define N_VECTORS {len(rows)}",
            f"#define WIDTH {width}",
            "static float f(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }",
            "static float score(const uint32_t *row) {",
            "    float best = 1000.0f; uint32_t k, j;",
            "    for (k = 0; k < ANOMALY_POLICY_CLUSTER_COUNT; k++) {",
            "        float acc = 0.0f;",
            "        for (j = 0; j < ANOMALY_POLICY_AXES_COUNT; j++) {",
            "            float z = (f(row[AXES[j]]) - f(MEAN[j])) / f(SCALE[j]);",
            "            float d = z - f(CENTERS[k * ANOMALY_POLICY_AXES_COUNT + j]);",
            "            acc = (float)((double)acc + (double)d * (double)d);",
            "        }",
            "        {",
            "            float s = sqrtf(acc) - f(MAXERR[k]);",
            "            if (s < best) best = s;",
            "        }",
            "    }",
            "    return best;",
            "}",
            "int main(void) {",
            "    uint64_t h = ANOMALY_POLICY_FNV1A64_START; float t = ANOMALY_POLICY_THRESHOLD; uint32_t tb; int i;",
            "    float m[sizeof(MEAN) / 4], s[sizeof(SCALE) / 4], c[sizeof(CENTERS) / 4], e[sizeof(MAXERR) / 4];",
            "    for (i = 0; i < (int)(sizeof(MEAN) / 4); i++) { m[i] = f(MEAN[i]); s[i] = f(SCALE[i]); }",
            "    for (i = 0; i < (int)(sizeof(CENTERS) / 4); i++) c[i] = f(CENTERS[i]);",
            "    for (i = 0; i < (int)(sizeof(MAXERR) / 4); i++) e[i] = f(MAXERR[i]);",
            "    h = anomaly_policy_fnv1a64(h, AXES, sizeof(AXES));",
            "    h = anomaly_policy_fnv1a64(h, m, sizeof(m)); h = anomaly_policy_fnv1a64(h, s, sizeof(s));",
            "    h = anomaly_policy_fnv1a64(h, c, sizeof(c)); h = anomaly_policy_fnv1a64(h, e, sizeof(e));",
            '    if (h != ANOMALY_POLICY_MODEL_FINGERPRINT) { printf("fingerprint\\n"); return 1; }',
            "    memcpy(&tb, &t, 4);",
            '    if (tb != ANOMALY_POLICY_THRESHOLD_BITS) { printf("threshold bits\\n"); return 1; }',
            "    if (WIDTH != ANOMALY_POLICY_FEATURE_COUNT) { return 1; }",
            "    for (i = 0; i < N_VECTORS; i++) {",
            "        float got = score(&VECTORS[i * WIDTH]); uint32_t gb; memcpy(&gb, &got, 4);",
            '        if (gb != EXPECTED[i]) { printf("vector %d\\n", i); return 1; }',
            '        if (anomaly_policy_is_anomaly(got) != FLAGS[i]) { printf("flag %d\\n", i); return 1; }',
            "    }",
            '    printf("ok %d\\n", N_VECTORS);',
            "    return 0;",
            "}",
            "",
        ]
    )


def compile_and_run(compiler: str, std: str, source: str, folder) -> str:
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed here; the header cannot be compiled in this test")
    exe = folder / f"check-{compiler}"
    src = folder / ("check.c" if compiler == "gcc" else "check.cpp")
    src.write_text(source)
    flags = ["-Wall", "-Wextra", "-Werror", "-pedantic", "-O0", "-ffp-contract=off", f"-std={std}"]
    done = subprocess.run(
        [compiler, *flags, "-I", str(folder), str(src), "-o", str(exe), "-lm"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=30).stdout


@pytest.mark.slow  # gcc and g++ compile and run a C program
@pytest.mark.parametrize("features", [False, True])
@pytest.mark.parametrize("smooth", [None, "10:7"])
@pytest.mark.parametrize("compiler,std", [("gcc", "c99"), ("g++", "c++11")])
def test_header_compiles_and_vectors_score_bit_for_bit(tmp_path, features, smooth, compiler, std):
    args = ["-o", tmp_path, "--threshold", "0.3", "--vectors", "40"]
    args += ["--smooth", smooth] if smooth else []
    args += ["--features", ANOMALY_SESSION_CSV] if features else []
    proc = run(META, *args)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "anomaly_policy.h", "test_vectors.csv"]
    with open(tmp_path / "test_vectors.csv", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    width = len(header) - 3
    assert header[width:] == ["expected_score_hex", "expected_score", "expected_anomaly"]
    assert header[:width] == [f"f{i}" for i in range(width)] and len(rows) == 40
    if features:
        assert width == 33  # the file's full feature vector
    scores = np.array([float(r[width + 1]) for r in rows], np.float32)
    if features:  # half of them: the file's rows nearest the threshold
        model = load_demo_model()
        table = read_feature_file(ANOMALY_SESSION_CSV)
        file_scores = score_table(table, model, map_columns(table, model)).score
        file_scores = file_scores[np.isfinite(file_scores)]
        nearest = file_scores[np.argsort(np.abs(file_scores.astype(np.float64) - 0.3))[:20]]
        assert set(nearest.tolist()) <= set(scores.tolist())
    else:
        assert np.sum(np.abs(scores - 0.3) < 0.05) >= 15  # many near the threshold
    assert scores.min() < 0 < 0.6 < scores.max()  # and across the range
    header_text = (tmp_path / "anomaly_policy.h").read_text()
    assert ("ANOMALY_POLICY_N_READINGS 10u" in header_text) == (smooth is not None)
    assert "0x3E99999Au" in header_text
    out = compile_and_run(compiler, std, checker_source(load_demo_model(), rows, width), tmp_path)
    assert out.strip() == "ok 40"


@pytest.mark.slow  # gcc compiles and runs a C program
def test_a_changed_model_fails_the_fingerprint(tmp_path):
    proc = run(META, "-o", tmp_path, "--threshold", "0.3", "--vectors", "4")
    assert proc.returncode == 0
    with open(tmp_path / "test_vectors.csv", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    model = load_demo_model()
    other = model.metadata.model_copy(update={"mean": [model.metadata.mean[0] + 1e-3, *model.metadata.mean[1:]]})
    changed = type(model)(other, model.feature_names)
    out = compile_and_run("gcc", "c99", checker_source(changed, rows, len(header) - 3), tmp_path)
    assert out.strip() == "fingerprint"


@pytest.mark.parametrize(
    "meta,args,message",
    [
        (META, ["--smooth", "2:3"], "between 1 and n readings"),
        (META, ["--vectors", "0"], "at least 1"),
        (GMM_BLOCK, [], "for a GMM block the firmware's check is its own TFLite file"),
    ],
)
def test_bad_handoff_input_exits_2_and_writes_nothing(tmp_path, meta, args, message):
    out = tmp_path / "dir"
    proc = run(meta, "-o", out, "--threshold", "0.3", *args)
    assert proc.returncode == 2 and not out.exists()
    assert message in proc.stderr

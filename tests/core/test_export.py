"""A deployment export read as a block: every header layout of the SDK versions in the wild, written
by `tests/support/exports.py` from known numbers (the demo's K-means and GMM blocks), as a folder and
as a zip; its data normalization applied exactly; and every malformed export refused with a message
naming the file and what was expected (exit 2 on the command line)."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest

from ei_anomaly.blocks import build_block, load_block
from ei_anomaly.blocks.files import block_from_json, block_to_json
from ei_anomaly.blocks.parts import FeatureSpace, Target
from ei_anomaly.errors import MetadataError
from tests.support import exports
from tests.support.cli import run_cli
from tests.support.constants import ROOT

GMM_DIR = ROOT / "ei_anomaly" / "data" / "demo" / "gmm"


@pytest.fixture(scope="module")
def gmm():
    return load_block(GMM_DIR), (GMM_DIR / "model.tflite").read_bytes()


def bits(x) -> np.ndarray:
    return np.ascontiguousarray(x, np.float32).view(np.uint32)


KMEANS_LAYOUTS = {
    "anomaly_clusters.h + anomaly_types.h": exports.kmeans_types_clusters,
    "anomaly_clusters.h": exports.kmeans_clusters_f,
    "anomaly_metadata.h": exports.kmeans_metadata,
}


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
@pytest.mark.parametrize("layout", list(KMEANS_LAYOUTS))
def test_each_kmeans_header_layout_gives_the_compilers_float32_values(tmp_path, demo_model, layout, zipped):
    files = KMEANS_LAYOUTS[layout](demo_model)
    path = exports.write_export(
        tmp_path / "lib", files, zipped=zipped, prefix="demo_inferencing/src/" if zipped else ""
    )
    block = load_block(path)
    assert block.setup.origin.layout == layout
    assert block.kind == demo_model.kind and block.axes == demo_model.axes
    for name in ("mean", "scale", "centers", "max_errors"):
        assert np.array_equal(bits(getattr(block, name)), bits(getattr(demo_model, name))), name
    assert block.setup.target is Target.CORTEX_M  # an export is scored for the device by default
    rows = demo_model.probe_rows(300)
    assert np.array_equal(bits(block.score_axes(rows).score), bits(demo_model.score_axes(rows).score))


@pytest.mark.parametrize("layout", ["flatbuffer", "eon"])
def test_a_gmm_export_is_its_graph_whether_a_byte_array_or_eon_compiled(tmp_path, gmm, layout):
    block, tflite = gmm
    files = exports.gmm_flatbuffer(block, tflite) if layout == "flatbuffer" else exports.gmm_eon(block, tflite)
    got = load_block(exports.write_export(tmp_path / "lib", files))
    assert (
        got.kind == block.kind and got.units.count == block.units.count
    )  # EI_CLASSIFIER_HAS_ANOMALY is 1: the files say GMM
    rows = block.probe_rows(1000)
    for target in Target:
        want = block.with_setup(target=target).score_axes(rows).score
        assert np.array_equal(bits(got.with_setup(target=target).score_axes(rows).score), bits(want))
    # the mixture read back from the graph is the block's (it draws the map)
    assert np.allclose(got.gmm.means, block.gmm.means, rtol=1e-4, atol=1e-4)
    assert np.allclose(got.gmm.weights, block.gmm.weights, atol=1e-4)
    assert got.log_likelihood_scaler == pytest.approx(block.log_likelihood_scaler, rel=1e-6)


def test_the_threshold_is_read_where_the_export_keeps_it(tmp_path, gmm):
    block, tflite = gmm
    got = load_block(exports.write_export(tmp_path / "eon", exports.gmm_eon(block, tflite, threshold=2.5)))
    assert got.default_threshold == 2.5 and "anomaly_threshold" in got.setup.origin.threshold_note
    none = load_block(exports.write_export(tmp_path / "fb", exports.gmm_flatbuffer(block, tflite)))
    assert none.anomaly_threshold is None and "keeps the anomaly threshold out" in none.setup.origin.threshold_note


def normalization_for(block, seed: int = 7):
    """Per DSP output: a mean and an inverse standard deviation, float32-exact as literals."""
    rng = np.random.default_rng(seed)
    n = max(block.axes) + 1
    return rng.uniform(-30, 30, n).astype(np.float32), rng.uniform(0.05, 12, n).astype(np.float32)


def test_raw_dsp_rows_are_normalized_with_the_exports_constants_in_float32(tmp_path, demo_model):
    mean, inverse = normalization_for(demo_model)
    files = exports.kmeans_metadata(demo_model, normalization=(mean, inverse))
    block = load_block(exports.write_export(tmp_path / "lib", files))
    norm = block.setup.normalization
    assert np.array_equal(bits(norm.mean), bits(mean[block.axes])) and norm.dsp_blocks == (5,)
    rng = np.random.default_rng(1)
    raw = rng.uniform(-50, 50, (500, max(block.axes) + 1)).astype(np.float32)
    # the SDK's order: (x - u) in float32, then times 1/std in float32 (not a division, not in float64)
    z = np.multiply(np.subtract(raw, mean, dtype=np.float32), inverse, dtype=np.float32)
    assert np.array_equal(bits(block.score_full(raw).score), bits(demo_model.score_full(z).score))
    divided = ((raw.astype(np.float64) - mean) / (1 / inverse.astype(np.float64))).astype(np.float32)
    assert not np.array_equal(bits(demo_model.score_full(divided).score), bits(block.score_full(raw).score))
    already = block.with_setup(features_are=FeatureSpace.NORMALIZED)
    assert np.array_equal(bits(already.score_full(z).score), bits(demo_model.score_full(z).score))
    assert "normalized with the export's constants" in block.rows_note and "already normalized" in already.rows_note
    assert block.fingerprint != already.fingerprint  # caches keep the two apart
    again = block_from_json(block_to_json(block, {"axes", "mean", "scale", "clusters"}))
    assert again.fingerprint == block.fingerprint  # a Dask worker scores as this process does


def test_score_says_what_happened_to_the_rows(tmp_path, demo_model):
    mean, inverse = normalization_for(demo_model)
    export = exports.write_export(tmp_path / "lib", exports.kmeans_metadata(demo_model, normalization=(mean, inverse)))
    raw = np.random.default_rng(2).uniform(-50, 50, (50, max(demo_model.axes) + 1)).astype(np.float32)
    features = tmp_path / "raw.csv"
    np.savetxt(
        features, raw, fmt="%.9g", delimiter=",", header=",".join(f"f{i}" for i in range(raw.shape[1])), comments=""
    )
    out = tmp_path / "scored.parquet"
    result = run_cli("score", str(export), str(features), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "normalized with the export's constants" in result.stderr
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert b"normalized with the export's constants" in table.schema.metadata[b"anomaly_lens.rows"]
    z = np.multiply(np.subtract(raw, mean, dtype=np.float32), inverse, dtype=np.float32)
    assert np.array_equal(bits(table.column("anomaly_score").to_numpy()), bits(demo_model.score_full(z).score))
    normalized = run_cli("score", str(export), str(features), "--features-are", "normalized")
    assert normalized.returncode == 0 and "already normalized" in normalized.stderr
    refused = run_cli("score", str(ROOT / "ei_anomaly/data/demo/metadata.json"), str(features), "--features-are", "raw")
    assert refused.returncode == 2 and refused.stderr.startswith("error: --features-are applies to a deployment export")


def test_an_export_with_several_anomaly_blocks_asks_which(tmp_path, demo_model):
    one = exports.kmeans_metadata(demo_model, block_id=6)
    two = exports.kmeans_metadata(demo_model, block_id=9)
    files = dict(one)
    files["model-parameters/anomaly_metadata.h"] += two["model-parameters/anomaly_metadata.h"].replace(
        exports.HEADER, ""
    )
    files["model-parameters/model_variables.h"] += (
        two["model-parameters/model_variables.h"].split("const ei_learning", 1)[1].join(["const ei_learning", ""])
    )
    path = exports.write_export(tmp_path / "lib", files, zipped=True)
    with pytest.raises(
        MetadataError, match=r"holds 2 anomaly blocks: #6 \(K-means\), #9 \(K-means\); choose one, e.g. lib.zip#6"
    ):
        load_block(path)
    assert load_block(f"{path}#9").setup.origin.block_id == 9
    result = run_cli("score", str(path), str(ROOT / "ei_anomaly/data/demo/session_with_anomalies.csv"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "choose one" in result.stderr


def zip_of(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def good_files(demo_model):
    return {k: v.encode() for k, v in exports.kmeans_metadata(demo_model).items()}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("truncated", r"bad\.zip is not a zip archive, or it is cut short"),
        ("not a zip", r"bad\.zip is not a zip archive"),
        ("no model-parameters", r"no model-parameters/ folder in the zip: expected a C\+\+ or Arduino library"),
        ("no anomaly block", r"no anomaly block in model-parameters/: expected a K-means block"),
        ("junk in a header", r"anomaly_metadata\.h: ei_classifier_anom_clusters_4242_6: cluster 0 is not"),
        ("a cut header", r"a brace is never closed: the file is cut short"),
        ("a number that is not one", r"ei_classifier_anom_scale_4242_6: expected a number, found 'banana'"),
        ("path escaping", r"refusing '\.\./\.\./etc/cron\.d/x': its path escapes the folder"),
        ("absolute path", r"refusing '/tmp/x\.h': its path escapes the folder"),
        ("symlink", r"refusing 'model-parameters/link\.h': it is a symbolic link"),
        ("zip bomb", r"model-parameters/model_metadata\.h expands to more than .* refusing it as a zip bomb"),
    ],
)
def test_every_malformed_export_gets_a_clear_message_and_exit_2(tmp_path, good_files, case, message):
    files = dict(good_files)
    symlink = None
    if case == "no model-parameters":
        files = {f"src/{k.replace('model-parameters', 'params')}": v for k, v in files.items()}
    elif case == "no anomaly block":
        files = {k: v for k, v in files.items() if "anomaly_metadata" not in k}
        files["model-parameters/model_variables.h"] = b"const int x[] = { 1 };"
    elif case == "junk in a header":
        files["model-parameters/anomaly_metadata.h"] = files["model-parameters/anomaly_metadata.h"].replace(
            b"\t{ ( float[3] ) {", b"\t{ junk, ( float[3] ) {", 1
        )
    elif case == "a cut header":
        files["model-parameters/anomaly_metadata.h"] = files["model-parameters/anomaly_metadata.h"][:-40]
    elif case == "a number that is not one":
        text = files["model-parameters/anomaly_metadata.h"].decode()
        head, sep, tail = text.partition("ei_classifier_anom_scale_4242_6[3] = { ")
        files["model-parameters/anomaly_metadata.h"] = (head + sep + "banana, " + tail.split(",", 1)[1]).encode()
    elif case == "path escaping":
        files["../../etc/cron.d/x"] = b"* * * * * root boom"
    elif case == "absolute path":
        files["/tmp/x.h"] = b""
    elif case == "symlink":
        symlink = "model-parameters/link.h"
    elif case == "zip bomb":
        files["model-parameters/model_metadata.h"] = b"\0" * (30 << 20)
    data = zip_of(files, symlink=symlink)
    if case == "truncated":
        data = data[: len(data) // 2]
    elif case == "not a zip":
        data = b"this is no zip\n" * 10
    path = tmp_path / "bad.zip"
    path.write_bytes(data)
    with pytest.raises(MetadataError, match=message):
        load_block(path)
    result = run_cli("score", str(path), str(ROOT / "ei_anomaly/data/demo/session_with_anomalies.csv"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: metadata: ") and result.stderr.count("\n") == 1, result.stderr


def test_an_eon_graph_with_ops_no_gmm_scorer_has_is_refused_by_name(tmp_path, gmm):
    block, tflite = gmm
    ops = [op.kind for op in block.graph.ops]
    ops[0] = "CONV_2D"
    files = exports.gmm_eon(block, tflite, ops=ops)
    with pytest.raises(
        MetadataError,
        match=r"tflite_anomaly_8_compiled\.cpp: op 0 of the graph is CONV_2D: not one of a GMM scorer's ops",
    ):
        load_block(exports.write_export(tmp_path / "lib", files))


def test_an_oversized_export_is_refused_before_it_is_opened(tmp_path, good_files, monkeypatch):
    monkeypatch.setenv("ANOMALY_LENS_MAX_EXPORT_MB", "1")
    path = tmp_path / "big.zip"
    path.write_bytes(zip_of({**good_files, "filler.bin": np.random.default_rng(0).bytes(2 << 20)}))
    with pytest.raises(MetadataError, match=r"big\.zip is 2\.0 MB; the limit is 1\.0 MB.*ANOMALY_LENS_MAX_EXPORT_MB"):
        load_block(path)


def test_a_block_built_from_an_export_is_built_by_build_block(tmp_path, demo_model):
    from ei_anomaly.blocks.export import read_export

    files = read_export(exports.write_export(tmp_path / "lib", exports.kmeans_metadata(demo_model)))
    assert build_block(files).fingerprint == load_block(tmp_path / "lib").fingerprint


def test_outside_text_in_an_export_stays_text(tmp_path, demo_model):
    """The project's name and an Arduino library's name come from the export: in the report they are
    escaped, on a terminal control characters show as escapes."""
    payload = '<img src="http://127.0.0.1:9/p" onerror="x()">[md](http://127.0.0.1:9/l)\x1b[31mred'
    files = exports.kmeans_metadata(demo_model)
    files["model-parameters/model_metadata.h"] = files["model-parameters/model_metadata.h"].replace(
        '"Test press"', '"' + payload.replace('"', '\\"') + '"'
    )
    files["library.properties"] = f"name={payload}\nversion=1\n"
    path = exports.write_export(tmp_path / "lib", files, zipped=True)
    block = load_block(path)
    assert payload in block.setup.origin.name and payload.replace('"', '\\"') in block.setup.origin.project
    from ei_anomaly.report import Review

    html = Review(path).to_html()
    assert "&lt;img src=" in html and '<img src="http://127.0.0.1:9' not in html
    result = run_cli("parity", str(path), str(path))
    assert result.returncode == 0 and "\x1b" not in result.stdout


def test_normalization_whose_dsp_blocks_cannot_be_read_is_refused_not_ignored(tmp_path, demo_model):
    mean, inverse = normalization_for(demo_model)
    files = exports.kmeans_metadata(demo_model, normalization=(mean, inverse))
    name = "model-parameters/model_variables.h"
    files[name] = files[name].replace("&extract_spectral_analysis_features", "some_other_layout")
    with pytest.raises(MetadataError, match="the export normalizes DSP output .* cannot be read"):
        load_block(exports.write_export(tmp_path / "lib", files))


def test_handoff_of_an_export_with_normalization_writes_raw_vectors_and_says_so(tmp_path, demo_model):
    mean, inverse = normalization_for(demo_model)
    export = exports.write_export(tmp_path / "lib", exports.kmeans_metadata(demo_model, normalization=(mean, inverse)))
    result = run_cli("handoff", str(export), "-o", str(tmp_path / "out"), "--threshold", "0.3")
    assert result.returncode == 0, result.stderr
    import pandas as pd

    vectors = pd.read_csv(tmp_path / "out" / "test_vectors.csv")
    raw = vectors[[f"f{i}" for i in range(max(demo_model.axes) + 1)]].to_numpy(np.float32)
    z = np.multiply(np.subtract(raw, mean, dtype=np.float32), inverse, dtype=np.float32)
    want = [f"{int(v):08X}" for v in bits(demo_model.score_full(z).score)]
    assert vectors["expected_score_hex"].tolist() == want
    assert "run its data normalization (`run_data_normalization`)" in (tmp_path / "out" / "README.md").read_text()

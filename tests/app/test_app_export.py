"""A deployment export in the app: the sidebar's file source takes the .zip (which block, which target,
what the feature files hold), Overview says what it held, Scoring says what happens to the rows,
Compare takes it as block B and holds it against A number for number; a Studio project whose DSP
block normalizes gets a warning on Scoring and Fleet."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from ei_anomaly.blocks import load_block
from ei_anomaly.review import SourceKind
from tests.support import exports
from tests.support.apptest import LOCAL_API_SETTINGS, goto, no_problems
from tests.support.constants import API_KEY, ROOT

GMM_DIR = ROOT / "ei_anomaly" / "data" / "demo" / "gmm"


def zipped(tmp_path, files, name="firmware"):
    return exports.write_export(tmp_path / name, files, zipped=True, prefix=f"{name}_inferencing/src/").read_bytes()


def use_export(at, data: bytes, name: str = "firmware.zip"):
    at.sidebar.radio[0].set_value(SourceKind.FILE).run()
    at.sidebar.file_uploader[0].set_value((name, data, "application/zip"))
    return at.run()


def plain(text: object) -> str:
    """Text as read, without the backslashes `md_escape` puts before punctuation."""
    return re.sub(r"\\(.)", r"\1", str(text))


def texts(at) -> str:
    parts = [e.value for kind in ("info", "warning", "caption", "markdown", "success") for e in at.get(kind)]
    return "\n".join(plain(p) for p in parts)


@pytest.fixture(scope="module")
def demo_block():
    return load_block(ROOT / "ei_anomaly" / "data" / "demo" / "metadata.json")


def test_an_export_with_data_normalization_is_reviewed_as_it_runs(app, tmp_path, demo_block):
    rng = np.random.default_rng(4)
    n = max(demo_block.axes) + 1
    normalization = (rng.uniform(-5, 5, n).astype(np.float32), rng.uniform(0.5, 2, n).astype(np.float32))
    at = use_export(app(), zipped(tmp_path, exports.kmeans_metadata(demo_block, normalization=normalization)))
    no_problems(at)
    shown = texts(at)
    assert "Rows: raw DSP features, normalized with the export" in shown
    assert "Target: **Cortex-M (single-precision FPU)**" in shown
    frames = [f.value for f in at.dataframe]
    origin = next(f for f in frames if "read from the export" in f.columns)
    assert "anomaly_metadata.h, block #6" in origin["read from the export"].tolist()
    rows = [r for r in at.sidebar.radio if r.label == "Feature files hold"]
    assert rows and rows[0].value == "raw"
    rows[0].set_value("normalized").run()
    no_problems(at)
    assert "features taken as already normalized" in texts(at)
    assert not [r for r in at.sidebar.radio if r.label == "Scores exact to"]  # K-means: exact on every target


def test_a_gmm_export_names_its_target_and_it_can_be_changed(app, tmp_path):
    block, tflite = load_block(GMM_DIR), (GMM_DIR / "model.tflite").read_bytes()
    at = use_export(app(), zipped(tmp_path, exports.gmm_eon(block, tflite)))
    no_problems(at)
    target = next(r for r in at.sidebar.radio if r.label == "Scores exact to")
    assert target.value == "cortex-m"
    assert "Target: **Cortex-M (single-precision FPU)**" in texts(at)
    target.set_value("linux").run()
    no_problems(at)
    assert "Linux/x86 runner" in texts(at)


def test_an_export_holding_two_anomaly_blocks_asks_which(app, tmp_path, demo_block):
    one, two = exports.kmeans_metadata(demo_block, block_id=6), exports.kmeans_metadata(demo_block, block_id=9)
    files = dict(one)
    files["model-parameters/anomaly_metadata.h"] += two["model-parameters/anomaly_metadata.h"]
    files["model-parameters/model_variables.h"] += (
        "const ei_learning" + two["model-parameters/model_variables.h"].split("const ei_learning", 1)[1]
    )
    at = use_export(app(), zipped(tmp_path, files))
    no_problems(at)
    choice = next(s for s in at.sidebar.selectbox if s.label == "Anomaly block of the export")
    assert choice.options == ["#6 (K-means)", "#9 (K-means)"]
    choice.select_index(1).run()
    no_problems(at)
    assert "block #9" in " ".join(str(v) for f in at.dataframe for v in f.value.to_numpy().ravel())


def test_compare_holds_the_firmware_against_the_block_in_studio(app, tmp_path, demo_block):
    at = goto(app(), "compare")
    at.radio(key="compare_source").set_value(at.radio(key="compare_source").options[-1]).run()
    at.file_uploader(key="compare_files").set_value(
        [("firmware.zip", zipped(tmp_path, exports.kmeans_metadata(demo_block)), "application/zip")]
    ).run()
    no_problems(at)
    assert any(plain(s.value).startswith("same: A: ") for s in at.success), [s.value for s in at.success]
    moved = demo_block.files().metadata
    moved["clusters"][0]["center"][0] += 0.5
    moved_file = ("moved.json", json.dumps(moved).encode(), "application/json")
    at.file_uploader(key="compare_files").set_value([moved_file]).run()
    no_problems(at)
    assert any(plain(w.value).startswith("differs: ") for w in at.warning), [w.value for w in at.warning]


def test_a_studio_dsp_block_that_normalizes_is_warned_about(app, use_api, writable_api):
    writable_api.stub.dsp_normalize[2] = "normalize-channel-standard-scaler"
    at = use_api(app(secrets=LOCAL_API_SETTINGS), writable_api.base_url, API_KEY)
    for page in ("scoring", "fleet"):
        at = goto(at, page)
        assert not at.exception
        warnings = [plain(w.value) for w in at.warning]
        assert any("Studio normalizes the output of DSP block #2" in w for w in warnings), warnings

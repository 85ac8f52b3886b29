"""A Studio DSP block that normalizes its output (`normalizeData`, `GET /api/{projectId}/dsp/{dspId}`):
the local API answers as the official model says, the client reads it, a block fetched from Studio
carries it, and the command line warns that raw features cannot be scored from the metadata alone."""

from __future__ import annotations

import json

import pytest

from ei_anomaly.blocks.fetch import fetch_block, studio_normalization
from tests.support.cli import run_cli
from tests.support.constants import API_KEY, BLOCK_ID, GMM_BLOCK_ID, PROJECT_ID, ROOT

models = pytest.importorskip("edgeimpulse_api.models")
NORMALIZE = "normalize-channel-standard-scaler"


def test_the_dsp_config_answer_validates_against_the_official_model(local_api):
    body = local_api.get(f"/api/{PROJECT_ID}/dsp/2").json()
    assert models.DSPConfigResponse.from_dict(body).dsp.normalize_data == "none"
    local_api.stub.dsp_normalize[2] = NORMALIZE
    parsed = models.DSPConfigResponse.from_dict(local_api.get(f"/api/{PROJECT_ID}/dsp/2").json())
    assert parsed.dsp.normalize_data == NORMALIZE and parsed.dsp.can_normalize_data is True
    assert local_api.get(f"/api/{PROJECT_ID}/dsp/99").status == 404


def test_a_fetched_block_knows_whether_studio_normalizes_its_dsp_output(local_api):
    client = local_api.client()
    assert client.learn_block_dsp_ids(PROJECT_ID, BLOCK_ID) == [2]
    assert studio_normalization(client, PROJECT_ID, BLOCK_ID) == {}
    block = fetch_block(client, PROJECT_ID, BLOCK_ID)
    assert block.setup.studio_normalizes == () and block.rows_note is None
    local_api.stub.dsp_normalize[2] = NORMALIZE
    for learn_id in (BLOCK_ID, GMM_BLOCK_ID):
        block = fetch_block(client, PROJECT_ID, learn_id)
        assert block.setup.studio_normalizes == (2,)
        assert "raw DSP features cannot be scored right from the metadata alone" in block.rows_note
        assert "Open the deployment export" in block.rows_note


def test_fetch_and_score_warn_when_studio_normalizes(tmp_path, writable_api):
    writable_api.stub.dsp_normalize[2] = NORMALIZE
    env = {"EI_API_KEY": API_KEY}
    out = tmp_path / "block"
    base = ("--project-id", PROJECT_ID, "--learn-id", BLOCK_ID, "--base-url", writable_api.base_url)
    fetched = run_cli("fetch", *base, "-o", out, env=env)
    assert fetched.returncode == 0, fetched.stderr
    assert "warning: Studio normalizes the output of DSP block #2" in fetched.stderr
    saved = json.loads((out / "dsp_normalization.json").read_text())
    assert saved == {"dspBlocks": [{"id": 2, "normalizeData": NORMALIZE}]}
    scored = run_cli("score", out, ROOT / "ei_anomaly/data/demo/session_with_anomalies.csv", "-o", tmp_path / "s.csv")
    assert scored.returncode == 0 and "warning: Studio normalizes the output of DSP block #2" in scored.stderr
    writable_api.stub.dsp_normalize[2] = "none"
    again = run_cli("fetch", *base, "-o", tmp_path / "clean", env=env)
    assert again.returncode == 0 and "warning" not in again.stderr
    assert not (tmp_path / "clean" / "dsp_normalization.json").exists()

"""Issue 17 in the app: a metadata value shown as a metric stays text (item 2), and the deployer
decides who may write to Edge Impulse (item 12, `ANOMALY_LENS_ALLOW_WRITE`)."""

from __future__ import annotations

import json
import re

import pytest

from ei_anomaly.review import SourceKind
from tests.support.apptest import LOCAL_API_SETTINGS, goto, no_problems
from tests.support.constants import API_KEY, BLOCK_ID, ROOT

IMG = "![x](http://127.0.0.1:9/x.png)"
LIVE_MARKDOWN = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(")


def test_a_metadata_value_shown_as_a_metric_is_text(app, use_json_source):
    meta = json.loads((ROOT / "ei_anomaly/data/demo/metadata.json").read_text())
    for m in meta["modelValidationMetrics"]:
        m["additionalMetrics"][0]["value"] = IMG
        m["additionalMetrics"][1]["value"] = "[click](http://127.0.0.1:9/)"
    at = goto(use_json_source(app(), json.dumps(meta).encode()), "validation")
    no_problems(at)
    shown = [(m.label, m.value, m.help or "") for m in at.metric]
    assert len(shown) >= 4
    live = [s for s in shown if any(LIVE_MARKDOWN.search(part) for part in s)]
    assert not live, live
    assert any("127" in value for _, value, _ in shown), "the value is still shown (as text)"


def save_button(app, use_api, base_url: str, typed_key: str, **secrets: str):
    settings = {**LOCAL_API_SETTINGS, "EI_API_KEY": API_KEY, "EI_API_BASE_URL": base_url, **secrets}
    at = goto(use_api(app(settings), base_url, typed_key), "thresholds")
    no_problems(at)
    at.slider[0].set_value(0.65).run()
    return at, at.button(key="save_open")


def test_by_default_the_servers_key_cannot_write_and_the_page_says_why(writable_api, app, use_api):
    at, button = save_button(app, use_api, writable_api.base_url, "")
    assert button.disabled
    said = " ".join([*(c.value for c in at.caption), button.help or ""]).replace("\\", "")
    assert "your own" in said and "API key" in said, said


def test_a_deployer_can_allow_writes_with_the_servers_key(writable_api, app, use_api):
    at, button = save_button(app, use_api, writable_api.base_url, "", ANOMALY_LENS_ALLOW_WRITE="server")
    assert not button.disabled
    button.click().run()
    at.button(key="save_confirm").click().run()
    no_problems(at)
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.65


@pytest.mark.parametrize("typed", ["", API_KEY])
def test_a_deployer_can_turn_writes_off(writable_api, app, use_api, typed):
    at, button = save_button(app, use_api, writable_api.base_url, typed, ANOMALY_LENS_ALLOW_WRITE="off")
    assert button.disabled
    said = " ".join([*(c.value for c in at.caption), button.help or ""]).replace("\\", "")
    assert "turned off" in said, said
    assert writable_api.stub.blocks[BLOCK_ID].metadata["thresholds"][0]["value"] == 0.3


def test_the_visitors_own_key_may_write_by_default(writable_api, app, use_api):
    _, button = save_button(app, use_api, writable_api.base_url, API_KEY)
    assert not button.disabled


def test_a_bad_write_setting_is_a_clear_error(app):
    at = app({"EI_API_KEY": API_KEY, "ANOMALY_LENS_ALLOW_WRITE": "maybe"})
    at.sidebar.radio[0].set_value(SourceKind.PROJECT).run()
    assert not at.exception
    assert any("ANOMALY_LENS_ALLOW_WRITE" in e.value.replace("\\", "") for e in at.error)


def test_uploads_are_bounded_server_wide_and_a_released_file_is_said(monkeypatch, app, upload_demo_csv):
    """Two visitors, room for one scored upload: the first visitor's file is released, and its page
    says so instead of showing another visitor's data or failing."""
    monkeypatch.setenv("ANOMALY_LENS_MAX_HELD_ITEMS", "2")  # one visitor's opened + scored file
    first = upload_demo_csv(app())
    assert [m.value for m in first.metric if m.label == "Rows"] == ["595"]
    second = upload_demo_csv(app())
    no_problems(second)
    first.file_uploader[0].set_value(None)
    first = first.run()
    no_problems(first)
    said = " ".join(i.value for i in first.info).replace("\\", "")
    assert "was released to make room" in said, said
    assert not [m for m in first.metric if m.label == "Rows"]

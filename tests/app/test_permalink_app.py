"""Permalinks through AppTest: a link's parameters restore the view, bad ones get a note (never an
exception), values are shown as text, and the view is written back to the URL (never a key)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support.apptest import TIMEOUT
from tests.support.constants import API_KEY, ROOT


def open_link(page: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    if page is not None:
        at.switch_page(f"pages/{page}.py").run()
    return at


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


def test_a_link_restores_the_block_threshold_and_policy():
    at = open_link("fleet", block="5", threshold="0.9", smooth="5:3", cooldown="30")
    assert not at.exception
    assert at.sidebar.selectbox[0].value == 5
    assert at.slider[0].value == 0.9
    assert at.number_input(key="fleet_n_readings").value == 5
    assert at.number_input(key="fleet_min_same").value == 3
    assert at.number_input(key="fleet_cooldown_min").value == 30
    written = at.query_params
    assert written["block"] == "5" and written["threshold"] == "0.9" and written["smooth"] == "5:3"


def test_bad_parameters_get_notes_and_the_defaults():
    at = open_link(None, block="99", threshold="nan", smooth="0:0", source="ftp", budget="x")
    assert not at.exception
    said = warnings(at).replace("\\", "")
    for part in ("source (`ftp`)", "block (`99`)", "threshold (`nan`)", "smoothing (`0:0`)"):
        assert part in said, part
    assert at.sidebar.selectbox[0].value == 4  # the demo's first block
    assert at.query_params["source"] == "demo"


def test_a_hostile_value_is_shown_as_text():
    payload = "![x](http://127.0.0.1:9/x.png)<img src=x onerror=alert(1)>"
    at = open_link(None, block=payload)
    assert not at.exception
    note = next(w.value for w in at.warning if "block" in w.value)
    assert f"`{payload}`" in note  # inside a code span: never rendered as markdown


def test_a_project_link_carries_ids_and_never_a_key(writable_api):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.secrets["EI_API_BASE_URL"] = writable_api.base_url
    at.secrets["EI_API_KEY"] = API_KEY
    for name, value in {"source": "project", "project": "48213", "block": "5", "threshold": "1.5"}.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception
    assert at.selectbox(key="ei_block").value == 5
    written = at.query_params
    assert written["project"] == "48213" and written["block"] == "5" and written["threshold"] == "1.5"
    assert API_KEY not in repr(dict(written))

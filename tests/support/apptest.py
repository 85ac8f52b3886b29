"""Driving the app through Streamlit's AppTest: start it, set up the sidebar, read what it shows.

The start-up and sidebar set-up reach the tests as fixtures (`tests/conftest.py`); the readers
here are plain functions."""

from __future__ import annotations

import streamlit as st
from streamlit.testing.v1 import AppTest

from ei_anomaly.demo import ANOMALY_SESSION_CSV, load_demo_model
from ei_anomaly.features import map_columns, read_feature_file, score_table
from ei_anomaly.review import SourceKind
from tests.support.constants import PROJECT_ID, ROOT

TIMEOUT = 90

# The API tests point the sidebar at the local server over http. A deployment allows that only
# when it says so (ei_anomaly/deploy.py): these are the settings a developer would put in secrets.
LOCAL_API_SETTINGS = {"ANOMALY_LENS_ALLOW_CUSTOM_BASE_URL": True, "ANOMALY_LENS_ALLOW_HTTP": True}


def clear_streamlit_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


# --- start-up and sidebar set-up (the `app`, `use_json_source`, `use_api`, `upload_demo_csv` fixtures)


def start_app(secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for name, value in (secrets or {}).items():
        at.secrets[name] = value
    return at.run()


def choose_json_source(at: AppTest, content: bytes) -> AppTest:
    at.sidebar.radio[0].set_value(SourceKind.FILE).run()
    at.sidebar.file_uploader[0].set_value(("meta.json", content, "application/json"))
    return at.run()


def choose_api_source(at: AppTest, base_url: str, key: str) -> AppTest:
    at.sidebar.radio[0].set_value(SourceKind.PROJECT).run()
    at.text_input(key="ei_project_id").set_value(str(PROJECT_ID))
    at.text_input(key="ei_api_key").set_value(key)
    at.text_input(key="ei_base_url").set_value(base_url)
    return at.run()


def score_demo_csv(at: AppTest) -> AppTest:
    at = goto(at, "scoring")
    at.file_uploader[0].set_value(("session.csv", ANOMALY_SESSION_CSV.read_bytes(), "text/csv"))
    return at.run()


# --- navigating and reading


def goto(at: AppTest, page: str) -> AppTest:
    return at.switch_page(f"pages/{page}.py").run()


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def expected_anomalies(threshold: float) -> int:
    """How many rows of the demo's anomaly session the core flags at `threshold`."""
    model = load_demo_model()
    table = read_feature_file(ANOMALY_SESSION_CSV)
    return score_table(table, model, map_columns(table, model)).count_anomalies(threshold)

"""Anomaly Lens: the entry point is only a router plus the sidebar data source."""

from pathlib import Path

import streamlit as st

from components import loaders
from components.errors import redact_logs, show_unexpected
from components.released import show_releases
from components.source import secrets_to_scrub, show_source_sidebar

HERE = Path(__file__).parent

st.set_page_config(page_title="Anomaly Lens", page_icon=":material/radar:", layout="wide")
redact_logs(secrets_to_scrub)
st.logo(str(HERE / "components" / "assets" / "logo.svg"), size="large")

pages = {
    "Model": [
        st.Page(HERE / "pages" / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(HERE / "pages" / "clusters.py", title="Clusters", icon=":material/bubble_chart:"),
    ],
    "Evaluate": [
        st.Page(HERE / "pages" / "validation.py", title="Validation", icon=":material/fact_check:"),
        st.Page(HERE / "pages" / "on_device.py", title="On-device", icon=":material/memory:"),
        st.Page(HERE / "pages" / "thresholds.py", title="Thresholds", icon=":material/tune:"),
        st.Page(HERE / "pages" / "compare.py", title="Compare", icon=":material/compare_arrows:"),
    ],
    "Score data": [
        st.Page(HERE / "pages" / "scoring.py", title="Scoring", icon=":material/upload_file:"),
        st.Page(HERE / "pages" / "fleet.py", title="Fleet", icon=":material/sensors:"),
    ],
}
navigation = st.navigation(pages)
loaders.warm_up_scoring()
try:
    show_source_sidebar()  # loads this run's source once; every page reads it (`require_source`)
    show_releases()  # what the server let go of this visitor's, and why
    navigation.run()
except Exception as exc:  # st.stop/st.rerun are BaseExceptions and pass through
    show_unexpected(exc, secrets=secrets_to_scrub())

"""Anomaly Lens: the entry point is only a router plus the sidebar data source."""

from pathlib import Path

import streamlit as st

from components import loaders, permalink, present
from components.errors import redact_logs, show_unexpected
from components.released import show_releases
from components.source import secrets_to_scrub, show_source_sidebar

HERE = Path(__file__).parent

st.set_page_config(page_title="Anomaly Lens", page_icon=":material/radar:", layout="wide")
redact_logs(secrets_to_scrub)
st.logo(str(HERE / "components" / "assets" / "logo.svg"), size="large")
st.html(HERE / "components" / "assets" / "theme.css")  # contrast the theme options cannot set

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
permalink.read_link(st.query_params.to_dict())  # once per session: the view a link carries
presenting = present.presenting()
navigation = st.navigation(pages, position="hidden" if presenting else "sidebar")
loaders.warm_up_scoring()
try:
    loaded = show_source_sidebar()  # loads this run's source once; every page reads it (`require_source`)
    with st.sidebar:
        present.show_present_toggle()
        permalink.show_copy_link()
    block = loaded.source.block if loaded.source is not None else None
    if block is not None:
        permalink.apply_view(block)
    permalink.publish(block)  # before the page: a page that stops early still leaves its link
    notes = st.empty()
    permalink.show_link_notes(notes, "before")
    show_releases()  # what the server let go of this visitor's, and why
    if presenting:
        present.show_presentation(loaded)
    else:
        navigation.run()
        permalink.publish(block)
    permalink.show_link_notes(notes, "after")  # and what the page's own widgets could not take
except Exception as exc:  # st.stop/st.rerun are BaseExceptions and pass through
    show_unexpected(exc, secrets=secrets_to_scrub())

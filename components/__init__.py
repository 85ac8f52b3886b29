"""Streamlit glue the pages share: the source sidebar, uploads, widgets (select_*/show_*), session
state keys, cached loaders, errors and the Streamlit workarounds. Figures, the review's decisions
and the report live in the core (`ei_anomaly.figures`, `ei_anomaly.review`, `ei_anomaly.report`)."""

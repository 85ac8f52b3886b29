"""Building blocks for the pages: pure Plotly figure builders and small Streamlit widgets."""

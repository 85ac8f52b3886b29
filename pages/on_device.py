"""On-device: latency, RAM and flash per MCU and inference engine, and a budget check."""

import streamlit as st

from components import state
from components.charts import show_chart
from components.source import require_source
from components.text import md_escape
from ei_anomaly.evaluation import fits_budget, on_device_frame
from ei_anomaly.figures import FLASH, RAM, fig_latency, fig_on_device
from ei_anomaly.review import device_model_type, match_demo

source = require_source()
frame = on_device_frame(source.model.metadata)

st.title("On-device performance")
if frame.empty:
    st.info(
        "This block's metadata has no on-device estimates. Studio adds them when it profiles the model.",
        icon=":material/info:",
    )
    st.stop()
if match_demo(source.model).illustrative:
    st.warning(
        "Demo project: these latency, RAM and flash figures are **illustrative**, not measured.",
        icon=":material/science:",
    )

types = list(dict.fromkeys(frame["model type"]))
shown = device_model_type(frame, source.model.metadata)
model_type = st.segmented_control("Model type", types, key=state.DEVICE_TYPE, default=shown, format_func=md_escape)
view = frame[frame["model type"] == (model_type or shown)]

show_chart(fig_latency(view), width="stretch", key="device_latency")
left, right = st.columns(2, gap="large")
with left:
    show_chart(fig_on_device(view, RAM), width="stretch", key="device_ram")
with right:
    show_chart(fig_on_device(view, FLASH), width="stretch", key="device_rom")
errors = view.drop_duplicates("device").query("`profiling error` != ''")
for _, row in errors.iterrows():
    st.caption(f"⚠ {md_escape(row['device'])}: {md_escape(row['profiling error'])}")
st.caption(
    "★ marks the project's default MCU. EON compiles the model to C++ and usually needs less RAM and "
    "flash than the TFLite interpreter; EON RAM-optimized trades a little flash for less RAM."
)

st.subheader("Does it fit?")
b1, b2 = st.columns(2)
ram = b1.number_input("RAM available for the model (KB)", min_value=0.0, value=2.0, step=0.5, key=state.BUDGET_RAM)
rom = b2.number_input("Flash available for the model (KB)", min_value=0.0, value=8.0, step=1.0, key=state.BUDGET_ROM)
table = view.assign(fits=fits_budget(view, ram, rom)).drop(columns=["model type", "mcu", "default"])
fitting = table[table["fits"]]
st.markdown(f"**{len(fitting)} of {len(table)}** MCU × engine combinations fit {ram:g} KB RAM and {rom:g} KB flash.")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        "fits": st.column_config.CheckboxColumn("fits"),
        "latency (ms)": st.column_config.NumberColumn(format="%.0f"),
        "RAM (KB)": st.column_config.NumberColumn(format="%.1f"),
        "ROM (KB)": st.column_config.NumberColumn("flash (KB)", format="%.1f"),
        "profiling error": st.column_config.TextColumn(width="large"),
    },
)

"""On-device: latency, RAM and flash per MCU and inference engine, and a budget check."""

import streamlit as st

from components import permalink, state
from components.charts import show_chart
from components.report_download import show_report_download
from components.source import require_source
from components.text import md_escape
from components.threshold import shared_threshold
from components.uploads import last_scored
from ei_anomaly.review import on_device_section

source = require_source()
block = source.block
shown = on_device_section(block)

st.title("On-device performance")
show_report_download(source, shared_threshold(block), scored=last_scored(block), key="on_device_report")
if shown is None:
    st.info(
        "This block's metadata has no on-device estimates. Studio adds them when it profiles the model.",
        icon=":material/info:",
    )
    st.stop()
if shown.illustrative:
    st.warning(
        "Demo project: these latency, RAM and flash figures are **illustrative**, not measured.",
        icon=":material/science:",
    )

permalink.seed(state.DEVICE_TYPE, permalink.MODEL_TYPE, shown.types, "model type")
model_type = st.segmented_control(
    "Model type", shown.types, key=state.DEVICE_TYPE, default=shown.model_type, format_func=md_escape
)
section = on_device_section(block, model_type) if model_type and model_type != shown.model_type else shown
assert section is not None  # the block has on-device figures (`shown`)

show_chart(section.latency_figure(), width="stretch", key="device_latency")
left, right = st.columns(2, gap="large")
with left:
    show_chart(section.ram_figure(), width="stretch", key="device_ram")
with right:
    show_chart(section.flash_figure(), width="stretch", key="device_rom")
for device, error in section.errors:
    st.caption(f"⚠ {md_escape(device)}: {md_escape(error)}")
st.caption(
    "★ marks the project's default MCU. EON compiles the model to C++ and usually needs less RAM and "
    "flash than the TFLite interpreter; EON RAM-optimized trades a little flash for less RAM."
)

st.subheader("Does it fit?")
b1, b2 = st.columns(2)
ram = b1.number_input("RAM available for the model (KB)", min_value=0.0, value=2.0, step=0.5, key=state.BUDGET_RAM)
rom = b2.number_input("Flash available for the model (KB)", min_value=0.0, value=8.0, step=1.0, key=state.BUDGET_ROM)
table = section.budget_table(ram, rom)
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

"""What is reviewed besides the block's numbers, shown alike on every page: what happens to the rows
of a feature file (an export's data normalization, or Studio's that cannot be applied), the target
the scores are exact to, what an export held, and the parity of two blocks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ei_anomaly.blocks import AnomalyBlock
from ei_anomaly.review import ModelCard
from ei_anomaly.review.parity import ParitySection

from .text import md_escape

__all__ = ["show_export_origin", "show_parity", "show_rows_note"]


def show_rows_note(block: AnomalyBlock) -> None:
    """A warning when Studio normalizes this block's DSP output with constants it does not give
    (raw features cannot be scored right); a note when an export's constants normalize the rows."""
    note = block.rows_note
    if note is None:
        return
    if block.setup.studio_normalizes:
        st.warning(md_escape(note, 1000) + ".", icon=":material/warning:")
    else:
        st.info("Rows: " + md_escape(note, 1000) + ".", icon=":material/info:")


def show_export_origin(card: ModelCard) -> None:
    """What a deployment export held (nothing for a block from Studio or a metadata file)."""
    if not card.export:
        return
    st.subheader("Deployment export")
    st.dataframe(
        pd.DataFrame([{"": what, "read from the export": where} for what, where in card.export]),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Hold it against the block in Studio on the Compare page (block B: its block directory or another export), "
        "or with `python -m ei_anomaly parity EXPORT BLOCK_DIR`."
    )


def show_parity(section: ParitySection) -> None:
    """Is A block B: the verdict, each compared part, every difference listed, and the notes."""
    st.subheader("Parity: is A block B?")
    verdict = md_escape(section.verdict, 1000)
    if section.same:
        st.success(verdict, icon=":material/check_circle:")
    else:
        st.warning(verdict, icon=":material/difference:")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "compared": p.part,
                    "values": p.count,
                    "differ": p.differing,
                    "largest relative difference": p.max_relative if p.differing and p.numeric else None,
                    "largest in float32 ULPs": p.max_ulps if p.differing and p.numeric else None,
                }
                for p in section.parts
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    if section.differences:
        with st.expander(f"Every difference ({section.differing:,})", icon=":material/list:"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "what": d.what,
                            "A": str(d.a),
                            "B": str(d.b),
                            "relative difference": d.relative,
                            "float32 ULPs": d.ulps,
                        }
                        for d in section.differences
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
            if section.differing > len(section.differences):
                st.caption(f"The first {len(section.differences):,} are listed.")
    for note in section.notes:
        st.caption(md_escape(note, 1000))

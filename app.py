"""CSPNet Explorer: Streamlit entry point (the presets overview until the full pages land)."""
import pandas as pd
import streamlit as st

from cspnet import all_presets, get_preset, plan_network

st.set_page_config(page_title="CSPNet Explorer", layout="wide")
st.title("CSPNet Explorer")
st.caption("Does a Cross Stage Partial design pay off, and why? Presets and their exact parameter counts.")

rows = []
for name, p in all_presets().items():
    cfg = get_preset(name)
    rows.append({"preset": name, "family": cfg.family, "fusion": cfg.fusion, "input": cfg.input_size,
                 "params": plan_network(cfg).params, "reference params": p.reference_params,
                 "reference": p.reference})
st.dataframe(pd.DataFrame(rows), hide_index=True, key="presets_table")

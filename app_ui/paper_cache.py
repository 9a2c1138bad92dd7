"""Bounded caches for the "Paper vs tool" page: the analytic parts of explorer.reproduce only.

Each result depends on nothing but the code and the published data set, so one entry each is enough.
Latency is never cached: ``claims(measure=True)`` is run by the page, for the one press of its button.
"""
from __future__ import annotations

import streamlit as st


@st.cache_data(max_entries=1, show_spinner=False)
def ablation() -> dict:
    """explorer.reproduce.fusion_ablation (builds and counts six PeleeNet variants; about a second)."""
    from explorer.reproduce import fusion_ablation

    return fusion_ablation()


@st.cache_data(max_entries=1, show_spinner=False)
def reproduce_records() -> list:
    """explorer.reproduce.reproduce: every published row with a preset, against this tool."""
    from explorer.reproduce import reproduce

    return reproduce()


@st.cache_data(max_entries=1, show_spinner=False)
def analytic_claims() -> list:
    """explorer.reproduce.claims(measure=False): compute only, no latency (a few seconds)."""
    from explorer.reproduce import claims

    return claims(measure=False)

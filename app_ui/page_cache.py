"""Bounded caches for the Sweep and Learn pages (explorer/st_cache.py holds the shared ones).

Keys are plain strings (``CSPConfig.key()``, ``key=range`` specs), never config objects.
Latency is never cached: it is a measurement.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.st_cache import config_from_key

SWEEP_CHUNK = 25  # first-knob values per cached chunk (the page shows progress between chunks)


def axes_from_specs(spec1: str, spec2: str | None) -> list:
    """``["key=range", ...]`` -> ``[(key, values), ...]`` (explorer.sweep.parse_vary; ConfigError)."""
    from explorer.sweep import parse_vary

    axes = [parse_vary(spec1)]
    if spec2:
        axes.append(parse_vary(spec2))
    return axes


@st.cache_data(max_entries=128, show_spinner=False)
def sweep_chunk(cfg_key: str, spec1: str, spec2: str | None, start: int, stop: int, with_twin: bool) -> pd.DataFrame:
    """Rows ``start:stop`` of the first knob's values, crossed with the second knob's values."""
    from explorer.sweep import sweep

    axes = axes_from_specs(spec1, spec2)
    (k1, v1), rest = axes[0], axes[1:]
    return sweep(config_from_key(cfg_key), [(k1, v1[start:stop])] + rest, with_twin=with_twin)


@st.cache_data(max_entries=64, show_spinner=False)
def lesson_step(step_key: str, values: tuple) -> dict:
    """Numbers, sentence and diagram of one lesson step for the learner's values (milliseconds;
    cached so that moving between steps is instant)."""
    from explorer import lesson

    vals = dict(values)
    numbers, text, err = lesson.safe_step(step_key, vals)
    out = {"numbers": numbers, "takeaway": text, "error": err, "dense_graph": None, "stage_dot": None,
           "design_key": None}
    if err is None:
        cfg = lesson.step_design(step_key, vals)
        out["dense_graph"] = lesson.dense_graph(cfg) if step_key in ("dense", "split") else None
        out["stage_dot"] = lesson.stage_dot(step_key, vals)
        out["design_key"] = lesson.step_design(step_key, vals).key()
    return out


@st.cache_data(max_entries=4, show_spinner=False)
def lesson_fusion_rows() -> list:
    from explorer import lesson

    return lesson.fusion_rows()

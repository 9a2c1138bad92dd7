"""The one module in explorer/ that uses Streamlit: bounded caches around the engine.

Keys are canonical config strings (``CSPConfig.key()``), never config objects, so cache keys stay
stable across reruns.  Every cache has ``max_entries``.  Nothing here draws anything.
"""
from __future__ import annotations

import json

import streamlit as st

from cspnet import CSPConfig


def config_from_key(key: str) -> CSPConfig:
    return CSPConfig.from_dict(json.loads(key))


@st.cache_data(max_entries=256, show_spinner=False)
def compare(cfg_key: str, batch: int) -> dict:
    """explorer.analysis.compare_with_twin (analytic, milliseconds)."""
    from .analysis import compare_with_twin

    return compare_with_twin(config_from_key(cfg_key), batch)


@st.cache_data(max_entries=256, show_spinner=False)
def summary(cfg_key: str) -> dict:
    from .analysis import summarize

    return summarize(config_from_key(cfg_key))


@st.cache_data(max_entries=8, show_spinner=False)
def live_trace(cfg_key: str) -> dict:
    """explorer.trace.live_trace: builds the real model; seconds."""
    from .trace import live_trace as _live_trace

    return _live_trace(config_from_key(cfg_key))


@st.cache_data(max_entries=64, show_spinner=False)
def dot(cfg_key: str, expand: tuple, rankdir: str = "TB") -> str:
    from .diagram import to_dot

    return to_dot(config_from_key(cfg_key), expand=expand, rankdir=rankdir)


@st.cache_data(max_entries=32, show_spinner=False)
def render(dot_text: str, fmt: str) -> bytes:
    """explorer.export.render_dot (Graphviz ``dot``); raises ExportError."""
    from .export import render_dot

    return render_dot(dot_text, fmt)


@st.cache_resource(max_entries=2, show_spinner=False)
def onnx(cfg_key: str) -> bytes:
    """explorer.export.onnx_bytes: builds and exports the model (bytes are immutable: no copies)."""
    from .export import onnx_bytes

    return onnx_bytes(config_from_key(cfg_key))


@st.cache_data(max_entries=1, show_spinner=False)
def published():
    from .published import load_published

    return load_published()

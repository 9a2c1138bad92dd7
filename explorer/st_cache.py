"""The one module in explorer/ that uses Streamlit: bounded caches around the engine.

Keys are canonical config strings (``CSPConfig.key()``), never config objects, so cache keys stay
stable across reruns.  Every cache has ``max_entries``.  Nothing here draws anything.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import threading
from contextlib import contextmanager

import streamlit as st

from cspnet import CSPConfig

from .budget import check_build


# Building a real model (live trace, ONNX export) allocates its weights and runs it.  Each build is
# first checked against the build budget (explorer/budget.py: refused before anything is allocated),
# and builds run one at a time: a class toggling the live trace at once built 30 models together
# before this (server RSS 5.1 GiB, measured by benchmarks/load_test.py --trace-prob).  One build at a
# time in the process bounds that memory for any number of users; the others wait their turn (cached
# results are returned without waiting).
BUILD_SLOT = threading.BoundedSemaphore(1)


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_TRIM = _malloc_trim()


@contextmanager
def build_slot():
    """One real-model build at a time; afterwards the freed memory goes back to the OS.

    Each session's script runs in its own thread, and glibc keeps what a thread freed in that
    thread's arena: without the trim, builds in different sessions left up to a build's peak
    (0.4-0.8 GiB) resident per arena (2.2 GiB after the load test's sessions had closed).
    """
    with BUILD_SLOT:
        try:
            yield
        finally:
            if _TRIM is not None:
                _TRIM(0)


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

    cfg = config_from_key(cfg_key)
    check_build(cfg)  # before anything is allocated
    with build_slot():
        return _live_trace(cfg)


@st.cache_data(max_entries=64, show_spinner=False)
def dot(cfg_key: str, expand: tuple, rankdir: str = "TB") -> str:
    from .diagram import to_dot

    return to_dot(config_from_key(cfg_key), expand=expand, rankdir=rankdir)


@st.cache_data(max_entries=32, show_spinner=False)
def render(dot_text: str, fmt: str) -> bytes:
    """explorer.export.render_dot (Graphviz ``dot``); raises ExportError."""
    from .export import render_dot

    return render_dot(dot_text, fmt)


@st.cache_resource(max_entries=1, show_spinner=False)
def onnx(cfg_key: str) -> bytes:
    """explorer.export.onnx_bytes: builds and exports the model (bytes are immutable: no copies).

    One entry: the file is as large as the weights (up to the build budget)."""
    from .export import onnx_bytes

    cfg = config_from_key(cfg_key)
    check_build(cfg)  # before anything is allocated
    with build_slot():
        return onnx_bytes(cfg)


@st.cache_data(max_entries=1, show_spinner=False)
def published():
    from .published import load_published

    return load_published()

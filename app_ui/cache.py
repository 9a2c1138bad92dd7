"""The app's bounded caches around the engine: one module for every page.

Keys are canonical config strings (``CSPConfig.key()``), never config objects, so cache keys stay
stable across reruns.  Every cache has ``max_entries``.  Nothing here draws anything.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import threading
from contextlib import contextmanager

import pandas as pd
import streamlit as st

from cspnet import CSPConfig, plan_network
from explorer.real.budget import check_build

# Building a real model (live trace, ONNX export) allocates its weights and runs it.  Each build is
# first checked against the build budget (explorer/real/budget.py: refused before anything is
# allocated), and builds run one at a time: a class toggling the live trace at once would otherwise
# build as many models together (README, "Serving a classroom", has the load-test figures).  One
# build at a time bounds that memory for any number of users; the others wait their turn (cached
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
    thread's arena: without the trim, builds in different sessions leave up to a build's peak
    resident per arena, long after the sessions closed.
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
def compare(cfg_key: str, batch: int, fused: bool = False) -> dict:
    """explorer.counts.analysis.compare_with_twin (analytic, milliseconds); ``fused``: Conv+BN folded
    (explorer.counts.fuse)."""
    from explorer.counts.analysis import compare_with_twin

    return compare_with_twin(config_from_key(cfg_key), batch, fused)


@st.cache_data(max_entries=64, show_spinner=False)
def detector_point(cfg_key: str) -> dict | None:
    """explorer.paper.reproduce.detector_point: where a detector design stands on the COCO chart (None for a
    design that is no detector; analytic, milliseconds)."""
    from explorer.paper.reproduce import detector_point as point

    return point(config_from_key(cfg_key))


@st.cache_data(max_entries=256, show_spinner=False)
def compare_base(cfg_key: str, base_name: str | None, batch: int, fused: bool = False) -> dict | None:
    """explorer.counts.analysis.compare_with_base: the design against its paper base (a preset name, at the
    design's input size); None without a base (analytic, milliseconds); ``fused``: Conv+BN folded."""
    from explorer.counts.analysis import compare_with_base

    return compare_with_base(config_from_key(cfg_key), base_name, batch, fused)


@st.cache_data(max_entries=256, show_spinner=False)
def summary(cfg_key: str) -> dict:
    from explorer.counts.analysis import summarize

    return summarize(config_from_key(cfg_key))


@st.cache_data(max_entries=8, show_spinner=False)
def live_trace(cfg_key: str) -> dict:
    """explorer.trace.live_trace: builds the real model; seconds."""
    from explorer.real.trace import live_trace as _live_trace

    cfg = config_from_key(cfg_key)
    check_build(cfg)  # before anything is allocated
    with build_slot():
        return _live_trace(cfg)


@st.cache_data(max_entries=64, show_spinner=False)
def dot(cfg_key: str, expand: tuple, rankdir: str = "TB", collapse: bool = False) -> str:
    from explorer.counts.diagram import to_dot

    return to_dot(config_from_key(cfg_key), expand=expand, rankdir=rankdir, collapse=collapse)


@st.cache_data(max_entries=16, show_spinner=False)
def layers(cfg_key: str, convention: str) -> pd.DataFrame:
    """explorer.counts.graph.layer_rows as a table: every layer, what it reads, its cost in ``convention``."""
    from explorer.counts.graph import layer_rows

    rows = layer_rows(plan_network(config_from_key(cfg_key)), [convention])
    shape = "\u00d7".join
    return pd.DataFrame([{"index": r["index"], "layer": r["path"], "kind": r["kind"], "from": " ".join(r["from"]),
                          "output": shape(map(str, r["out_shape"])), convention: r[convention],
                          "params": r["params"], "component": r["component"], "stage": r["stage"],
                          "part": r["part"], "input": shape(map(str, r["in_shape"]))} for r in rows])


@st.cache_data(max_entries=32, show_spinner=False)
def render(dot_text: str, fmt: str) -> bytes:
    """explorer.export.render_dot (Graphviz ``dot``); raises ExportError."""
    from explorer.real.export import render_dot

    return render_dot(dot_text, fmt)


@st.cache_resource(max_entries=1, show_spinner=False)
def onnx(cfg_key: str) -> bytes:
    """explorer.export.onnx_bytes: builds and exports the model (bytes are immutable: no copies).

    One entry: the file is as large as the weights (up to the build budget)."""
    from explorer.real.export import onnx_bytes

    cfg = config_from_key(cfg_key)
    check_build(cfg)  # before anything is allocated
    with build_slot():
        return onnx_bytes(cfg)


@st.cache_data(max_entries=1, show_spinner=False)
def published():
    from explorer.paper.published import load_published

    return load_published()


@st.cache_data(max_entries=1, show_spinner=False)
def speed():
    from explorer.paper.speed import load_speed

    return load_speed()


@st.cache_data(max_entries=8, show_spinner=False)
def speed_pairs(device: str):
    from explorer.paper.speed import speed_pairs as pairs

    return pairs(device)


def cpu_peaks(fresh: bool = False) -> dict:
    """explorer.real.roofline.measure_cpu: this machine's GEMM TFLOP/s and copy GB/s.  The engine keeps
    them for the server process (every session shares one measurement, about half a second, taken on
    first use); ``fresh`` measures again and keeps the best figures seen (a busy machine only lowers
    them).  Not an st.cache: a fresh measurement must replace the figures for everyone."""
    from explorer.real.roofline import measure_cpu

    return measure_cpu(fresh=fresh)


@st.cache_data(max_entries=64, show_spinner=False)
def _roofline(cfg_key: str, device: str, dtype: str, batch: int, peaks: tuple | None, channels_last: bool = False,
              autocast: bool = False) -> dict:
    from explorer.real import roofline as rl

    return rl.roofline(config_from_key(cfg_key), device, dtype, batch, channels_last, autocast)


def roofline(cfg_key: str, device: str, dtype: str, batch: int, channels_last: bool = False,
             autocast: bool = False) -> dict:
    """explorer.real.roofline.roofline (analytic, milliseconds), cached; a CPU roofline is keyed by the
    CPU's current figures, so it follows a fresh measurement.  Raises RooflineError."""
    from explorer.real import roofline as rl

    peaks = None
    if device == rl.CPU:
        with st.spinner("Measuring this CPU's roofs (a GEMM and a memory copy)…"):
            cpu_peaks()
        peaks = rl.cpu_peaks_key()
    return _roofline(cfg_key, device, dtype, batch, peaks, channels_last, autocast)


# ----------------------------------------------------------------------------- Sweep and Learn
SWEEP_CHUNK = 25  # first-knob values per cached chunk (the page shows progress between chunks)


def axes_from_specs(spec1: str, spec2: str | None) -> list:
    """``["key=range", ...]`` -> ``[(key, values), ...]`` (explorer.sweep.parse_vary; ConfigError)."""
    from explorer.counts.sweep import parse_vary

    axes = [parse_vary(spec1)]
    if spec2:
        axes.append(parse_vary(spec2))
    return axes


@st.cache_data(max_entries=128, show_spinner=False)
def sweep_chunk(cfg_key: str, spec1: str, spec2: str | None, start: int, stop: int, with_twin: bool) -> pd.DataFrame:
    """Rows ``start:stop`` of the first knob's values, crossed with the second knob's values."""
    from explorer.counts.sweep import sweep

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
           "design_key": None, "predictions": (), "story": None}
    if err is None:
        cfg = lesson.step_design(step_key, vals)
        out["dense_graph"] = lesson.dense_graph(cfg) if step_key in ("dense", "split") else None
        out["stage_dot"] = lesson.stage_dot(step_key, vals)
        out["design_key"] = lesson.step_design(step_key, vals).key()
        out["predictions"] = lesson.predictions(step_key, vals)
        out["story"] = lesson.component_story(cfg) if step_key in ("split", "transition", "fusion") else None
    return out


@st.cache_data(max_entries=4, show_spinner=False)
def lesson_extras() -> dict:
    """The lesson's fixed figures' data: Fig. 4's points and the stage's MACs and CIO per layout."""
    from explorer import lesson

    return {"fig4": lesson.fig4_points(), "speed": lesson.speed_points()}


@st.cache_data(max_entries=4, show_spinner=False)
def lesson_fusion_rows() -> list:
    from explorer import lesson

    return lesson.fusion_rows()


# ----------------------------------------------------------------------------- Paper vs tool
# Each result depends on nothing but the code and the published data set: one entry each.
# Latency is never cached: claims(measure=True) is run by the page for one press of its button.
@st.cache_data(max_entries=1, show_spinner=False)
def ablation() -> dict:
    """explorer.reproduce.fusion_ablation (builds and counts six PeleeNet variants; about a second)."""
    from explorer.paper.reproduce import fusion_ablation

    return fusion_ablation()


@st.cache_data(max_entries=1, show_spinner=False)
def reproduce_records() -> list:
    """explorer.reproduce.reproduce: every published row with a preset, against this tool."""
    from explorer.paper.reproduce import reproduce

    return reproduce()


@st.cache_data(max_entries=1, show_spinner=False)
def detection_records() -> list:
    """explorer.paper.reproduce.reproduce_detection: every published COCO row, those a preset builds counted."""
    from explorer.paper.reproduce import reproduce_detection

    return reproduce_detection()


@st.cache_data(max_entries=1, show_spinner=False)
def analytic_claims() -> list:
    """explorer.reproduce.claims(measure=False): compute only, no latency (a few seconds)."""
    from explorer.paper.reproduce import claims

    return claims(measure=False)

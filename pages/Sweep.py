"""Sweep page: parameters, MACs and memory traffic of the current design over one or two knobs.

Heatmap (two knobs) or lines (one knob, or one line per value of the second); invalid grid points
are gaps with their reason on hover; a click opens that design on the Design page.  An optional,
small latency sweep runs behind a button.  Counting is analytic (explorer.counts.sweep).
"""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from app_ui import cache, state
from app_ui.figures import latency_sweep_figure, selected_cells, sweep_heatmap, sweep_lines
from app_ui.messages import guard
from cspnet import ConfigError
from cspnet.config import FIELDS
from explorer.counts.analysis import has_detection_head
from explorer.counts.conventions import REGISTRY
from explorer.counts.sweep import CONVENTION_LABELS as CONVENTIONS
from explorer.counts.sweep import (
    MAX_LATENCY_DESIGNS,
    NECK_PREFIX,
    PART_METRICS,
    TWIN_PCT_CONVENTIONS,
    csp_version,
    default_knobs,
    idle_knobs,
    knob_acts,
    per_part,
    sweep_knobs,
    value_column,
)
from explorer.counts.sweep import METRIC_LABELS as METRICS
from explorer.counts.sweep import TWIN_PCT_METRICS as PCT_AVAILABLE
from explorer.design import parse_value, with_changes

MAX_POINTS = 1000  # grid points the page computes (explorer.counts.sweep allows more, the CLI uses them)
MAX_LATENCY_SECONDS = 600

KNOB_HELP = {
    "repeats": "Whole stage lists separated by ';', e.g. 6,12,24,16; 3,6,12,8.",
    "widths": "One value per grid point, used for every stage (a range like 64:512:64 or a list 64,128).",
    "fusion": "Any of none, fusion_first, fusion_last, csp, separated by commas.",
    "taps": "last and/or all, separated by commas: each value is used for every stage.",
    "block_type": "Block types separated by commas, e.g. dark,bottleneck_3x3: each is used for every stage.",
    "residual": "true and/or false: each value is used for every stage.",
    "width_multiple": "Scales every base width with the source's rounding (YOLOv8: n 0.25 ... x 1.25).",
    "depth_multiple": "Scales every stage's base repeats (YOLOv8: n and s 0.33, m 0.67, l and x 1).",
    "neck_repeats": "One value per grid point fills the 4 neck stages; whole lists of 4 separated by ';' set each "
                    "(top-down P4, top-down P3, bottom-up P4, bottom-up P5), e.g. 1,1,2,2; 3,3,3,3.",
    "neck_block_type": "Block types separated by commas (dark = C3, bottleneck_3x3 = C2f, c3k = C3k2's): each is "
                       "used for every neck stage; lists of 4 separated by ';' set each stage.",
    "neck_fusion": "Any of none, fusion_first, fusion_last, csp, separated by commas: the neck's CSP stages only.",
    "neck_split_ratio": "The share of a neck stage's channels through its blocks (acts where the neck has CSP).",
}


def knob_options(cfg) -> list:
    """The sweepable fields the design's family reads, in declaration order (cspnet.config.FIELDS)."""
    return sweep_knobs(cfg)


def on_pick_knob() -> None:
    st.session_state["sw_knobs_picked"] = True  # the user's choice: kept even where it does not act


def on_csp_version() -> None:
    """Switch the design to its CSP version (fusion 'csp'), so that a CSP-only knob acts."""
    cfg = state.design()
    try:
        new, preset = csp_version(cfg)
    except ConfigError as exc:
        st.session_state["sw_csp_error"] = str(exc)
        return
    state.set_design(new, preset or state.preset())


def idle_notice(cfg, keys) -> None:
    """A CSP-only knob swept on a plain design changes nothing: say so, and offer the CSP version."""
    idle = idle_knobs(cfg, keys)
    if not idle:
        return
    names = " and ".join(f"**{k}**" for k in idle)
    verb = "act" if len(idle) > 1 else "acts"
    if any(k.startswith(NECK_PREFIX) for k in idle):   # the neck's split ratio on a plain neck
        st.info(f"{names} {verb} only in the neck's CSP stages, and this design's neck fusion is 'none' (a plain "
                f"neck), so every value gives the same design. Sweep 'neck_fusion' as the second knob, or pick a "
                "neck fusion on the Design page.")
        return
    st.info(f"{names} {verb} only in CSP stages, and this design ({cfg.name}) has no CSP: its fusion is 'none' "
            f"(the plain network), so every value of {names} gives the same design. Sweep another knob, sweep "
            "'fusion' as the second knob, or switch the design to its CSP version.")
    st.button("Use the CSP version of this design (fusion 'csp')", key="sw_make_csp", on_click=on_csp_version,
              help="Sets the design's fusion to 'csp' (paper Fig. 3b: partial transition, concat, transition); "
                   "every page then shows that design.")
    err = st.session_state.pop("sw_csp_error", None)
    if err:
        st.error(f"The CSP version of this design is not valid: {err}")


def range_input(slot: int, name: str, cfg, where) -> str:
    key = f"sw_range_{name}"
    if key not in st.session_state:
        st.session_state[key] = FIELDS[name].default_sweep(cfg)
    return where.text_input(f"Values of {name}", key=key,
                            help="start:stop:step (stop included) or a list v1,v2,... "
                                 + KNOB_HELP.get(name, ""))


def controls(cfg):
    """The knobs, their ranges and the metric; returns (specs, metric settings) or None on errors."""
    opts = knob_options(cfg)
    ss = st.session_state
    first, second = default_knobs(cfg)
    picked = ss.get("sw_knobs_picked", False)
    if ss.get("sw_knob1") not in opts or (not picked and not knob_acts(cfg, ss["sw_knob1"])):
        ss["sw_knob1"] = first  # a knob that acts on this design (not the split ratio of a plain one)
        if not picked:
            ss["sw_knob2"] = second or "(none)"
    if ss.get("sw_knob2") is None:
        ss["sw_knob2"] = second or "(none)"
    c1, c2 = st.columns(2)
    k1 = c1.selectbox("First knob (x axis)", opts, key="sw_knob1", on_change=on_pick_knob,
                      help="A field of the design's family.")
    r1 = range_input(1, k1, cfg, c1)
    second = ["(none)"] + [o for o in opts if o != k1]
    if ss.get("sw_knob2") not in second:  # the first knob took it, or another family
        ss["sw_knob2"] = "(none)"
    k2 = c2.selectbox("Second knob (optional)", second, key="sw_knob2", on_change=on_pick_knob,
                      help="Two knobs give a heatmap (or one line per value of the second knob).")
    r2 = range_input(2, k2, cfg, c2) if k2 != "(none)" else None
    idle_notice(cfg, [k1, None if k2 == "(none)" else k2])
    m1, m2, m3 = st.columns([2, 2, 1.2], vertical_alignment="bottom")
    metric = m1.radio("Metric", list(METRICS), key="sw_metric", format_func=METRICS.get, horizontal=True)
    conv = m2.radio("Counting convention", list(CONVENTIONS), key="sw_convention",
                    format_func=lambda k: REGISTRY[k].short, horizontal=True, disabled=metric != "macs",
                    help="Only for MACs; every registered convention: "
                         + "; ".join(f"**{c.short}**: {c.label}, in {c.unit}" for c in REGISTRY.values()) + ".")
    pct_ok = metric in PCT_AVAILABLE and not (metric == "macs" and conv not in TWIN_PCT_CONVENTIONS)
    pct = m3.toggle("% vs plain twin", key="sw_pct", disabled=not pct_ok,
                    help="Each design against the same design with fusion 'none'. Available for "
                         "parameters, conv+linear MACs (and the conventions that double them) and CIO.")
    return (k1, r1, None if k2 == "(none)" else k2, r2), (metric, conv, pct and pct_ok)


def parse_specs(k1, r1, k2, r2):
    """Validated 'key=range' specs, or None after showing the error (the message names the field)."""
    if k2 is not None and k2 == k1:
        st.error("Pick two different knobs (or '(none)' for the second).")
        return None
    specs = [f"{k1}={r1}"] + ([f"{k2}={r2}"] if k2 else [])
    n = 1
    for spec, key in zip(specs, [k1, k2]):
        try:
            _, vals = cache.axes_from_specs(spec, None)[0]
        except ConfigError as exc:
            st.error(f"Range of **{key}** is not valid: {exc}")
            return None
        n *= len(vals)
    if n > MAX_POINTS:
        st.error(f"The grid has {n:,} designs; this page computes at most {MAX_POINTS:,}. Use a larger step or "
                 "fewer values (the CLI `python -m explorer sweep` goes further).")
        return None
    return specs[0], (specs[1] if k2 else None)


def compute(cfg, spec1, spec2, with_twin) -> pd.DataFrame:
    axes = cache.axes_from_specs(spec1, spec2)
    n1 = len(axes[0][1])
    chunks = [(s, min(s + cache.SWEEP_CHUNK, n1)) for s in range(0, n1, cache.SWEEP_CHUNK)]
    total = n1 * (len(axes[1][1]) if len(axes) > 1 else 1)
    bar = st.progress(0.0, text=f"Counting {total:,} designs…") if total > 150 else None
    parts = []
    for i, (a, b) in enumerate(chunks):
        parts.append(cache.sweep_chunk(cfg.key(), spec1, spec2, a, b, with_twin))
        if bar:
            bar.progress((i + 1) / len(chunks), text=f"Counting designs… {min(b * total // n1, total):,} of {total:,}")
    if bar:
        bar.empty()
    return pd.concat(parts, ignore_index=True)


def handle_click(event, cfg, keys) -> None:
    sel = getattr(event, "selection", None) or (event.get("selection") if isinstance(event, dict) else None)
    cells = selected_cells(sel)
    if not cells:
        return
    labels = cells[0]
    try:
        changes = {k: parse_value(k, lab) for k, lab in zip(keys, labels)}
        new = with_changes(cfg, changes)
    except ConfigError as exc:
        st.warning(f"That grid point is not a valid design: {exc}")
        return
    state.set_design(new, state.preset())
    state.open_on_design_page()


def chart(df, keys, col, label, pct, cfg, metric: str = "", conv: str = "") -> None:
    k1 = keys[0]
    k2 = keys[1] if len(keys) > 1 else None
    kind = "lines"
    if parts_view(cfg, keys, metric, conv, pct):   # a detector: one line per part (backbone, neck, head)
        fig = sweep_lines(per_part(df, keys, metric), k1, "value", f"{label} per part", series_key="part")
        event = st.plotly_chart(fig, key="sw_chart", on_select="rerun", selection_mode="points", width="stretch",
                                config={"displaylogo": False})
        handle_click(event, cfg, keys)
        return
    if k2:
        kind = st.segmented_control("Chart", ["heatmap", "lines"], key="sw_chart_kind", default="heatmap",
                                    help="Lines: one line per value of the second knob.") or "heatmap"
    if k2 and kind == "heatmap":
        fig = sweep_heatmap(df, k1, k2, col, label, pct=pct)
    else:
        fig = sweep_lines(df, k1, col, label, pct=pct, series_key=k2)
    event = st.plotly_chart(fig, key="sw_chart", on_select="rerun", selection_mode="points", width="stretch",
                            config={"displaylogo": False,
                                    "toImageButtonOptions": {"format": "svg", "filename": f"sweep_{'_'.join(keys)}"}})
    handle_click(event, cfg, keys)


def parts_view(cfg, keys, metric: str, conv: str, pct: bool) -> bool:
    """Whether to draw one line per part: asked for (the toggle), on a detector's sweep of one knob, of
    parameters or conv+linear MACs (the per-part columns, explorer.counts.sweep.PART_METRICS)."""
    if not has_detection_head(cfg) or len(keys) != 1 or metric not in PART_METRICS or pct \
            or (metric == "macs" and conv != "macs"):
        return False
    return st.toggle("Per part (backbone, neck, head)", key="sw_parts",
                     help="One line per part of the detector: what the knob moves in the backbone, the neck and "
                          "the head (they add up to the total). Parameters or MACs (conv + linear) of one knob.")


def summary(df, keys, col, label, pct) -> None:
    ok = df[df["error"] == ""]
    bad = df[df["error"] != ""]
    msg = f"{len(df):,} designs: {len(ok):,} valid"
    if len(bad):
        reasons = bad["error"].str.split(":").str[0].value_counts()
        msg += (f", {len(bad):,} invalid (grey x; hover for the reason; fields at fault: "
                + ", ".join(f"{k} x{v}" for k, v in reasons.items()) + ")")
    vals = pd.to_numeric(ok[col], errors="coerce").dropna()
    if len(vals):
        lo, hi = ok.loc[vals.idxmin()], ok.loc[vals.idxmax()]

        def where(r):
            return ", ".join(f"{k} = {r[k]}" for k in keys)

        fmt = (lambda v: f"{v:+.2f} %") if pct else (lambda v: f"{v:,.0f}")
        msg += f". Lowest {label}: {fmt(vals.min())} at {where(lo)}; highest: {fmt(vals.max())} at {where(hi)}."
    st.caption(msg + " Click a cell or point to open that design on the Design page.")


def latency_section(cfg, spec1, spec2, keys, df) -> None:
    import torch

    from explorer.real.latency import BenchmarkError, BenchRequest

    if not st.toggle("Measure latency of a few designs", key="sw_lat_on",
                     help=f"Builds and times each valid design of the grid (at most {MAX_LATENCY_DESIGNS})."):
        return
    valid = int((df["error"] == "").sum())
    for key, value in (("sw_lat_batch", 1), ("sw_lat_runs", 5)):
        if key not in st.session_state:
            st.session_state[key] = value
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    c1, c2, c3 = st.columns(3)
    device = c1.radio("Device", devices, key="sw_lat_device", horizontal=True)
    if len(devices) == 1:
        c1.caption("No CUDA GPU here: only the CPU is measured.")
    batch = c2.number_input("Batch", 1, 256, key="sw_lat_batch", step=1)
    runs = c3.number_input("Timed runs", 1, 50, key="sw_lat_runs", step=1)
    if valid > MAX_LATENCY_DESIGNS:
        st.info(f"The grid has {valid} valid designs; the latency sweep measures at most {MAX_LATENCY_DESIGNS}. "
                "Narrow the ranges above.")
        return
    ss = st.session_state
    if ss.pop("sw_lat_running", False):
        st.info("The last latency sweep was interrupted (a widget changed or Cancel was pressed).")
    if st.button(f"Measure {valid} design{'s' if valid != 1 else ''}", key="sw_lat_start", type="primary"):
        req = BenchRequest(device=device, batch_sizes=(int(batch),), runs=int(runs), warmup=2, per_stage=False)
        ss["sw_lat_cancel"] = False
        deadline = time.monotonic() + MAX_LATENCY_SECONDS
        with guard("Latency sweep"):
            with st.status(f"Measuring {valid} designs on {device}…", expanded=True) as status:
                st.button("Cancel", key="sw_lat_cancel_btn", on_click=lambda: ss.update(sw_lat_cancel=True))
                bar = st.progress(0.0, text="starting")

                def progress(f, msg):
                    bar.progress(min(max(f, 0.0), 1.0), text=f"{msg} ({f:.0%})")

                def cancelled():
                    return bool(ss.get("sw_lat_cancel")) or time.monotonic() > deadline

                ss["sw_lat_running"] = True  # stays True if the run is interrupted (rerun, session end)
                from explorer.real.measure import latency_sweep

                t0 = time.perf_counter()
                try:
                    out = latency_sweep(cfg, cache.axes_from_specs(spec1, spec2), req, progress, cancelled)
                except (BenchmarkError, ConfigError) as exc:
                    status.update(label=f"Latency sweep stopped: {exc}", state="error")
                    out = None
                ss["sw_lat_running"] = False
                if out is not None and cancelled():
                    status.update(label="Latency sweep cancelled: the designs measured before are shown",
                                  state="error", expanded=False)
                    ss["sw_lat_result"] = {"key": (cfg.key(), spec1, spec2), "df": out, "req": req}
                    out = None
                if out is not None:
                    ss["sw_lat_result"] = {"key": (cfg.key(), spec1, spec2), "df": out, "req": req}
                    status.update(label=f"Measured {len(out)} designs in {time.perf_counter() - t0:.1f} s",
                                  state="complete", expanded=False)
    res = ss.get("sw_lat_result")
    if res and res["key"] == (cfg.key(), spec1, spec2):
        out = res["df"]
        st.plotly_chart(latency_sweep_figure(out, keys), key="sw_lat_chart", width="stretch")
        req = res["req"]
        st.caption(f"{req.device}, batch {req.batch_sizes[0]}, {req.runs} timed runs per design, fp32. "
                   "Time is measured, MACs counted: where the points leave a straight line, time does not "
                   "follow the arithmetic.")
        bad = out[out["error"] != ""]
        if len(bad):
            st.warning(f"{len(bad)} design(s) could not be measured: " + "; ".join(bad["error"].head(3)))
        st.dataframe(out, hide_index=True, key="sw_lat_table", width="stretch")


def main() -> None:
    cfg = state.page()
    st.title("Sweep")
    st.caption(f"Vary one or two knobs of the current design ({cfg.name}, {cfg.family}) and see how parameters, "
               "MACs and memory traffic move. Every grid point is counted analytically in milliseconds.")
    with guard("Sweep"):
        (k1, r1, k2, r2), (metric, conv, pct) = controls(cfg)
        specs = parse_specs(k1, r1, k2, r2)
        if specs is None:
            return
        spec1, spec2 = specs
        keys = [k1] + ([k2] if k2 else [])
        df = compute(cfg, spec1, spec2, with_twin=pct)
        df, col, label = value_column(df, metric, conv, pct, cfg, keys)
        if pct and not cfg.is_csp and "fusion" not in keys:
            st.info("The current design is plain (fusion 'none'), so every point is its own twin (0 %). Pick a "
                    "fusion on the Design page, or sweep 'fusion'.")
        chart(df, keys, col, label, pct, cfg, metric, conv)
        summary(df, keys, col, label, pct)
        c1, c2 = st.columns([1, 3])
        c1.download_button("Grid as CSV", df.to_csv(index=False).encode("utf-8"),
                           file_name=f"sweep_{'_'.join(keys)}.csv", mime="text/csv", key="sw_csv", on_click="ignore")
        if c2.toggle("Show the grid as a table", key="sw_table"):
            st.dataframe(df, hide_index=True, key="sw_rows", width="stretch")
        st.divider()
        latency_section(cfg, spec1, spec2, keys, df)


main()

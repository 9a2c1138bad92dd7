"""Latency page: measure the current design against a reference on the CPU (or a CUDA GPU): its
paper base (what the paper compares, e.g. resnet50 for a design started from cspresnet50, at the
design's input size; the default where there is one) or its plain twin (the same knobs without CSP).

Never measures on a rerun by itself: a button starts it, a progress bar follows the engine's
progress callback (and the queue position while another user's benchmark holds the device), and
Cancel, leaving the page, or a time limit stops it.  Results live in this session only; latency is
never cached.  Shows the batch-size curve, per-stage times, and MACs savings against time savings
in plain words.
"""
from __future__ import annotations

import json
import time

import pandas as pd
import streamlit as st
import torch

from app_ui import state
from app_ui.figures import latency_curve, record_caption, relabel, savings_figure, stage_bars
from app_ui.messages import guard
from cspnet import ConfigError
from cspnet.presets import base_config, paper_base
from explorer.counts.analysis import has_detection_head
from explorer.fmt import si
from explorer.real.latency import (
    DEVICE_QUEUE,
    TWIN_LABEL,
    BenchmarkError,
    BenchRequest,
    Cancelled,
    compare_latency,
    memory_problem,
    part_rows,
    reference_column,
    reference_label,
    request_macs,
    results_rows,
)
from explorer.real.verdicts import savings_verdicts

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
DTYPES = {"fp32": "fp32", "bf16": "bf16 (autocast)"}
MAX_SECONDS = 600          # a benchmark is stopped after this long, whoever started it
K_RESULT = "lat_result"
K_CANCEL = "lat_cancel_flag"
K_RUNNING = "lat_running"
K_AGAINST = "lat_against"  # "base" (the paper base) or "twin"


def init_state(cfg=None) -> None:
    """The controls' first values.  A detector (640 px inputs: 8.2 times the pixels of a 224 px image) starts at
    batch 1 with 5 timed runs, so that a first CPU measurement of it and its twin stays well inside the
    5-minute stop."""
    ss = st.session_state
    det = cfg is not None and has_detection_head(cfg)
    for key, value in (("lat_batches", [1] if det else [1, 8]), ("lat_dtype", "fp32"), ("lat_cl", False),
                       ("lat_runs", 5 if det else 10), ("lat_warmup", 3), ("lat_device", "cpu"),
                       ("lat_per_image", False)):
        if key not in ss:
            ss[key] = value


def on_cancel() -> None:
    st.session_state[K_CANCEL] = True


def reference_choice(cfg) -> tuple:
    """The radio "Measure against": (kind, reference config, label).  The paper base is offered for a
    CSP design started from a preset that has one (``cspnet.presets.paper_base``), and is the default."""
    base = paper_base(state.preset()) if cfg.is_csp else None
    options = ["base", "twin"] if base else ["twin"]
    ss = st.session_state
    if ss.get(K_AGAINST) not in options:
        ss[K_AGAINST] = options[0]
    if base:
        kind = st.radio("Measure against", options, key=K_AGAINST, horizontal=True,
                        format_func=lambda k: (f"paper base: {base} at {cfg.input_size} px (what the paper compares)"
                                               if k == "base" else "plain twin (the same knobs without CSP)"),
                        help=f"The paper base is {base}, the network the paper compares {state.preset()} "
                             "against, measured at this design's input size. The plain twin is this design "
                             "with fusion 'none': the same widths and depths, without CSP.")
    else:
        kind = "twin"
    if kind == "base":
        return "base", base_config(base, cfg.input_size), f"paper base {base}"
    try:
        return "twin", cfg.twin(), "plain twin"
    except ConfigError:  # no valid plain twin (an imported network's CSP stages, some lineage blocks): alone
        return "twin", cfg, "plain twin"


def controls(cfg) -> BenchRequest | None:
    cuda = torch.cuda.is_available()
    devices = ["cpu", "cuda"] if cuda else ["cpu"]
    if st.session_state.get("lat_device") not in devices:
        st.session_state["lat_device"] = "cpu"
    c1, c2, c3 = st.columns([1.2, 2.4, 1.4])
    device = c1.radio("Device", devices, key="lat_device", horizontal=True,
                      format_func=lambda d: "GPU (cuda)" if d == "cuda" else "CPU",
                      help="CUDA is offered only when PyTorch sees a GPU.")
    if cuda:
        c1.caption(f"GPU: {torch.cuda.get_device_name()}")
    else:
        c1.caption("No CUDA GPU here: **only the CPU is measured.**")
    batches = c2.multiselect("Batch sizes", BATCHES, key="lat_batches", placeholder="pick at least one",
                             help="Each batch size is measured for the design and for the model it is "
                                  "measured against.")
    dtype = c3.radio("dtype", list(DTYPES), key="lat_dtype", format_func=DTYPES.get, horizontal=True,
                     help="bf16 runs under torch.autocast; on many CPUs it is slower than fp32.")
    d1, d2, d3 = st.columns([1.2, 1.2, 2.4])
    runs = d1.number_input("Timed runs", min_value=1, max_value=200, step=1, key="lat_runs",
                           help="Per batch size and model. Median, p10 and p90 are taken over them.")
    warmup = d2.number_input("Warm-up runs", min_value=0, max_value=20, step=1, key="lat_warmup")
    channels_last = d3.toggle("channels_last memory format", key="lat_cl",
                              help="NHWC tensors; often faster for convolutions on GPUs and with oneDNN.")
    if not batches:
        st.warning("Pick at least one batch size.")
        return None
    return BenchRequest(device=device, batch_sizes=tuple(sorted(int(b) for b in batches)), dtype=dtype,
                        channels_last=bool(channels_last), warmup=int(warmup), runs=int(runs))


def work_caption(cfg, req: BenchRequest, kind: str = "twin", label: str = "plain twin") -> None:
    cmp = state_compare(cfg)
    macs_d = cmp["design"]["macs"]
    macs_t = cmp["twin"]["macs"] if cmp["twin"] is not None else macs_d
    if kind == "base":
        from app_ui import cache

        macs_t = cache.compare_base(cfg.key(), paper_base(state.preset()), 1)["base"]["macs"]
    two = (cfg.is_csp and cmp["twin"] is not None) or kind == "base"
    total = request_macs(req, macs_d, macs_t if two else 0)
    waiting = DEVICE_QUEUE.waiting(req.device)
    st.caption(f"{cfg.name}: {si(macs_d, 'MAC')} per image"
               + (f", {label} {si(macs_t, 'MAC')}" if two else "")
               + f". This measurement does about {si(total, 'MAC')} of arithmetic in all"
               + (f"; {waiting} benchmark(s) are running or waiting on {req.device} now" if waiting else "")
               + f". Each model's measurement stops by itself after {req.max_seconds / 60:.0f} minutes, the whole "
               f"request (waiting included) after {MAX_SECONDS // 60}.")


def state_compare(cfg) -> dict:
    from app_ui import cache

    return cache.compare(cfg.key(), 1)


def measure(cfg, req: BenchRequest, ref=None, label: str = "plain twin") -> None:
    """Run the benchmark now (the user pressed the button), with progress, queue position and Cancel."""
    ss = st.session_state
    ss[K_CANCEL] = False
    deadline = time.monotonic() + MAX_SECONDS
    with st.status(f"Measuring {cfg.name} and its {label} on {req.device}…", expanded=True) as status:
        st.button("Cancel", key="lat_cancel", on_click=on_cancel,
                  help="Stops the benchmark at the next run. Leaving the page stops it too.")
        bar = st.progress(0.0, text="waiting for the device")
        queue_box = st.empty()
        last = {"pos": None, "t": 0.0}
        t_wait = time.monotonic()

        def progress(f: float, msg: str) -> None:
            if last["pos"] is not None:
                queue_box.empty()
                last["pos"] = None
            bar.progress(min(max(f, 0.0), 1.0), text=f"{msg} ({f:.0%})")

        def on_wait(position: int) -> None:
            now = time.monotonic()
            if position != last["pos"] or now - last["t"] >= 1.0:  # at most one update a second
                last["pos"], last["t"] = position, now
                queue_box.info(f"Another benchmark is using the {req.device}: {position} ahead of you in the "
                               f"queue (waiting {now - t_wait:.0f} s). Press Cancel to give up.")

        def cancelled() -> bool:
            return bool(ss.get(K_CANCEL)) or time.monotonic() > deadline

        ss[K_RUNNING] = True  # stays True if the run is interrupted (a rerun or the session ending)
        t0 = time.perf_counter()
        try:
            record = compare_latency(cfg, req, progress=progress, cancelled=cancelled, on_wait=on_wait,
                                     reference=ref, reference_label=label)
        except Cancelled:
            ss[K_RUNNING] = False
            why = "time limit reached" if time.monotonic() > deadline else "cancelled"
            status.update(label=f"Benchmark stopped: {why}", state="error", expanded=False)
            return
        except BenchmarkError as exc:
            ss[K_RUNNING] = False
            status.update(label="Benchmark could not run", state="error", expanded=True)
            st.error(str(exc))
            return
        ss[K_RUNNING] = False
        queue_box.empty()
        ss[K_RESULT] = {"key": cfg.key(), "name": cfg.name, "record": record,
                        "at": time.strftime("%H:%M:%S"), "seconds": time.perf_counter() - t0}
        state.remember_measured(record)
        follow_measurement(record)
        status.update(label=f"Measured in {time.perf_counter() - t0:.1f} s", state="complete", expanded=False)


def show_results(cfg) -> None:
    res = st.session_state.get(K_RESULT)
    if not res:
        st.info("Nothing measured yet in this session. Choose the settings and press **Measure**.")
        return
    record = res["record"]
    if res["key"] != cfg.key():
        st.info(f"These results are for an earlier design ({res['name']}), not the current one: press Measure "
                "to measure the current design.")
    st.markdown(f"##### Results ({res['name']}, measured at {res['at']})")
    label = reference_label(record)
    st.caption(record_caption(record) + (f" Measured against the {label}." if label != TWIN_LABEL else ""))
    st.markdown("\n".join(f"- {s}" for s in savings_verdicts(record)))
    per_image = st.toggle("Time per image instead of per batch", key="lat_per_image")
    st.plotly_chart(relabel(latency_curve(record, per_image=per_image), record), key="lat_curve", width="stretch",
                    config={"displaylogo": False})
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(relabel(savings_figure(record), record), key="lat_savings", width="stretch",
                        config={"displaylogo": False})
    with c2:
        batches = [r["batch"] for r in record["design"]["results"]]
        if st.session_state.get("lat_stage_batch") not in batches:
            st.session_state["lat_stage_batch"] = batches[0]
        b = st.selectbox("Per-stage times at batch", batches, key="lat_stage_batch")
        st.plotly_chart(relabel(stage_bars(record, b), record), key="lat_stages", width="stretch",
                        config={"displaylogo": False})
        parts = part_rows(record, b)
        if len(parts) > 2:   # a detector: backbone, neck and head
            col = reference_column(record)
            st.dataframe(pd.DataFrame(parts), hide_index=True, key="lat_parts", width="stretch",
                         column_config={"design ms": st.column_config.NumberColumn(format="%.3f"),
                                        col: st.column_config.NumberColumn(format="%.3f"),
                                        "time change %": st.column_config.NumberColumn(format="%+.1f"),
                                        "share of the design's time": st.column_config.ProgressColumn(
                                            min_value=0.0, max_value=1.0, format="percent")})
            st.caption("Per part: the per-stage medians summed over each part's stages (the model run part by "
                       "part, a timer mark after each), so they add up to the per-stage total, not exactly to "
                       "the whole-model median above.")
    st.dataframe(pd.DataFrame(results_rows(record)), hide_index=True, key="lat_table", width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                ("design median ms", "design p10", "design p90", reference_column(record))}
                 | {c: st.column_config.NumberColumn(format="%+.1f") for c in ("time change %", "MACs change %")}
                 | {"design images/s": st.column_config.NumberColumn(format="%.1f")})
    st.download_button("Record (JSON)", json.dumps(record, indent=1).encode("utf-8"),
                       file_name=f"latency_{res['name']}.json", mime="application/json", key="lat_dl",
                       on_click="ignore")


ROOF_BATCHES = BATCHES
ROOF_FORMATS = {False: "NCHW", True: "channels_last"}
ROOF_CASTS = {False: "model cast", True: "autocast"}
ROOF_INTRO = (
    "A stage does F floating-point operations and moves B bytes to and from memory. Its **arithmetic "
    "intensity** F / B (FLOP per byte) decides which roof limits it: the device does at most P FLOP/s "
    "(the compute roof) and moves at most W bytes/s (the memory roof), so the stage takes at least "
    "max(F / P, B / W). Below the ridge P / W a stage is **memory-bound**: fewer MACs do not make it "
    "faster, fewer bytes would. CSP's concat copies and its thinner convolutions lower the intensity, "
    "which is why a MAC saving need not become a time saving.")


def roof_columns() -> dict:
    """Number formats of the roofline tables' columns."""
    fmt = {"GFLOP": "%.3f", "MB moved": "%.1f", "concat MB": "%.1f", "FLOP/byte": "%.1f", "lower bound ms": "%.4f",
           "estimated ms": "%.3f"}
    return {col: st.column_config.NumberColumn(format=f) for col, f in fmt.items()}


def _measured_stages(cfg, roof_device: str, dtype: str, batch: int, channels_last: bool = False,
                     autocast: bool = False):
    """(per-stage ms of the design's last measurement, record) when it matches the design, device, dtype,
    memory format and batch of the roofline; else (None, record or None)."""
    from explorer.real.roofline import record_stage_ms

    res = st.session_state.get(K_RESULT)
    if not res or res["key"] != cfg.key():
        return None, None
    record = res["record"]
    return record_stage_ms(record, roof_device, dtype, batch, channels_last, autocast), record


def _pct_of_roofline(cfg, record: dict) -> None:
    """The last measurement's stages beside their bound on the measured device, dtype and batch."""
    from app_ui import cache
    from explorer.real.roofline import CPU, RooflineError, above_roof, against_measured, device_for_record

    design = record["design"]
    env, dtype = design.get("environment", {}), design.get("request", {}).get("dtype", "fp32")
    dev = device_for_record(env)
    if dev is None:
        st.caption(f"The last measurement ran on {env.get('device_name', '?')}, which the device table does not "
                   "have: no % of roofline for it.")
        return
    batches = [r["batch"] for r in design["results"]]
    chosen = st.session_state.get("lat_stage_batch")
    batch = chosen if chosen in batches else batches[0]
    per_stage = next(r.get("per_stage_ms") for r in design["results"] if r["batch"] == batch)
    if not per_stage:
        return
    try:
        roof = cache.roofline(cfg.key(), dev, dtype, batch)
        rows = against_measured(roof, per_stage)
        res = st.session_state.get(K_RESULT) or {}
        if dev == CPU and above_roof(rows) and not res.get("remeasured"):
            # a stage above the roof: the peaks were measured on a busier machine than this measurement
            res["remeasured"] = True
            cache.cpu_peaks(fresh=True)
            roof = cache.roofline(cfg.key(), dev, dtype, batch)
            rows = against_measured(roof, per_stage)
    except RooflineError as exc:
        st.caption(str(exc))
        return
    st.markdown(f"**Measured against the roofline** ({cfg.name}, {env.get('device_name', dev)}, {dtype}, batch "
                f"{batch}, as measured above): % of roofline = lower bound / measured time; 100 % would be at the "
                "roof.")
    st.dataframe(pd.DataFrame(rows).rename(columns={"bound_ms": "lower bound ms", "measured_ms": "measured ms",
                                                    "pct_of_roofline": "% of roofline",
                                                    "achieved_tflops": "achieved TFLOP/s",
                                                    "achieved_gbs": "achieved GB/s"}),
                 hide_index=True, key="roof_measured", width="stretch",
                 column_config={"lower bound ms": st.column_config.NumberColumn(format="%.4f"),
                                "measured ms": st.column_config.NumberColumn(format="%.3f"),
                                "% of roofline": st.column_config.NumberColumn(format="%.1f %%"),
                                "achieved TFLOP/s": st.column_config.NumberColumn(format="%.3f"),
                                "achieved GB/s": st.column_config.NumberColumn(format="%.1f")})
    if above_roof(rows):
        st.warning("A stage ran faster than its bound: on this shared CPU the peaks were measured while other work "
                   "ran (they were measured again, keeping the best), or its tensors stayed in the cache, which the "
                   "bytes model ignores. Press 'Measure this CPU again' when the machine is idle.")


def _remeasure_cpu() -> None:
    from app_ui import cache

    cache.cpu_peaks(fresh=True)


def follow_measurement(record: dict) -> None:
    """After a measurement the roofline below shows its device, dtype and first batch (its widgets are
    drawn after Measure, so their values can still be set in this run)."""
    from explorer.real.roofline import record_setting

    setting = record_setting(record)
    if setting is not None:
        st.session_state["roof_device"] = setting["device"]
        st.session_state["roof_dtype"] = setting["dtype"]
        st.session_state["roof_batch"] = setting["batch"]
        st.session_state["roof_cl"] = ROOF_FORMATS[setting["channels_last"]]
        st.session_state["roof_cast"] = ROOF_CASTS[setting["autocast"]]


def roofline_section(cfg, ref, label: str) -> None:
    """The roofline of the design and its reference on a chosen device (this CPU measured, or a GPU of the
    table with an estimate), dtype and batch; after a measurement, each stage's % of roofline."""
    from app_ui import cache
    from app_ui.roofline_figures import roofline_chart
    from explorer.real.roofline import (
        CPU,
        RooflineError,
        calibration_rows,
        component_rows,
        error_summary,
        estimate_text,
        get_device,
        gpu_devices,
        roofline_part_rows,
        roofline_rows,
        roofline_verdict,
        transfer_error,
    )

    st.subheader("Roofline: where the time goes")
    st.caption(ROOF_INTRO)
    ss = st.session_state
    devices = (CPU,) + tuple(gpu_devices())
    if ss.get("roof_device") not in devices:
        ss["roof_device"] = CPU
    if ss.get("roof_batch") not in ROOF_BATCHES:
        ss["roof_batch"] = 64
    c1, c2, c3 = st.columns([2.2, 1.4, 1])
    device = c1.selectbox("Device", devices, key="roof_device",
                          format_func=lambda k: "this CPU (measured here)" if k == CPU else gpu_devices()[k].name,
                          help="This machine's CPU is measured (a GEMM and a memory copy, once per server). "
                               "A GPU's roofs are its datasheet's peaks; its times are estimates.")
    if device == CPU:
        cache.cpu_peaks()  # measured once per server, with a spinner
    dtypes = get_device(device).dtypes()
    if ss.get("roof_dtype") not in dtypes:
        ss["roof_dtype"] = dtypes[0]
    dtype = c2.radio("dtype", dtypes, key="roof_dtype", horizontal=True)
    batch = c3.selectbox("Batch", ROOF_BATCHES, key="roof_batch")
    c4, c5, _ = st.columns([1.6, 1.6, 1.4])   # a second row: five controls do not fit a 1024 px page
    if ss.get("roof_cl") not in ROOF_FORMATS.values():
        ss["roof_cl"] = ROOF_FORMATS[False]
    if ss.get("roof_cast") not in ROOF_CASTS.values():
        ss["roof_cast"] = ROOF_CASTS[False]
    channels_last = c4.radio("Memory format", list(ROOF_FORMATS.values()), key="roof_cl", horizontal=True,
                             help="How the model and input are laid out: contiguous NCHW, or "
                                  "model.to(memory_format=torch.channels_last) as deployed.") == "channels_last"
    autocast = c5.radio("Half precision", list(ROOF_CASTS.values()), key="roof_cast", horizontal=True,
                        disabled=dtype == "fp32",
                        help="bf16/fp16: the model cast (model.to(dtype=...)) or fp32 weights under "
                             "torch.autocast (a weight cast per conv). fp32 runs as built.") == "autocast"
    autocast = autocast and dtype != "fp32"
    try:
        design = cache.roofline(cfg.key(), device, dtype, batch, channels_last, autocast)
        series = [(f"design: {cfg.name}", design)]
        if ref != cfg:
            series.append((label if ref.name in label else f"{label}: {ref.name}",
                           cache.roofline(ref.key(), device, dtype, batch, channels_last, autocast)))
    except RooflineError as exc:
        st.warning(str(exc))
        return
    dev = design["device"]
    if device == CPU:
        st.button("Measure this CPU again", key="roof_remeasure", on_click=_remeasure_cpu,
                  help="Runs the GEMM and copy micro-benchmarks again (about half a second) and keeps the best "
                       "figures seen: other work on a shared machine only lowers them.")
    st.caption(f"**{dev['name']}**: compute roof {design['peak_tflops']:.4g} TFLOP/s ({design['peak_label']}), "
               f"memory roof {design['mem_bw_gbs']:.4g} GB/s, ridge {design['ridge']:.1f} FLOP/byte. "
               f"Source: {dev['source']}" + (f" ([link]({dev['source_url']}))" if dev.get("source_url") else "")
               + (f". {dev['note'][:1].upper()}{dev['note'][1:]}." if dev.get("note") else "."))
    measured, record = _measured_stages(cfg, device, dtype, batch, channels_last, autocast)
    st.plotly_chart(roofline_chart(series, measured), key="roof_chart", width="stretch",
                    config={"displaylogo": False})
    if len(series) > 1:
        st.markdown(roofline_verdict(series))
    table = pd.DataFrame(roofline_rows(series))
    if table["estimated ms"].isna().all():
        table = table.drop(columns="estimated ms")
    st.dataframe(table, hide_index=True, key="roof_table", width="stretch",
                 column_config=roof_columns())
    if len(design["parts"]) > 2:   # a detector: the stages summed per part (backbone, neck, head)
        parts = pd.DataFrame(roofline_part_rows(series))
        if parts["estimated ms"].isna().all():
            parts = parts.drop(columns="estimated ms")
        st.dataframe(parts, hide_index=True, key="roof_parts", width="stretch",
                     column_config=roof_columns() | {"share of the lower bound": st.column_config.ProgressColumn(
                         min_value=0.0, max_value=1.0, format="percent")})
    est = design["estimate"]
    if est["calibration"] and not est["trust"]["calibrated"]:
        st.warning(estimate_text(design))
    else:
        st.caption(estimate_text(design))
    st.caption(f"Bytes: {design['bytes_model']}. FLOPs: {design['flops_convention']}")
    with st.expander("Per component (the design's stages)"):
        st.dataframe(pd.DataFrame(component_rows(design)), hide_index=True, key="roof_components", width="stretch",
                     column_config=roof_columns())
    with st.expander("How good are the estimates?"):
        cal_rows = pd.DataFrame(calibration_rows())
        st.dataframe(cal_rows, hide_index=True, key="roof_calibration", width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.2f") for c in cal_rows.columns
                                    if c.endswith(("efficiency", "kernel", "%", "±10 %"))})
        summary = error_summary()
        st.caption(f"H100, leave-one-model-out over {summary['points']} measured times of "
                   f"{', '.join(summary['models'])} (each model estimated from a fit on the others only): median "
                   f"error {summary['median_abs_pct']:.1f} %, p90 {summary['p90_abs_pct']:.1f} %, "
                   f"{summary['within_10_pct']:.0%} within ±10 %; CSP / base direction right at batch 64 in "
                   f"{summary['directions_b64_right']} of {summary['directions_b64']} pairs measured.")
        t = transfer_error()
        st.caption(f"A GPU without measurements of its own gets the H100 calibration with its own peaks: on the "
                   f"RTX 4090 and 5090 (timm's published times, not fitted) that was off by {t['min_pct']:+.0f} % "
                   f"to {t['max_pct']:+.0f} %.")
    if measured:
        st.caption("Green crosses: the stages as measured above, at the TFLOP/s they reached.")
    elif record is not None:
        st.caption("The last measurement is on another device, dtype or batch than this chart; its % of "
                   "roofline is below.")
    if record is not None:
        _pct_of_roofline(cfg, record)


def main() -> None:
    cfg = state.page()
    st.title("Latency")
    st.caption("Fewer MACs is not the same as less time. Measure the current design against its paper base "
               "(the network the paper compares it with, e.g. resnet50 for cspresnet50) or its plain twin (the "
               "same knobs without CSP), and see where the arithmetic saving turns into a time saving.")
    init_state(cfg)
    ss = st.session_state
    was_running, was_cancelled = ss.pop(K_RUNNING, False), ss.pop(K_CANCEL, False)
    if was_cancelled:
        st.info("The benchmark was cancelled; nothing is running now.")
    elif was_running:
        st.info("The last benchmark was interrupted (a setting changed while it ran, or the page was left); "
                "press Measure to start again.")
    with guard("Latency"):
        kind, ref, label = reference_choice(cfg)
        req = controls(cfg)
        if req is not None:
            work_caption(cfg, req, kind, label)
            too_big = memory_problem(cfg, req, ref)
            if too_big:
                st.warning(too_big)
            if not cfg.is_csp:
                st.caption("The current design is plain (fusion 'none'): it is its own twin, so only one model "
                           "is measured.")
            elif ref == cfg:
                st.caption("The current design has no valid plain twin, so only it is measured.")
            if st.button("Measure", key="lat_start", type="primary"):
                measure(cfg, req, ref, label)
        st.divider()
        show_results(cfg)
        st.divider()
        with st.container(key="roof_section"):
            roofline_section(cfg, ref, label)


main()

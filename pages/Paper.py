"""Paper vs tool page: the CSPNet paper's numbers against what this tool counts.

1. Fusion ablation (paper Figure 4, PeleeNet): this tool's compute change beside the paper's, with
   the reasons explorer.paper.reproduce gives.
2. Every published row a preset builds: published params and compute against this tool's count at
   the row's resolution and in its convention; filterable; any row's design opens on the Design page.
   Then CSP's modern lineage (timm CrossStage3, YOLOv5/v8/11, RTMDet CSPNeXt): each published compute
   column, how its source ran its counter (the fused model, at 32 px scaled, an 80-class build), and
   how many of its rows this tool reproduces to the printed digits.
3. The published COCO detection rows a detector preset builds (YOLOv5u, YOLOv8, YOLO11): AP cited, params and
   GFLOPs against this tool's count in the row's own convention (Ultralytics' get_flops on the fused model at a
   stride-32 probe scaled to 640), with the reasons; the rows no preset builds, grouped by why.
4. The claims people quote, with verdicts; latency is measured only on request (never cached).
5. Downloads of the table.

Widgets and layout only: the numbers come from explorer.paper.reproduce (cached in app_ui.cache),
the figures and tables from app_ui.paper_figures.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from app_ui import cache, paper_figures, state
from app_ui.messages import error_text, guard
from cspnet import all_presets, get_preset
from explorer.paper import reproduce

K_MEASURED = "paper_measured"       # {"claims": [...], "seconds": float, "at": "HH:MM:SS"} (this session only)
K_MEASURE_ERROR = "paper_measure_error"
# the latency claim's pair: cspresnet50 and its paper base (the preset tables' ``base`` column)
LAT_BASE, LAT_CSP = reproduce.LATENCY_BASE, reproduce.LATENCY_CSP
LATENCY_SETUP = (f"{LAT_BASE} against {LAT_CSP}, batch size 1, fp32, 256x256 input, on this machine's CPU; "
                 "5 interleaved rounds of 2 warm-up + 5 timed runs per model")
PCT = "%+.1f %%"


# --------------------------------------------------------------------------- 1. ablation
def section_ablation() -> None:
    st.header("Fusion ablation (paper Figure 4, PeleeNet)", anchor="fusion-ablation")
    with guard("The fusion ablation"):
        abl = cache.ablation()
        base = abl["base"]
        st.caption(f"Compute of each CSPPeleeNet variant against the plain PeleeNet at 224x224. This tool counts "
                   f"conv+linear multiply-adds (PeleeNet: {base['macs'] / 1e6:.1f} M MACs = {base['bflops']:.3f} "
                   f"BFLOPs); the paper counts Darknet BFLOPs (PeleeNet: {base['paper_bflops']} BFLOPs). Only the "
                   "relative change is compared.")
        what_if = st.toggle("Show the what-if layout (transition after the 2x2 pool)", value=True,
                            key="paper_whatif",
                            help="This tool's count if every pooled transition's 1x1 conv ran after its 2x2 average "
                                 "pool: a layout hypothesis, not a preset.")
        st.plotly_chart(paper_figures.ablation_figure(abl, what_if=what_if), key="paper_ablation_chart",
                        width="stretch", config={"displaylogo": False})
        st.markdown("\n".join(f"- {s}" for s in paper_figures.ablation_summary(abl)))
        frame = paper_figures.ablation_frame(abl)
        cols = ["variant", "tool MMACs", "tool change %", "paper BFLOPs", "paper change %", "paper value",
                "difference (pts)", "what-if: transition after the pool %", "paper top-1 change (pts)"]
        st.dataframe(frame[cols], key="paper_ablation_table", hide_index=True, width="stretch", column_config={
            "tool MMACs": st.column_config.NumberColumn("this tool (M MACs)", format="%.1f"),
            "tool change %": st.column_config.NumberColumn("this tool vs PeleeNet", format=PCT),
            "paper BFLOPs": st.column_config.NumberColumn("paper (BFLOPs)", format="%.3f"),
            "paper change %": st.column_config.NumberColumn("paper vs PeleeNet", format=PCT),
            "paper value": st.column_config.TextColumn("paper value", help="exact: from the paper's text/README; "
                                                       "approximate: read off Figure 4 or derived from rounded %"),
            "difference (pts)": st.column_config.NumberColumn("tool - paper (points)", format="%+.1f"),
            "what-if: transition after the pool %": st.column_config.NumberColumn(
                "what-if layout", format=PCT, help="Every pooled transition's 1x1 conv after its 2x2 pool (a "
                "hypothesis about the full-CSP layout; shown for every variant, against the unchanged PeleeNet)."),
            "paper top-1 change (pts)": st.column_config.NumberColumn(
                "paper top-1 change (cited)", format="%+.1f", help="From the paper; never computed here."),
        })
        st.markdown("**Why each variant differs** (the reasons `explorer.paper.reproduce` gives)")
        for r in abl["rows"]:
            with st.expander(f"{r['label']}: this tool {r['tool_delta_pct']:+.1f}%, paper "
                             f"{r['paper_delta_pct']:+.1f}%", expanded=r["preset"] == "csppeleenet"):
                st.markdown(r["why"])
        with st.expander("About these numbers"):
            st.markdown("\n".join(f"- {n}" for n in abl["notes"]) + f"\n- Conventions: {abl['conventions']}.")


# --------------------------------------------------------------------------- 2. published vs tool
def section_reproduce():
    """Returns (records, full frame, mask of the rows shown) for the downloads, or None."""
    st.header("Published vs this tool", anchor="published-vs-tool")
    st.caption("Every published row whose preset builds the same network: the published params and compute "
               "exactly as the source gives them (with its unit), and this tool's count at the row's input "
               "resolution and in the row's convention (the CSPNet README counts conv weights only; Darknet "
               "BFLOPs are 2 per multiply-add; mmpretrain's counter adds activations and pooling; Ultralytics' "
               "FLOPs are 2 x thop's count, some of a fused model counted at 32 px and scaled: 'counted on').")
    out = None
    with guard("The published-vs-tool table"):
        records = cache.reproduce_records()
        frame = paper_figures.reproduce_frame(records, cache.published())
        c1, c2, c3 = st.columns([2, 3, 1.4], vertical_alignment="bottom")
        fams = sorted(f for f in frame["family"].dropna().unique())
        groups = list(dict.fromkeys(frame["source"]))
        sel_fam = c1.multiselect("Family", fams, key="paper_family", placeholder="all families")
        sel_src = c2.multiselect("Source", groups, key="paper_source", placeholder="all sources")
        with_compute = c3.toggle("Only rows with compute", key="paper_with_compute",
                                 help="Hide the rows whose source gives accuracy only (no params, no compute).")
        mask = paper_figures.filter_mask(frame, sel_fam, sel_src, with_compute)
        shown = frame[mask].reset_index(drop=True)
        close = shown["compute diff %"].abs() <= 1.0
        n_cmp = int(shown["compute diff %"].notna().sum())
        n_round, _ = paper_figures.rounds_count(shown)
        st.caption(f"{len(shown)} of {len(frame)} rows. Of the {n_cmp} rows shown that have compute, this tool's "
                   f"count rounds to the published digits in {n_round} and is within 1% in {int(close.sum())} "
                   "(a value printed as 0.5 is within 10% at best).")
        st.dataframe(shown, key="paper_repro_table", hide_index=True, width="stretch", height=420, placeholder="–",
                     column_config={
                         "res": st.column_config.NumberColumn("res (px)", format="%d"),
                         "params published (M)": st.column_config.NumberColumn(format="%.3f"),
                         "params tool (M)": st.column_config.NumberColumn(
                             format="%.3f", help="In the source's convention (see 'params convention')."),
                         "params diff %": st.column_config.NumberColumn(format="%+.2f %%"),
                         "compute published": st.column_config.NumberColumn(format="%.4g",
                                                                            help="As published, in 'unit'."),
                         "compute tool": st.column_config.NumberColumn(
                             format="%.4g", help="This tool's count in the same unit and convention."),
                         "compute diff %": st.column_config.NumberColumn(format="%+.2f %%"),
                         "counted on": st.column_config.TextColumn(
                             help="Where the source ran its counter on another network or size than the row's: "
                                  "the fused model (BatchNorm folded into the convs), at 32 px times (R/32)^2."),
                         "rounds to published": st.column_config.CheckboxColumn(
                             help="This tool's number, rounded to the digits the source printed, equals it."),
                         "reason": st.column_config.TextColumn(width="large"),
                     })
        open_design(shown)
        out = (records, frame, mask)
    with guard("The lineage's compute columns"):
        section_lineage(cache.reproduce_records())
    return out


def section_lineage(records: list) -> None:
    """Each published compute column of CSP's modern lineage: how its source counted, reproduced here."""
    st.subheader("CSP's modern lineage: how each source counts", anchor="lineage-columns")
    cols = reproduce.lineage_columns(records)
    st.caption("timm's CrossStage3 (2022), YOLOv5's C3 (2020), YOLOv8's C2f (2023), YOLO11's C3k2 + C2PSA (2024) "
               "and RTMDet's CSPNeXt (2022) are fusion-first CSP stages (see the Design page's lineage families). "
               "Their published compute columns use other conventions and, for Ultralytics, other networks and "
               "sizes than the row suggests; this tool computes each one the source's way.")
    names = paper_figures.LINEAGE_COLUMNS
    st.dataframe(paper_figures.lineage_frame(cols), key="paper_lineage_table", hide_index=True, width="stretch",
                 column_config={
                     names["source"]: st.column_config.TextColumn(width="medium"),
                     names["published"]: st.column_config.TextColumn(help="As the source prints it, in its unit."),
                     names["this_tool"]: st.column_config.TextColumn(
                         help="This tool's count the source's way (convention, network, size), same unit."),
                     names["counted_on"]: st.column_config.TextColumn(width="large"),
                 })
    extra = {}
    for c in cols:
        for res in c["resolutions"]:
            extra.setdefault(res, []).extend(c["from_scaling"])
    scaled = ", ".join((f"+{min(v):.3g}" if f"{min(v):.3g}" == f"{max(v):.3g}" else f"+{min(v):.3g} to +{max(v):.3g}")
                       + f" GFLOPs at {res} px" for res, v in sorted(extra.items()) if v)
    quirks = list(LINEAGE_QUIRKS)
    quirks[1] = quirks[1].format(scaled=scaled or "n/a")
    st.markdown("\n".join(f"- {line}" for line in quirks))


LINEAGE_QUIRKS = (
    "**Ultralytics' 'FLOPs (B)'** are 2 x the MACs thop counts (conv, linear and attention MACs, BatchNorm 4 per "
    "element, global pool), not FLOPs in fvcore's or torch's sense.",
    "**Counted at 32 px and scaled**: every Ultralytics classification column ran thop at 32x32 and multiplied by "
    "(R/32)^2, which also multiplies the linear head (the same at any size): {scaled} over the same count at the "
    "real size, which today's get_flops gives.",
    "**Fused or not**: YOLOv5's column and YOLOv8's first (at 640) counted the fused model (BatchNorm folded into "
    "the convs); YOLOv8's and YOLO11's 'at 224' columns the model as built. Every params column is of the fused "
    "model.",
    "**YOLO11's params are of an 80-class build** (the COCO default), its FLOPs of the 1000-class model: two "
    "columns from two different models.",
    "**mmdetection's 'Flops(G)' and timm's GMACs are MAC counts** (BatchNorm included: fvcore's rules), at the "
    "row's resolution.",
)


def section_detection() -> None:
    """The published COCO detection rows a detector preset builds, each in its own row's convention."""
    st.header("COCO detection rows", anchor="coco-detection")
    st.caption("Every published COCO row whose model a detector preset builds (backbone, neck and head): the AP is "
               "cited, never computed; the params and GFLOPs are counted here the way the row's source counted "
               "them (the 'convention' column). Ultralytics' docs print get_flops of the fused model (each "
               "BatchNorm folded into its conv): 2 x thop's count on a 32 x 32 probe, times (640/32)^2; YOLOv5's "
               "and YOLOv7's model_info count the same way, nearest upsampling 0; Darknet counts the cfg at the "
               "row's own size. 'at the real size' is the same model counted at the row's size directly, without "
               "a probe: YOLO11's attention grows with the square of the positions, so there the probe counts "
               "less. The 'reason' column says why a row does not round (YOLOv5's README: an older thop; YOLOv7: "
               "the deploy model of the preset's training form).")
    records = cache.detection_records()
    frame = paper_figures.detection_frame(records)
    n_ok = int(frame["rounds to published"].sum())
    st.caption(f"{len(frame)} rows a preset builds; params and compute round to the printed digits in {n_ok}.")
    st.dataframe(frame, key="paper_detection_table", hide_index=True, width="stretch", placeholder="–",
                 height=35 * (len(frame) + 1) + 3,   # every row without scrolling
                 column_config={
                     "res": st.column_config.NumberColumn("res (px)", format="%d"),
                     "AP published": st.column_config.NumberColumn(format="%.1f", help="Cited: COCO box AP@[.5:.95]."),
                     "params published (M)": st.column_config.NumberColumn(format="%.1f"),
                     "params tool (M)": st.column_config.NumberColumn(format="%.3f",
                                                                      help="Of the fused model, as published."),
                     "params diff %": st.column_config.NumberColumn(format="%+.2f %%"),
                     "compute published": st.column_config.TextColumn(help="As printed, in 'unit'."),
                     "compute tool": st.column_config.NumberColumn(
                         format="%.3f", help="This tool's count in the row's convention, same unit."),
                     "compute diff %": st.column_config.NumberColumn(format="%+.2f %%"),
                     "at the real size": st.column_config.NumberColumn(
                         format="%.3f", help="The same model counted at the row's size directly (no 32 px probe)."),
                     "rounds to published": st.column_config.CheckboxColumn(
                         help="Params and compute, rounded to the digits the source printed, equal it."),
                     "reason": st.column_config.TextColumn(width="large"),
                 })
    open_design(frame, key="paper_det")
    unbuilt = paper_figures.detection_unbuilt(records)
    with st.expander(f"Rows no preset builds ({int(unbuilt['rows'].sum())})"):
        st.dataframe(unbuilt, key="paper_detection_unbuilt", hide_index=True, width="stretch",
                     column_config={"models": st.column_config.TextColumn(width="large")})


def open_design(shown, key: str = "paper") -> None:
    """Pick a row shown; its preset (at the row's resolution) becomes the current design."""
    options: dict = {}
    for _, row in shown.iterrows():
        options.setdefault(paper_figures.row_label(row), (row["preset"], int(row["res"])))
    if not options:
        st.info("No rows match these filters.")
        return
    c1, c2 = st.columns([4, 1.3], vertical_alignment="bottom")
    label = c1.selectbox("Open a row's design", list(options), key=f"{key}_open_row",
                         help="The row's preset at the row's input resolution, so the Design page shows the "
                              "numbers counted here.")
    pick = shown[[paper_figures.row_label(r) == label for _, r in shown.iterrows()]]
    if not pick.empty and pick.iloc[0]["reason"]:
        st.caption(f"Why this row differs: {pick.iloc[0]['reason']}")
    if c2.button("Open on the Design page", key=f"{key}_open_btn", width="stretch"):
        preset, res = options.get(label, (None, None))
        if preset not in all_presets():
            st.warning(f"The preset '{preset}' is not available in this build.")
            return
        state.set_design(get_preset(preset, input_size=res), preset)
        state.open_on_design_page()


# --------------------------------------------------------------------------- 3. claims
def run_measurement() -> None:
    """claims(measure=measure_latency) in a worker thread while this run shows the elapsed time; errors become
    messages."""
    from explorer.real.measure import measure_latency

    ss = st.session_state
    ss[K_MEASURE_ERROR] = None
    t0 = time.monotonic()
    with st.status("Measuring latency on the CPU…", expanded=True) as status:
        st.write(f"Measuring {LATENCY_SETUP}. The compute-only claims are recomputed too. If another benchmark is "
                 "using the CPU, this one waits for it.")
        bar = st.progress(0.0, text="starting")
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paper-claims")
        try:
            fut = pool.submit(reproduce.claims, measure_latency)
            while not fut.done():
                el = time.monotonic() - t0
                bar.progress(min(0.95, el / (el + 15.0)), text=f"running for {el:.0f} s")
                time.sleep(0.5)
            result = fut.result()
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback
            ss[K_MEASURE_ERROR] = error_text(exc)
            status.update(label="The latency measurement failed", state="error", expanded=True)
            st.error(f"The latency measurement failed: {error_text(exc)}")
            return
        finally:
            pool.shutdown(wait=False)
        el = time.monotonic() - t0
        ss[K_MEASURED] = {"claims": result, "seconds": el, "at": time.strftime("%H:%M:%S")}
        bar.progress(1.0, text=f"done in {el:.1f} s")
        status.update(label=f"Measured in {el:.1f} s", state="complete", expanded=False)


def show_claim(i: int, c: dict) -> None:
    with st.container(border=True, key=f"paper_claim_{i}"):
        t1, t2 = st.columns([5, 1.4], vertical_alignment="center")
        t1.markdown(f"**{c.get('claim', '?')}**")
        verdict = c.get("verdict", "?")
        color = paper_figures.verdict_badge(verdict)
        with t2:
            st.badge(verdict, color=color)
        if c.get("source"):
            st.caption(f"Source: {c['source']}")
        lat = (c.get("computed") or {}).get("latency")
        if lat:
            fast, med = lat.get("min_ms", {}), lat.get("median_ms", {})
            m1, m2, m3 = st.columns(3)
            m1.metric(f"{LAT_BASE}, fastest run", f"{fast.get(LAT_BASE, float('nan')):.1f} ms",
                      help=f"Median of the rounds: {med.get(LAT_BASE, float('nan')):.1f} ms")
            m2.metric(f"{LAT_CSP}, fastest run", f"{fast.get(LAT_CSP, float('nan')):.1f} ms",
                      help=f"Median of the rounds: {med.get(LAT_CSP, float('nan')):.1f} ms")
            d, dm = c["computed"].get("latency_delta_pct"), c["computed"].get("latency_delta_pct_median")
            m3.metric("change (fastest run)", "n/a" if d is None else f"{d:+.1f} %",
                      help=("" if dm is None else f"Median of the rounds: {dm:+.1f} %. ")
                      + f"batch {lat.get('batch')}, {lat.get('dtype')}, {lat.get('device')}, "
                        f"{lat.get('input_size')}x{lat.get('input_size')}; {lat.get('method')}")
        st.markdown(c.get("reason", ""))
        tables = paper_figures.computed_tables(c.get("computed") or {})
        if tables:
            with st.expander("Computed numbers"):
                for title, df in tables:
                    if title != "numbers":
                        st.markdown(f"*{title}*")
                    st.dataframe(df, hide_index=True, width="stretch", key=f"paper_claim_{i}_{title}")
        st.caption(f"ℹ️ {c.get('accuracy') or reproduce.ACCURACY_NOTE}")


def section_claims() -> list | None:
    st.header("Claims checker", anchor="claims")
    st.caption("The claims people quote about CSPNet, each with what this tool computes and a verdict. "
               + reproduce.ACCURACY_NOTE)
    ss = st.session_state
    c1, c2, c3 = st.columns([1.4, 1.2, 4], vertical_alignment="center")
    pressed = c1.button("Measure latency here", key="paper_measure", type="primary",
                        help=f"Runs the claims with a real measurement: {LATENCY_SETUP}. Takes some seconds; "
                             "never cached.")
    if ss.get(K_MEASURED):
        if c2.button("Clear the measurement", key="paper_measure_clear"):
            ss[K_MEASURED] = None
            ss[K_MEASURE_ERROR] = None
            st.rerun()
    gpu = _gpu_note()
    c3.caption(f"Measures {LATENCY_SETUP}.{gpu}")
    if pressed:
        run_measurement()
    elif ss.get(K_MEASURE_ERROR):
        st.error(f"The last latency measurement failed: {ss[K_MEASURE_ERROR]}")
    measured = ss.get(K_MEASURED)
    claims = None
    if measured:
        st.caption(f"Latency measured at {measured['at']} (took {measured['seconds']:.1f} s), in this session only.")
        claims = measured["claims"]
    else:
        with guard("The claims"):
            claims = cache.analytic_claims()
    for i, c in enumerate(claims or []):
        with guard(f"Claim {i + 1}"):
            show_claim(i, c)
    return claims


def _gpu_note() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return (f" A GPU is present ({torch.cuda.get_device_name()}), but this claim is measured on the CPU; "
                    "the Latency page measures on the GPU.")
    except Exception:  # noqa: BLE001 - only a note
        pass
    return " No GPU here: the CPU is measured."


# --------------------------------------------------------------------------- 4. downloads
def section_downloads(repro, claims) -> None:
    st.header("Downloads", anchor="downloads")
    with guard("The downloads"):
        if repro is None:
            st.info("The table could not be built, so there is nothing to download.")
            return
        records, frame, mask = repro
        only_shown = st.toggle("Only the rows shown above", key="paper_dl_filtered",
                               help="Otherwise every published row with a preset.")
        keep = mask if only_shown else mask | True
        fams = list(frame["family"])
        recs = [dict(r, family=f) for r, f, k in zip(records, fams, keep) if k]
        c1, c2, c3 = st.columns(3)
        c1.download_button(f"Table as CSV ({int(keep.sum())} rows)", paper_figures.frame_csv(frame[keep]),
                           file_name="cspnet_paper_vs_tool.csv", mime="text/csv", key="paper_dl_csv", width="stretch",
                           on_click="ignore")
        c2.download_button(f"Table as JSON ({len(recs)} records)", paper_figures.records_json(recs),
                           file_name="cspnet_paper_vs_tool.json", mime="application/json", key="paper_dl_json",
                           width="stretch", on_click="ignore",
                           help="Every field of explorer.reproduce.reproduce(), with the alternative conventions.")
        c1.download_button("COCO detection rows as JSON", paper_figures.records_json(cache.detection_records()),
                           file_name="cspnet_detection_vs_tool.json", mime="application/json", key="paper_dl_det",
                           width="stretch", on_click="ignore",
                           help="Every field of explorer.paper.reproduce.reproduce_detection(): every published "
                                "COCO row, those a preset builds counted in their own convention.")
        if claims:
            c3.download_button("Claims as JSON", paper_figures.records_json(claims), file_name="cspnet_claims.json",
                               mime="application/json", key="paper_dl_claims",
                               width="stretch", on_click="ignore")


def main() -> None:
    state.page()
    st.title("Paper vs tool")
    st.caption("The CSPNet paper's (and other sources') published numbers against what this tool counts for the "
               "same networks, and the claims people quote, checked. Published values are read from the data "
               "set, never copied; accuracy is always cited, never computed.")
    st.markdown("[Fusion ablation](#fusion-ablation) · [Published vs this tool](#published-vs-tool) · "
                "[The modern lineage's columns](#lineage-columns) · [COCO detection rows](#coco-detection) · "
                "[Claims checker](#claims) · "
                "[Downloads](#downloads)")
    section_ablation()
    repro = section_reproduce()
    with guard("The COCO detection rows"):
        section_detection()
    claims = section_claims()
    section_downloads(repro, claims)


main()

"""Tradeoff page: published ImageNet top-1 against compute, with the current design and its plain
twin placed at their computed compute: at the published top-1 when the design is a preset with a
published accuracy (explorer.paper.published.published_accuracy), else as a line (accuracy unknown).
Click a published model that has a preset to load it on the Design page.  "Colour by CSP design" puts
the 2019-2024 CSP designs (CSPNet, YOLOv5 C3, timm CrossStage3, RTMDet CSPNeXt, YOLOv8 C2f, YOLO11
C3k2) side by side in time order, the plain networks in grey.  The Pareto front of the shown rows is drawn
(explorer.paper.pareto) and a design placed at a published accuracy is told how far it is from it.

"COCO detection" shows the published detection rows (explorer.paper.detection): AP against compute as each
source published it, one panel per counting scale, a marker per convention, the front of each panel.  A detector
design is placed in its convention's panel (explorer.paper.reproduce.detector_point: Ultralytics' get_flops of
the fused model at 640 px, the convention of the detector presets' rows): at its published point when it is a
preset with a published AP (the computed compute beside, and its distance from the front: compute saved at equal
AP, AP gained at equal compute), else as a line at its computed compute (AP unknown)."""
from __future__ import annotations

import streamlit as st

from app_ui import cache, state
from app_ui.charts import (
    measured_figure,
    plottable,
    published_line,
    selected_presets,
    throughput_figure,
    tradeoff_figure,
)
from app_ui.detection_figures import detection_figure, front_table, front_trace
from app_ui.messages import guard
from cspnet import all_presets, get_preset
from explorer.counts.analysis import has_detection_head
from explorer.paper.detection import (
    AP_SPLITS,
    COMPARABILITY,
    CONVENTIONS,
    conventions_table,
    detection_series,
    filter_detection,
    load_detection,
    plottable_detection,
)
from explorer.paper.pareto import front_rows, position_sentence, table_position
from explorer.paper.published import NO_CSP, csp_design_order, filter_published, published_accuracy, sets_front
from explorer.paper.reproduce import detector_position
from explorer.paper.speed import measured_points, throughput_points

DATASETS = {"imagenet": "ImageNet classification (top-1)", "coco": "COCO detection (AP)"}
NO_DETECTOR = ("Your design is a classifier, so it is not placed on this chart: open a detector preset (yolov5nu, "
               "yolov8n, yolo11n, ...) or set task=detect on a YOLO family to place one.")
DETECTION_TABLE = ["model", "family", "year", "input_size", "ap", "ap_definition", "params_m", "flops_value",
                   "flops_unit", "convention_label", "compute_res", "source_title", "source_url", "plot_note"]

COMPUTE_AXIS = "compute (GMACs)"
SPEED_PREFIX = "published throughput on "
MEASURED_AXIS = "latency measured here (this session)"
PAIR_COLUMNS = {"csp": "CSP preset", "base": "paper base", "csp_res": "CSP px", "base_res": "base px",
                "mac_ratio": "MAC ratio CSP/base", "throughput_ratio": "throughput ratio CSP/base",
                "csp_gmacs": "CSP GMACs (this tool)", "base_gmacs": "base GMACs (this tool)",
                "csp_img_s": "CSP img/s", "base_img_s": "base img/s", "batch": "batch"}

TABLE_COLUMNS = ["model", "family", "csp_design", "top1", "compute", "compute_unit", "gmacs", "res", "value_status",
                 "source_group", "preset", "gmacs_note"]
COLOR_BY = {"family": "family", "csp_design": "CSP design (year)", "source_group": "source group"}
PLAIN_COLOR = "#b0b0b0"
# one colour per CSP design, in time order; none is the red of "your design" (app_ui.charts.DESIGN_COLOR)
DESIGN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22")


def filters(df):
    c1, c2, c3 = st.columns([2, 2, 1])
    groups = list(dict.fromkeys(df["source_group"]))
    fams = sorted(df["family"].unique())
    res = sorted(int(r) for r in df["res"].dropna().unique())
    sel_src = c1.multiselect("Source", groups, key="to_source", placeholder="all sources")
    sel_fam = c2.multiselect("Family", fams, key="to_family", placeholder="all families")
    sel_res = c3.multiselect("Resolution (px)", res, key="to_res", placeholder="any",
                             help="The input size at which the published compute was counted.")
    return (sel_src or None), (sel_fam or None), (sel_res or None)


def handle_click(event) -> None:
    """A click on a published point with a preset loads it on the Design page."""
    sel = getattr(event, "selection", None) or (event.get("selection") if isinstance(event, dict) else None)
    picks = selected_presets(sel)
    if not picks:
        return
    presets = all_presets()
    for preset, model in picks:
        if preset and preset in presets:
            state.set_design(get_preset(preset), preset)
            state.open_on_design_page()
    preset, model = picks[0]
    if preset:
        st.warning(f"{model}: its preset '{preset}' is not available in this build.")
    else:
        st.info(f"{model}: no preset builds this architecture, so it cannot be loaded.")


def accuracy_caption(who: str, pub: dict) -> str:
    """Why a design is drawn at a published accuracy, and which of the preset's rows that is."""
    text = (f"{who} is the preset **{pub['preset']}** (the same network), so it is placed at its published "
            f"accuracy: {published_line(pub)}; {pub['why']}.")
    others = pub["others"]
    if others:
        shown = "; ".join(f"{o['source_group']} {o['top1']:.2f} %" + (f" at {o['res']} px" if o["res"] else "")
                          + (f" ({o['tag']})" if o["tag"] else "") for o in others[:4])
        text += f" Other published rows: {shown}" + (f" and {len(others) - 4} more" if len(others) > 4 else "") + "."
    return text


def chart(shown, design_spec, twin_spec, color_by: str, log_x: bool):
    """The accuracy-compute chart; by CSP design the traces come in time order and the plain networks are grey."""
    if color_by != "csp_design":
        return tradeoff_figure(shown, design_spec, twin_spec, color_by=color_by, log_x=log_x)
    order = {d: i for i, d in enumerate(csp_design_order(shown["csp_design"]))}
    ordered = shown.iloc[shown["csp_design"].map(order).argsort(kind="stable")]
    fig = tradeoff_figure(ordered, design_spec, twin_spec, color_by=color_by, log_x=log_x)
    for i, design in enumerate(d for d in order if d != NO_CSP):
        fig.update_traces(marker_color=DESIGN_COLORS[i % len(DESIGN_COLORS)], selector={"name": design})
    fig.update_traces(marker_color=PLAIN_COLOR, selector={"name": NO_CSP})
    fig.update_layout(legend_title_text=COLOR_BY[color_by])
    return fig


def compute_note(df, spec: dict) -> str:
    """Where the design's published point and its computed compute differ, say so (the Paper page says why)."""
    pub = spec["published"]
    row = df.loc[pub["row"]]
    if not pub["at_input_size"] or row["gmacs"] != row["gmacs"] or abs(spec["gmacs"] / row["gmacs"] - 1) < 0.03:
        return ""  # another resolution, no compute (NaN) or the same place
    return (f" Its published compute ({row['compute']:g} {row['compute_unit']}, {row['gmacs']:.3g} GMACs normalised) "
            f"is not where this app counts the same network ({spec['gmacs']:.3g} GMACs, fvcore convention): the "
            "Paper page reconciles the two.")


def front_set(shown):
    """The plotted rows that may set the front: as published and single-crop (explorer.paper.published.sets_front)."""
    pts = plottable(shown)
    return pts[sets_front(pts)]


def add_front(fig, shown) -> None:
    """The Pareto front of the plotted ImageNet rows (top-1 against normalised GMACs) as a staircase."""
    fr = front_rows(front_set(shown), "gmacs", "top1")
    if len(fr):
        labels = [f"{m} ({g}): {x:.3g} GMACs" for m, g, x in zip(fr["model"], fr["source_group"], fr["gmacs"])]
        fig.add_trace(front_trace(fr["gmacs"].tolist(), fr["top1"].tolist(), labels, metric="% top-1", hover=False))


def front_caption(who: str, spec: dict, shown) -> str:
    """How far a design placed at a published top-1 is from the front of the shown rows (its own preset's
    rows left out: the same network would stand against itself)."""
    pub = spec["published"]
    pts = front_set(shown)
    pts = pts.assign(label=[f"{m} ({g})" for m, g in zip(pts["model"], pts["source_group"])])
    pos = table_position(pts, "gmacs", "top1", "label", spec["gmacs"], pub["top1"],
                         leave_out=pts["preset"] == pub["preset"])
    return (position_sentence(f"{who} ({pub['preset']}, at {spec['gmacs']:.3g} GMACs and its published "
                              f"{pub['top1']:.2f} %)", pos, "GMACs", "%")
            + f" Its own preset's published rows are left out of this comparison; {pos['front_size']} rows "
              "form the front.")


def main() -> None:
    cfg = state.page()
    st.title("Tradeoff")
    # a detector opens among the published detectors (ImageNet stays a click away)
    dataset = st.radio("Published results", list(DATASETS), key="to_dataset", horizontal=True,
                       index=1 if has_detection_head(cfg) else 0, format_func=DATASETS.get,
                       help="ImageNet: classifiers, with your design placed on the chart. COCO: published "
                            "detectors, in each source's own counting convention.")
    if dataset == "coco":
        with guard("Published detection data"):
            detection_view(cfg)
        return
    st.caption("Published ImageNet accuracy against compute, every value normalised to GMACs from the "
               "unit its source uses. Your design and its plain twin are placed at the compute this "
               "app counts for them: at its published accuracy when a design is a preset that was trained "
               "and published, else as a line (nobody has trained it, so its accuracy is unknown).")
    if has_detection_head(cfg):
        st.info(f"Your design ({cfg.name}) is a detector: pick **{DATASETS['coco']}** above to place it among the "
                "published detectors, in their own counting convention.")
    with guard("Published data"):
        df = cache.published()
        src, fam, res = filters(df)
        c1, c2 = st.columns([2, 1])
        color_by = c1.radio("Colour by", list(COLOR_BY), key="to_color", horizontal=True,
                            format_func=COLOR_BY.get,
                            help="CSP design: which CSP stage a model uses, with the year it was published "
                                 "(CSPNet 2019 to YOLO11 2024); plain networks in grey.")
        shown = filter_published(df, family=fam, source=src, resolution=res)
        devices = list(dict.fromkeys(cache.speed()["device"]))
        axes = [COMPUTE_AXIS] + [SPEED_PREFIX + d for d in devices] + ([MEASURED_AXIS] if state.measured() else [])
        axis = st.radio("x-axis", axes, key="to_axis", horizontal=True,
                        help="Compute is this data set's normalised GMACs; throughput is timm's published "
                        "benchmark (img/s), one device at a time; 'measured here' shows the models timed on "
                        "the Latency page in this session.")
        if "to_logx" not in st.session_state:
            st.session_state["to_logx"] = True
        log_x = c2.toggle("Log compute axis", key="to_logx", disabled=axis != COMPUTE_AXIS,
                          help="Only for the compute axis.")
        show_front = c2.toggle("Pareto front", value=True, key="to_front", disabled=axis != COMPUTE_AXIS,
                               help="The staircase of the shown rows that no other shown row beats in both "
                                    "compute and top-1 (published points only, nothing interpolated; values read "
                                    "off a figure and 10-crop accuracies do not set it).")
        if axis == MEASURED_AXIS:
            measured_view()
            return
        if axis != COMPUTE_AXIS:
            speed_view(shown, axis[len(SPEED_PREFIX):], color_by)
            return
        cmp = cache.compare(cfg.key(), 1)
        d, t = cmp["design"], cmp["twin"]
        design_spec = {"gmacs": d["fvcore_macs"] / 1e9, "label": f"your design ({cfg.name})",
                       "detail": f"fvcore convention at {cfg.input_size} px", "published": published_accuracy(cfg)}
        twin_spec = None
        if cfg.is_csp and t is not None:  # (no twin: a design whose plain twin is no valid network)
            twin_cfg = cfg.twin()
            twin_spec = {"gmacs": t["fvcore_macs"] / 1e9, "label": "its plain twin",
                         "detail": f"fusion 'none', fvcore convention at {cfg.input_size} px",
                         "published": published_accuracy(twin_cfg)}
        fig = chart(shown, design_spec, twin_spec, color_by, log_x)
        if show_front:
            add_front(fig, shown)
        event = st.plotly_chart(
            fig, key="tradeoff_chart", on_select="rerun", selection_mode="points", width="stretch",
            config={"displaylogo": False,
                    "toImageButtonOptions": {"format": "svg", "filename": "cspnet_accuracy_vs_compute"}})
        handle_click(event)
        pts = plottable(shown)
        st.caption(
            f"{len(pts)} of {len(shown)} selected rows have both compute and top-1 and are plotted "
            f"({len(df)} rows in the data set). Larger markers have a preset: click one to load it. "
            "Outlined markers are CSP models; faded ones are approximate values (read off a figure). "
            f"Your design: {design_spec['gmacs']:.3g} GMACs"
            + (f", its plain twin {twin_spec['gmacs']:.3g} GMACs" if twin_spec else "")
            + f" at {cfg.input_size} px; compare with points at the same resolution.")
        for who, spec in (("Your design", design_spec), ("Its plain twin", twin_spec)):
            if spec and spec["published"]:
                st.caption(accuracy_caption(who, spec["published"]) + compute_note(df, spec))
                if show_front:
                    st.caption(front_caption(who, spec, shown))
        if st.toggle("Show the rows as a table", key="to_table"):
            st.dataframe(shown[TABLE_COLUMNS], hide_index=True, key="to_rows", width="stretch",
                         column_config={"top1": st.column_config.NumberColumn("top-1 %", format="%.2f"),
                                        "gmacs": st.column_config.NumberColumn("GMACs", format="%.3f")})


def detection_filters(df):
    """Detector line, year, convention, AP split and resolution filters (empty: no filter)."""
    c1, c2, c3 = st.columns([3, 2, 3])
    sel_series = c1.multiselect("Detector", detection_series(), key="td_series", placeholder="all detectors")
    sel_year = c2.multiselect("Year", sorted(set(df["year"].tolist())), key="td_year", placeholder="all years")
    used = [c for c in CONVENTIONS if c in set(df["convention"])]
    sel_conv = c3.multiselect("Counting convention", used, key="td_convention", placeholder="all conventions",
                              format_func=lambda c: CONVENTIONS[c].label,
                              help="How each source counted its compute; the expander below says what each counts.")
    c4, c5, c6 = st.columns([3, 2, 3])
    sel_split = c4.multiselect("AP measured on", list(AP_SPLITS), key="td_split", placeholder="any split",
                               help="COCO val2017 and test-dev are different image sets: AP differs by a few "
                                    "tenths between them for the same model.")
    sel_res = c5.multiselect("Input size (px)", sorted(set(df["input_size"].tolist())), key="td_res",
                             placeholder="any")
    log_x = c6.toggle("Log compute axis", value=True, key="td_logx")
    show_front = c6.toggle("Pareto front", value=True, key="td_front",
                           help="Per panel: the shown rows that no other shown row of the same scale beats in both "
                                "compute and AP (published points only, nothing interpolated).")
    return (sel_series or None, sel_year or None, sel_conv or None, sel_split or None, sel_res or None,
            log_x, show_front)


def design_caption(cfg, point: dict) -> str:
    """Where the current detector is drawn, in words: its published row or its computed compute (AP unknown)."""
    size = (f" (your design is at {cfg.input_size} px; counted at {point['res']} px, the size the rows use)"
            if cfg.input_size != point["res"] else "")
    computed = (f"{point['computed']:.4g} GFLOPs computed here in {point['convention_label']} ({point['counted_on']})"
                + size)
    pub = point["published"]
    if pub is None:
        return (f"Your design ({cfg.name}) is a detector no published row trained: drawn as a line at {computed}; "
                "its AP is unknown.")
    return (f"Your design is the preset **{point['preset']}** (the same network), so it is placed at its published "
            f"point: {pub['model']}, {pub['compute']:g} {pub['unit']} and AP {pub['ap']:.1f} % "
            f"({pub['ap_definition']}, {pub['source']}). This tool counts {computed}; the Paper page's COCO "
            "detection rows reconcile the two.")


def detection_view(cfg) -> None:
    """Published COCO AP against compute as each source published it, with the front of each scale and the
    current detector placed in its convention's panel."""
    point = cache.detector_point(cfg.key())
    st.caption("Published COCO detection results, each row with its source. The compute is drawn exactly as its "
               "source printed it, at the row's published input size, in the source's own counting convention: "
               "one panel per scale (what one unit counts), one marker symbol per convention."
               + ("" if point else " " + NO_DETECTOR))
    df = load_detection()
    series_, year, conv, split, res, log_x, show_front = detection_filters(df)
    shown = filter_detection(df, series_=series_, year=year, convention=conv, split=split, resolution=res)
    st.plotly_chart(detection_figure(shown, log_x=log_x, front=show_front, design=point), key="detection_chart",
                    width="stretch", config={"displaylogo": False, "toImageButtonOptions": {
                        "format": "svg", "filename": "coco_ap_vs_compute"}})
    if point:
        drawn = point["scale"] in set(plottable_detection(shown)["scale"])
        st.caption(design_caption(cfg, point) + ("" if drawn else " Not drawn: the filters leave no row of its "
                                                                  "scale."))
        pos = detector_position(point, shown)
        if pos is not None and show_front:
            st.caption(position_sentence(f"Your design ({point['preset']}, at its published {point['x']:g} GFLOPs "
                                         f"and AP {point['ap']:.1f} %)", pos, "GFLOPs", "% AP")
                       + f" Its own preset's row is left out; {pos['front_size']} rows of its scale form the front.")
    pts = plottable_detection(shown)
    left = shown[shown["plot_note"] != ""]
    st.caption(f"{len(pts)} of {len(shown)} selected rows are plotted ({len(df)} rows in the data set); "
               f"{len(left)} are not: they have no published compute, only an AP50, or a compute counted at "
               "another input size than their AP (listed below). Hover a point for its AP definition, compute, "
               "convention and source.")
    st.info("**Why the panels are apart and the symbols differ.** " + COMPARABILITY)
    if show_front and len(pts):
        st.caption("Pareto front, per panel: the rows no other shown row of the same scale beats in both compute "
                   "and AP. It joins conventions of one scale (labelled by symbol) and both COCO splits unless "
                   "filtered; filter by convention or split for a front of like with like.")
        st.dataframe(front_table(shown), hide_index=True, key="td_front_rows", width="stretch",
                     column_config={"AP %": st.column_config.NumberColumn(format="%.2f")})
    with st.expander("Counting conventions: what each source counts"):
        st.dataframe(conventions_table(shown), hide_index=True, key="td_conventions", width="stretch")
    if len(left):
        with st.expander(f"Rows not plotted ({len(left)})"):
            st.dataframe(left[["model", "family", "input_size", "ap", "ap50_pct", "flops_value", "plot_note"]],
                         hide_index=True, key="td_left", width="stretch")
    if st.toggle("Show the rows as a table", key="td_table"):
        st.dataframe(shown[DETECTION_TABLE], hide_index=True, key="td_rows", width="stretch",
                     column_config={"ap": st.column_config.NumberColumn("AP %", format="%.2f"),
                                    "source_url": st.column_config.LinkColumn("source link")})


def measured_view() -> None:
    """Published top-1 against the latency measured on the Latency page in this session."""
    pts = measured_points(state.measured())
    batches = sorted(set(pts["batch"]))
    batch = st.radio("Batch", batches, key="to_measured_batch", horizontal=True) if len(batches) > 1 else batches[0]
    st.plotly_chart(measured_figure(pts, batch), key="tradeoff_measured_chart", width="stretch",
                    config={"displaylogo": False})
    st.caption(f"{len(set(pts['name']))} models measured in this session on the Latency page; the chart places "
               "those that are presets with a published top-1 (the table lists all). Times are measurements on "
               "this machine, never estimates.")
    st.dataframe(pts, hide_index=True, key="to_measured_table", width="stretch",
                 column_config={"median_ms": st.column_config.NumberColumn("median ms", format="%.2f"),
                                "img_s": st.column_config.NumberColumn("img/s", format="%.1f"),
                                "macs": st.column_config.NumberColumn("MACs", format="localized"),
                                "top1": st.column_config.NumberColumn("published top-1 %", format="%.2f")})


def speed_view(shown, device: str, color_by: str) -> None:
    """Published top-1 against timm's published throughput on one device, and the pair table."""
    pts = throughput_points(shown, device)
    st.plotly_chart(throughput_figure(pts, device, color_by=color_by), key="tradeoff_speed_chart",
                    width="stretch", config={"displaylogo": False})
    st.caption(f"{len(pts)} published accuracy rows of presets with a speed row on {device} (matched "
               "through the preset; the speed row at the row's resolution, else the nearest). Throughput is "
               "timm's measurement, not this app's; hover shows the file and batch.")
    pairs = cache.speed_pairs(device)
    st.subheader(f"Fewer MACs, more speed? {device}")
    st.caption("MAC ratio: this tool's conv+linear MACs, CSP / base, each at its benchmark row's input size. "
               "Throughput ratio: published img/s, CSP / base. A MAC ratio below 1 with a throughput ratio "
               "not above it means the saved MACs did not turn into speed.")
    st.dataframe(pairs[list(PAIR_COLUMNS)].rename(columns=PAIR_COLUMNS), hide_index=True, key="to_speed_pairs",
                 width="stretch", column_config={
                     PAIR_COLUMNS["csp_gmacs"]: st.column_config.NumberColumn(format="%.3f"),
                     PAIR_COLUMNS["base_gmacs"]: st.column_config.NumberColumn(format="%.3f"),
                     PAIR_COLUMNS["mac_ratio"]: st.column_config.NumberColumn(format="%.3f"),
                     PAIR_COLUMNS["throughput_ratio"]: st.column_config.NumberColumn(format="%.3f")})


main()

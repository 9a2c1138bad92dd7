"""Diagram page: the current design as a Graphviz diagram, stage level with chosen stages expanded,
a colour legend, and exports (DOT, SVG, PNG, ONNX)."""
from __future__ import annotations

import base64
import re

import streamlit as st

from app_ui import cache, state
from app_ui.messages import guard
from cspnet import plan_network
from explorer.counts.analysis import NECK_ROLES, has_detection_head
from explorer.counts.conventions import CONVENTIONS
from explorer.counts.diagram import C_LATERAL, C_MERGE, C_PART1, C_PART2, C_TRANS, FILL
from explorer.fmt import si
from explorer.real.budget import check_build
from explorer.real.export import MIME, dot_available, render_dot

LAYOUTS = {"TB": "top to bottom", "LR": "left to right"}


def stage_options(cfg) -> list:
    return [sp.name for sp in plan_network(cfg).stages if sp.kind == "stage"]


def stage_label(name: str) -> str:
    if name == "all":
        return "all stages"
    i = int(name.split(".")[1])
    if name.startswith("neck."):   # a detector's neck stage: its path and scale
        return f"neck stage {i + 1} ({name}, {NECK_ROLES[i]})" if i < len(NECK_ROLES) else name
    return f"stage {i + 1} ({name})"


def has_all_taps(cfg) -> bool:
    """Whether a stage concatenates every tap (C2f, C3k2, ELAN: the lineage's ``taps`` field)."""
    return any(op.kind == "cat" and (op.path.endswith(".block.cat") or
                                     op.path.endswith(".concat") and len(op.reads) > 2)
               for sp in plan_network(cfg).stages for op in sp.ops)


def legend_collapsed(compact: bool = False) -> None:
    """The stages-collapsed view's legend: main path, lateral edges, stage nodes."""
    if not compact:
        st.markdown("##### Legend")
    st.markdown(f"<span style='display:inline-block;width:2.2em;border-top:3px solid {C_MERGE};"
                "vertical-align:middle'></span>&nbsp;the path from stage to stage&emsp;"
                f"<span style='display:inline-block;width:2.2em;border-top:3px dashed {C_LATERAL};"
                f"vertical-align:middle'></span>&nbsp;<span style='color:{C_LATERAL}'>lateral: an earlier "
                "stage's output concatenated (FPN/PAN)</span>", unsafe_allow_html=True)
    st.caption("Each box is one stage: its name, its role (the scale a backbone stage writes, P3 = stride 8; a neck "
               "stage's top-down or bottom-up path), its fusion, its block and repeats, and its output shape. Edge "
               "labels are tensor shapes C×H×W at batch 1; Detect reads the neck's P3, P4 and P5. Turn 'Stages "
               "collapsed' off to see inside each stage (split, blocks, concat, transition).")


def legend(compact: bool = False, all_taps: bool = False) -> None:
    def swatch(fill: str, text: str) -> str:
        return (f"<span style='display:inline-block;width:0.9em;height:0.9em;background:{fill};"
                f"border:1px solid #999;border-radius:3px;vertical-align:middle'></span>&nbsp;{text}")

    def line(color: str, text: str, dashed: bool = False) -> str:
        style = "dashed" if dashed else "solid"
        return (f"<span style='display:inline-block;width:2.2em;border-top:3px {style} {color};"
                f"vertical-align:middle'></span>&nbsp;<span style='color:{color}'>{text}</span>")

    items = [
        line(C_PART1, "part 1: bypasses the block", dashed=True),
        line(C_PART2, "part 2: through the block"),
        line(C_TRANS, "into the transition"),
        line(C_MERGE, "plain data flow"),
        swatch(FILL["split"], "split (diamond)"),
        swatch(FILL["block"], "blocks"),
        swatch(FILL["partial_transition"], "(partial) transition"),
        swatch(FILL["concat"], "concat (circle)"),
    ]
    if all_taps:
        items.insert(2, line(C_PART2, "a tap: part 2 or a block's output, concatenated (taps 'all')", dashed=True))
    if not compact:
        st.markdown("##### Legend")
    st.markdown(("&emsp;" if compact else "<br>").join(items), unsafe_allow_html=True)
    st.caption("Edge labels are tensor shapes C×H×W at batch 1. Dashed boxes are stages, drawn in the order "
               "the model runs them: full CSP is block → partial transition → concat → transition, fusion first "
               "block → concat → transition, fusion last block → transition on the block path → concat, with "
               "nothing after the concat. In a plain stage (no split) everything goes through the block."
               + (" Where a stage's taps are 'all' (C2f, C3k2, ELAN), part 2 and every block's output are "
                  "concatenated with part 1 in the stage's one concat: expand the stage to see each tap."
                  if all_taps else ""))


def exports(cfg, dot: str, expand: tuple, collapse: bool = False) -> None:
    st.markdown("##### Export")
    stem = f"{cfg.name}" + ("_expanded" if expand else "_collapsed" if collapse else "")
    c1, c2, c3 = st.columns(3)
    c4 = st.container()
    c1.download_button("DOT", lambda: dot.encode("utf-8"), file_name=f"{stem}.dot", mime=MIME["dot"],
                       key="dl_dot", on_click="ignore", width="stretch")
    if dot_available():
        c2.download_button("SVG", lambda: render_dot(dot, "svg"), file_name=f"{stem}.svg", mime=MIME["svg"],
                           key="dl_svg", on_click="ignore", width="stretch")
        c3.download_button("PNG", lambda: render_dot(dot, "png"), file_name=f"{stem}.png", mime=MIME["png"],
                           key="dl_png", on_click="ignore", width="stretch")
    else:
        c2.info("SVG/PNG need Graphviz's `dot` (apt-get install graphviz); DOT works without it.")
    with c4:
        onnx_export(cfg)


def onnx_export(cfg) -> None:
    """ONNX is built only on request (it builds and exports the real model: seconds).

    Designs whose build would exceed the server's build budget are refused before anything is
    allocated (app_ui.cache).  The download is a callable: the bytes come from the bounded
    cache when clicked, so no session keeps its own copy in Streamlit's media store.
    """
    key = cfg.key()
    ss = st.session_state
    if ss.get("onnx_ready") != key:
        if st.button("Prepare ONNX", key="onnx_prepare", width="stretch",
                     help="Builds the model (random weights) and exports it for Netron. Takes seconds."):
            with guard("ONNX export"):
                check_build(cfg)  # a refusal is a plain message, not a failed status box
                with st.status("Building the model and exporting ONNX…", expanded=False) as status:
                    size = len(cache.onnx(key))
                    status.update(label=f"ONNX ready ({size / 2**20:.0f} MiB)", state="complete")
                ss["onnx_ready"], ss["onnx_size"] = key, size
                st.rerun()  # now only the download button (a rerun passes through guard; an error stays shown)
    if ss.get("onnx_ready") == key:
        st.download_button(f"ONNX ({ss.get('onnx_size', 0) / 2**20:.0f} MiB)", lambda: cache.onnx(key),
                           file_name=f"{cfg.name}.onnx", mime=MIME["onnx"], key="dl_onnx", on_click="ignore",
                           width="stretch")


def wide_diagram(dot: str) -> None:
    """A left-to-right diagram is wider than the page: shown at its natural size with a horizontal
    scroll bar (st.graphviz_chart would shrink it to the page width, too small to read)."""
    svg = cache.render(dot, "svg")
    m = re.search(rb'<svg width="(\d+)pt" height="(\d+)pt"', svg)
    w, h = (int(int(m.group(1)) * 4 / 3), int(int(m.group(2)) * 4 / 3)) if m else (None, None)
    size = f"width:{w}px; height:{h}px; max-width:none;" if w else ""
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    st.html(f"<div style='overflow-x:auto; padding-bottom:6px'><img src='{src}' style='{size}' "
            "alt='network diagram, left to right'></div>")
    st.caption("Scroll sideways to follow the network.")


def main() -> None:
    cfg = state.page()
    st.title("Diagram")
    st.caption("The design stage by stage: where the channels split, what goes through the block, "
               "and where the two parts meet. Expand stages to see their blocks.")
    with guard("Diagram"):
        names = stage_options(cfg)
        c0, c1, c2 = st.columns([1.1, 3, 1.3])
        ss = st.session_state
        # collapsed by default for a detector (its full view is some 7,000 px tall); a new design kind resets it
        det = has_detection_head(cfg)
        if ss.get("diagram_collapse_for") != det:
            ss["diagram_collapse_for"] = det
            ss["diagram_collapse"] = det
        collapse = c0.toggle("Stages collapsed", key="diagram_collapse",
                             help="Each stage one box (its role, block, repeats and output shape) with the edges "
                                  "between stages: a detector's FPN/PAN and its lateral edges at a glance. Off: "
                                  "inside each stage (split, blocks, concat, transition).")
        options = ["all"] + names
        kept = [n for n in ss.get("diagram_expand", []) if n in options]
        if kept != ss.get("diagram_expand", []):
            ss["diagram_expand"] = kept  # stages of a previous, deeper design
        chosen = c1.multiselect("Expand to block level", options, key="diagram_expand",
                                format_func=stage_label, placeholder="stage level (no stage expanded)",
                                disabled=collapse,
                                help="Long runs of blocks are shortened in the middle so deep stages stay readable."
                                     + (" Turn 'Stages collapsed' off first." if collapse else ""))
        rankdir = c2.radio("Layout", list(LAYOUTS), key="diagram_layout", format_func=LAYOUTS.get,
                           horizontal=True)
        expand = () if collapse else ("all",) if "all" in chosen else tuple(n for n in chosen if n in names)
        dot = cache.dot(cfg.key(), expand, rankdir, collapse)
        summary = cache.summary(cfg.key())
        neck = sum(n.startswith("neck.") for n in names)
        count = f"{len(names) - neck} backbone and {neck} neck stages" if neck else f"{len(names)} stages"
        info = (f"{cfg.name}: {count}, {si(summary['params'])} parameters, "
                f"{si(summary['macs'], 'MAC')} at {cfg.input_size}×{cfg.input_size}.")
        if rankdir == "TB":  # tall and narrow: legend and exports beside it
            left, right = st.columns([2.2, 1], gap="large")
        else:  # wide: everything above it
            left = right = st.container()
        with right:
            st.caption(info)
            if collapse:
                legend_collapsed(compact=rankdir != "TB")
            else:
                legend(compact=rankdir != "TB", all_taps=has_all_taps(cfg))
            exports(cfg, dot, expand, collapse)
        with left:
            with st.container(border=True, key="diagram_box"):
                if rankdir == "LR" and dot_available():
                    wide_diagram(dot)
                else:
                    st.graphviz_chart(dot, width="content")
        layer_table(cfg)


def layer_table(cfg) -> None:
    """Every layer of the graph the diagram is drawn from: what it reads, its group and its cost."""
    with st.expander("Every layer: what it reads and what it costs", expanded=False):
        c1, c2 = st.columns(2)
        conv = c1.selectbox("Cost column", list(CONVENTIONS), key="layers_convention",
                            format_func=lambda k: CONVENTIONS[k].label)
        df = cache.layers(cfg.key(), conv)
        stages = ["all"] + list(dict.fromkeys(df["stage"]))
        only = c2.selectbox("Stage", stages, key="layers_stage")
        shown = df if only == "all" else df[df["stage"] == only]
        st.caption(f"{len(shown)} of {len(df)} layers, in the order the model runs them. 'from' lists the layers "
                   "each one reads, by index: 12[0:64] is channels 0 to 63 of layer 12 (a split's part), 'input' "
                   f"the image. Column {conv!r}, in {CONVENTIONS[conv].unit}: {CONVENTIONS[conv].includes}")
        st.dataframe(shown, hide_index=True, height=320)
        st.download_button("Layers (CSV)", lambda: df.to_csv(index=False).encode("utf-8"),
                           file_name=f"{cfg.name}_layers.csv", mime="text/csv", key="dl_layers", on_click="ignore")

main()

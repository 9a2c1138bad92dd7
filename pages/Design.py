"""Design page (the default page, at the app's root URL; app.py is the router around it).

Knobs on the left, live analytic numbers on the right: the design against its plain twin (the same
knobs without CSP) and, for a design started from a CSP preset, against that preset's paper base
(what the paper compares, e.g. resnet50 for cspresnet50, at the design's input size), the
per-stage table in a chosen counting convention, memory, downloads, and an optional live trace of
the real model.  The knobs come from the field declarations (``cspnet.config.FIELDS``): a field's
label, help, widget kind and step are declared once, beside its validation.  Widgets and layout
only: numbers come from explorer/.
"""
from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app_ui import cache, state
from app_ui.messages import guard
from cspnet import ConfigError, all_presets, get_preset
from cspnet.config import FIELDS, FUSION_LABELS
from cspnet.families import FAMILIES, field_choices
from cspnet.presets import paper_base
from explorer.counts.analysis import (
    BLOCK_COLUMN,
    NECK_ROLES,
    PART_SHARE_COLUMN,
    SHARE_COLUMN,
    STAGE_VIEWS,
    blocks_caption,
    delta_tone,
    no_base_text,
    part_table,
    stage_table,
    stage_view,
    why_they_differ,
)
from explorer.counts.conventions import CONVENTIONS
from explorer.counts.fuse import FUSED_CAPTION
from explorer.design import with_changes
from explorer.design.files import MAX_FILE_BYTES, design_from_file, file_warnings
from explorer.design.form import (
    knob_key,
    neck_fields,
    shown_fields,
    task_switch_edits,
    widget_input,
    widget_kind,
    widget_text,
    widget_value,
)
from explorer.fmt import gib, pct, si

METRIC_HELP = {
    "params": "Learnable parameters (weights, BatchNorm affine, biases).",
    "macs": "Multiply-accumulates of conv and linear layers at batch 1 (= FlopCounterMode / 2).",
    "fvcore_macs": "fvcore FlopCountAnalysis convention (timm's published GMACs): adds BatchNorm and pooling terms.",
    "cio": "Memory traffic as the CSPNet paper measures it: input + output elements of every conv (batch 1).",
    "activations": "Elements written by every layer in one forward pass (batch 1).",
}


# ----------------------------------------------------------------------------- callbacks
def on_knob(name: str) -> None:
    from explorer.design.edits import apply_edits

    ss = st.session_state
    cfg = state.design()
    pending = dict(ss.get(state.K_PENDING, {}))
    pending[name] = widget_text(name, ss.get(knob_key(name)))
    if name == "task":   # a detector at 640 px on 80 classes, a classifier at 224 on 1000 (unless set otherwise)
        for k, text in task_switch_edits(cfg, pending[name]).items():
            pending.setdefault(k, text)
    try:
        out = apply_edits(cfg, pending, latest=name)
    except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
        ss[state.K_PENDING] = pending
        ss[state.K_ERRORS] = {name: {"message": f"{name}: {type(exc).__name__}: {exc}", "field": name,
                                     "nearest": None}}
        return
    if out.changed:
        state.set_design(out.cfg, external=False, keep_preset=True)
        ss[state.K_REV] = ss.get(state.K_REV, 0) + 1  # refill the widgets that are not pending
    ss[state.K_PENDING], ss[state.K_ERRORS] = out.pending, out.errors


def on_preset() -> None:
    name = st.session_state.get("pick_preset")
    if name in all_presets():
        state.set_design(get_preset(name), name)


def on_family() -> None:
    fam = st.session_state.get("knob_family")
    cfg = state.design()
    if fam == cfg.family:
        return
    try:
        state.set_design(with_changes(cfg, {"family": fam, "name": f"custom_{fam}"}), None)
    except ConfigError as exc:
        st.session_state[state.K_ERRORS] = {"family": {"message": str(exc), "field": "family", "nearest": None}}


def on_use_nearest() -> None:
    ss = st.session_state
    for name, err in dict(ss.get(state.K_ERRORS, {})).items():
        if err.get("nearest") is not None and name in FIELDS:
            ss[knob_key(name)] = widget_input(name, err["nearest"])
            on_knob(name)


def on_discard() -> None:
    ss = st.session_state
    ss[state.K_PENDING], ss[state.K_ERRORS] = {}, {}
    ss[state.K_REV] = ss.get(state.K_REV, 0) + 1


# ----------------------------------------------------------------------------- widgets
def sync_widgets(cfg) -> None:
    """Fill the widgets from the design when it was replaced (or on the page's first run);
    a widget whose edit is pending keeps what the user typed."""
    ss = st.session_state
    rev = ss.get(state.K_REV, 0)
    force = ss.get("knobs_rev") != rev
    ss["knobs_rev"] = rev
    pending = ss.get(state.K_PENDING, {})
    for name, spec in FIELDS.items():
        if spec.group in ("identity", "hidden"):  # the preset picker and the Family select, below; no widget
            continue
        key = knob_key(name)
        if name in pending:
            continue
        if force or key not in ss:
            ss[key] = widget_value(cfg, name)
    if force or "knob_family" not in ss:
        ss["knob_family"] = cfg.family
    p = state.preset()
    if force or "pick_preset" not in ss:
        ss["pick_preset"] = p if p in all_presets() else None


def knob(name: str, where=st) -> None:
    """One field's widget, as its declaration says (``cspnet.config.FIELDS``)."""
    spec = FIELDS[name]
    kind = widget_kind(name)
    key = knob_key(name)
    kw = dict(key=key, help=spec.help, on_change=on_knob, args=(name,))
    if kind == "text":
        where.text_input(spec.label, **kw)
    elif kind == "int":
        where.number_input(spec.label, step=spec.step, format="%d", **kw)
    elif kind == "float":
        where.number_input(spec.label, step=spec.step, format="%.3f", **kw)
    elif kind == "choice":
        labels = spec.choice_labels or {}
        where.selectbox(spec.label, field_choices(state.design(), name), format_func=lambda v: labels.get(v, str(v)),
                        **kw)
        if name == "fusion":
            where.caption(FUSION_LABELS.get(st.session_state.get(key), ""))
    elif kind == "bool":
        where.checkbox(spec.label, **kw)
    err = st.session_state.get(state.K_ERRORS, {}).get(name)
    if err:
        near = f" Nearest valid value: **{err['nearest']}**." if err.get("nearest") is not None else ""
        where.error(f"{err['message']}.{near} The numbers show the last valid design.")


def knob_panel(cfg) -> None:
    presets = all_presets()
    st.selectbox("Preset", list(presets), key="pick_preset", on_change=on_preset, index=None,
                 placeholder="custom design", help="Load a named design: a paper or library model.")
    p = state.preset()
    if p in presets:
        modified = get_preset(p) != cfg
        st.caption(("Modified from: " if modified else "") + (presets[p].description or presets[p].reference))
    st.selectbox(FIELDS["family"].label, list(FAMILIES), key="knob_family", on_change=on_family,
                 help=FIELDS["family"].help)
    neck_shown = False
    for name in shown_fields(cfg.family, "main"):
        if name == "input_size":   # the neck's group after the backbone's knobs, before the network's input
            neck_panel(cfg)
            neck_shown = True
        if name == "split_ratio":
            c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
            knob(name, c1)
            c2.markdown(f"paper's **γ = {cfg.gamma:.3g}**", help="CSPNet's partial ratio: the share of "
                        "channels that bypasses the block (γ = 1 − split ratio).")
        else:
            knob(name)
        if name == "task" and FIELDS["task"].reads(cfg.family):
            st.caption("Switching the task also moves the input size and the classes to the task's usual "
                       "ones (detect: 640 px, 80 classes; classify: 224 px, 1000) unless you set them otherwise.")
    if not neck_shown:
        neck_panel(cfg)
    st.number_input("Batch (for memory)", min_value=1, max_value=1024, step=1, key="batch",
                    help="Memory below is for this many images at once.")
    advanced = shown_fields(cfg.family, "advanced")
    if advanced:
        with st.expander("Stem, head and activation"):
            for name in advanced:
                knob(name)
    if cfg.family == "darknet_cfg":
        stage_rewrites(cfg)
    open_network()


def neck_panel(cfg) -> None:
    """A detector's neck knobs (the ``neck_`` fields), as a group after the backbone's: per neck stage fields take
    one value or four, in the neck's order (:data:`explorer.counts.analysis.NECK_ROLES`)."""
    names = neck_fields(cfg)
    if not names:
        return
    with st.expander("Neck (PAN: 4 CSP stages)", expanded=True):
        st.caption("Per neck stage fields take one value or four, in this order: "
                   + ", ".join(f"neck.{j} {role}" for j, role in enumerate(NECK_ROLES))
                   + ". The stage table and the Diagram page show each neck stage.")
        for name in names:
            knob(name)


# ----------------------------------------------------------------------------- your own network
K_IMPORT_ERROR = "import_error"


def on_upload() -> None:
    """Parse an opened file (never execute it) into a design (explorer.design.files). An error is a message;
    the previous design stays."""
    ss = st.session_state
    f = ss.get("open_network")
    ss[K_IMPORT_ERROR] = None
    if f is None:
        return
    name = f.name.rsplit("/", 1)[-1]
    try:
        cfg = design_from_file(name, f.getvalue() if f.size <= MAX_FILE_BYTES else b"", size=f.size)
    except ConfigError as exc:
        ss[K_IMPORT_ERROR] = f"{name}: {exc}"
        return
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        ss[K_IMPORT_ERROR] = f"{name}: {type(exc).__name__}: {exc}"
        return
    state.set_design(cfg, None)


def open_network() -> None:
    ss = st.session_state
    warnings = file_warnings(state.design())   # what the opened network's reader read otherwise than written
    with st.expander("Open your own network", expanded=bool(ss.get(K_IMPORT_ERROR) or warnings)):
        st.file_uploader("A Darknet .cfg, an Ultralytics .yaml or a Config .json (at most 256 KB; without an "
                         "extension or as .txt: opened by its content)",
                         type=None, key="open_network", on_change=on_upload,
                         help="Parsed, never executed. A .cfg becomes a design of the darknet_cfg family: its stem, "
                              "stages (CSP stages recognised from the routes) and head, on every page.")
        err = ss.get(K_IMPORT_ERROR)
        if err:
            st.error(f"Could not open {err}. The design is unchanged.")
        if warnings:
            st.warning(f"The opened network {state.design().name} is read as Darknet reads it: " + "; ".join(warnings))
        st.caption("An opened network is not in the share link (too long for one); the Config JSON download "
                   "carries it, and opens here again.")


def on_stage_fusion(stage: str) -> None:
    from explorer.io.family import with_stage_fusion

    ss = st.session_state
    try:
        cfg = with_stage_fusion(state.design(), stage, ss.get(f"cfg_fusion_{stage}"))
    except ConfigError as exc:
        ss[K_IMPORT_ERROR] = f"the rewrite of {stage}: {exc}"
        return
    state.set_design(cfg, None)


def on_stage_split(stage: str) -> None:
    from explorer.io.family import with_stage_split

    ss = st.session_state
    try:
        cfg = with_stage_split(state.design(), stage, float(ss.get(f"cfg_split_{stage}")))
    except ConfigError as exc:
        ss[K_IMPORT_ERROR] = f"the rewrite of {stage}: {exc}"
        return
    state.set_design(cfg, None)


def stage_rewrites(cfg) -> None:
    """Per recognised CSP stage of an imported network: its fusion and, where two 1x1 convs make the split,
    its split ratio, switchable (the cfg is rewritten)."""
    from explorer.io.family import net_of
    from explorer.io.rewrite import FUSIONS, csp_stages, stage_split

    net = net_of(cfg)
    stages = csp_stages(net)
    if not stages:
        st.caption("No CSP stage recognised in this network: nothing to switch.")
        return
    st.markdown("**CSP stages of this network**", help="Switching a stage's fusion rewrites its layers in the "
                "cfg: fusion first drops the partial transition, fusion last drops the transition after the "
                "concat, csp has both (a transition added keeps the stage's output width, a partial transition "
                "the block path's). The plain twin, every CSP stage as a plain stage (explorer.io.rewrite."
                "plain_twin), is what the deltas compare with. Where two 1x1 convs "
                "make the split, its ratio can be changed too ([route] groups splits only halve).")
    for name, fusion in stages:
        key = f"cfg_fusion_{name}"
        st.session_state[key] = fusion
        st.selectbox(f"{name} fusion", FUSIONS, key=key, on_change=on_stage_fusion, args=(name,),
                     format_func=lambda v: FIELDS["fusion"].choice_labels.get(v, v))
        split = stage_split(net, name)
        if split is not None:
            skey = f"cfg_split_{name}"
            st.session_state[skey] = round(split, 4)
            st.number_input(f"{name} split ratio (share through the block)", min_value=0.01, max_value=0.99,
                            step=0.05, key=skey, on_change=on_stage_split, args=(name,),
                            help="Rewrites the stage's two 1x1 split convs (their sum is kept) and the block "
                                 "path's widths with part 2.")


# ----------------------------------------------------------------------------- results
SHORT_LABELS = {"params": "Params", "macs": "MACs", "fvcore_macs": "fvcore MACs", "cio": "CIO",
                "activations": "Activations"}


def metrics_row(cmp: dict) -> None:
    d = cmp["deltas"]
    is_csp = cmp["design"]["fusion"] != "none"
    twinless = cmp.get("twin") is None
    cols = st.columns(len(d))
    for col, (key, m) in zip(cols, d.items()):
        delta = pct(m["delta_pct"]) if is_csp and not twinless else None
        text = f"**{m['label']}**: {METRIC_HELP.get(key, '')}  \nThis design: {m['design']:,}"
        if not twinless:
            text += f"; plain twin: {m['twin']:,} ({'+' if m['delta'] > 0 else ''}{m['delta']:,})"
        col.metric(SHORT_LABELS.get(key, m["label"]), si(m["design"]), delta=delta, delta_color="inverse",
                   help=text + ".")
    if twinless:
        st.warning(f"This design is valid, but its **plain twin** (the same knobs without CSP) is not a valid "
                   f"network, so there are no deltas: {cmp.get('twin_error', '')}")
    elif is_csp:
        st.caption("Deltas: against the **plain twin**, *the same knobs without CSP* (fusion 'none': no split, "
                   "no partial transition). Green is lower. MACs at batch 1; hover a number for exact values.")
    else:
        st.caption("This design is the plain network (fusion 'none'): pick a fusion strategy to see "
                   "what CSP changes.")


def base_row(cfg, bcmp: dict | None, preset_name: str | None) -> None:
    """The design against its paper base, below the metrics: a labelled row of the same five deltas (or,
    for a CSP preset without a base, a line saying it is compared with its plain twin only)."""
    if bcmp is None:
        text = no_base_text(cfg, preset_name)
        if text:
            st.caption(text)
        return
    with st.container(border=True, key="base_row"):
        st.markdown(f"**What the paper compares: vs {bcmp['base_name']} at {bcmp['input_size']} px** "
                    f"(the paper base of {preset_name or cfg.name}, at this design's input size)")
        d = bcmp["deltas"]
        cols = st.columns(len(d))
        for col, (key, m) in zip(cols, d.items()):
            badge = f":{delta_tone(m['delta_pct'])}-badge[{'n/a' if m['delta_pct'] is None else pct(m['delta_pct'])}]"
            col.markdown(f"{SHORT_LABELS.get(key, m['label'])}  \n{badge}",
                         help=f"**{m['label']}**: this design {m['design']:,}; {bcmp['base_name']} at "
                              f"{bcmp['input_size']} px: {m['base']:,} ({'+' if m['delta'] > 0 else ''}"
                              f"{m['delta']:,}).")
        st.caption(why_they_differ(cfg, bcmp, preset_name))


def memory_table(design: dict) -> None:
    mem = design["memory"]
    b = mem["batch"]
    df = pd.DataFrame([
        {"": "parameters", "fp32": gib(mem["param_bytes"]["fp32"]), "bf16": gib(mem["param_bytes"]["bf16"])},
        {"": f"activations (batch {b})", "fp32": gib(mem["activation_bytes"]["fp32"]),
         "bf16": gib(mem["activation_bytes"]["bf16"])},
    ])
    st.dataframe(df, hide_index=True, key="memory_table", width="content")
    st.caption(mem["note"])


def part_section(design: dict, conv: str, twin: dict | None = None) -> None:
    """The network's parts (backbone, neck, head) in the chosen convention, each with its share: a small table
    (which stages a part has: the stage table's part column, and the part's help).  With ``twin`` (the plain
    twin's summary, for a CSP design) two delta columns: each part's params and count against the twin's same part
    (``explorer.counts.analysis.part_table``)."""
    c = CONVENTIONS[conv]
    rows = part_table(design, conv, reference=twin)
    colcfg = {"part": st.column_config.TextColumn("part", help="; ".join(f"{r['part']}: {r['stages']}" for r in rows)),
              "params": st.column_config.NumberColumn("params", format="localized"),
              c.label: st.column_config.NumberColumn(c.short, format="localized", help=f"{c.label}, in {c.unit}"),
              PART_SHARE_COLUMN: st.column_config.ProgressColumn(
                  PART_SHARE_COLUMN, min_value=0.0, max_value=1.0, format="percent", width="small",
                  help=f"The part's share of the network's {c.label}.")}
    if twin is not None:
        for col, what in ((PART_VS_TWIN_PARAMS, "params"), (f"{c.short} vs twin %", c.label)):
            colcfg[col] = st.column_config.NumberColumn(
                col, format="%+.1f %%", help=f"This part's {what} against the same part of the plain twin (the same "
                                             "knobs without CSP); empty where the twin has no such part.")
    st.dataframe(pd.DataFrame(rows).drop(columns="stages"), hide_index=True, key="part_table", column_config=colcfg,
                 width="content")
    if design.get("outputs"):   # a detector: the scales Detect reads, and what it returns
        st.caption("**Output scales** (what the head reads): " + "; ".join(
            f"{name} {'×'.join(map(str, o))} (stride {stride})"
            for name, o, stride in zip(design["scales"], design["outputs"], design["strides"]))
            + f". The head's output: {design['output_text']}.")


PART_VS_TWIN_PARAMS = "params vs twin %"


def stage_section(cfg, design: dict, twin: dict | None = None) -> list:
    conv = st.radio("Counting convention", list(CONVENTIONS), key="convention", horizontal=True,
                    format_func=lambda k: CONVENTIONS[k].short,
                    help="Every registered counting convention; the line below names the one picked, its unit "
                         "and what it includes.")
    c = CONVENTIONS[conv]
    total = design["conventions"][conv]["value"]
    st.caption(f"**{c.label}**: total {si(total, c.unit)} ({total:,} {c.unit}; the stages add up to it). "
               f"Includes: {c.includes}")
    part_section(design, conv, twin)
    rows = stage_table(design, conv)
    view = st.segmented_control("Table", list(STAGE_VIEWS), key="table_view", default="counts", required=True,
                                format_func=STAGE_VIEWS.get, help="The CSV download has both.")
    df, blocks = stage_view(rows, view, conv)
    num_cols = [col for col in df.columns if pd.api.types.is_numeric_dtype(df[col]) and col != SHARE_COLUMN]
    colcfg = {col: st.column_config.NumberColumn(col, format="localized") for col in num_cols}
    if SHARE_COLUMN in df.columns:
        colcfg[SHARE_COLUMN] = st.column_config.ProgressColumn(SHARE_COLUMN, min_value=0.0, max_value=1.0,
                                                               format="percent")
    if BLOCK_COLUMN in df.columns:
        colcfg[BLOCK_COLUMN] = st.column_config.TextColumn(
            BLOCK_COLUMN, help=FIELDS["block_type"].help + " Taps: " + FIELDS["taps"].help)
    st.dataframe(df, hide_index=True, key="stage_table", column_config=colcfg, width="stretch",
                 placeholder="")  # a missing value (repeats of the stem and the head) is a blank cell
    if blocks:
        st.caption(blocks_caption([r["stage"] for r in rows], blocks))
    from explorer.counts.training import training_text

    st.caption(training_text(design))
    return rows


def downloads(cfg, rows: list) -> None:
    from explorer.real.export import config_json_bytes, csv_bytes

    c1, c2 = st.columns(2)
    with guard("Config export", c1):
        # callables: built on click, so no copy waits in Streamlit's media store for every session
        c1.download_button("Config JSON", lambda: config_json_bytes(cfg), file_name=f"{cfg.name}.json",
                           mime="application/json", key="dl_config", on_click="ignore", width="stretch")
    with guard("Table export", c2):
        c2.download_button("Stage table CSV", lambda: csv_bytes(rows), file_name=f"{cfg.name}_stages.csv",
                           mime="text/csv", key="dl_csv", on_click="ignore", width="stretch")


def share_link() -> None:
    q = state.query()
    base = ""
    try:
        base = (st.context.url or "").split("?")[0]
    except Exception:  # noqa: BLE001 - older Streamlit: a relative link is still useful
        base = ""
    # in a popover: st.code's script (a 1.5 MB syntax highlighter) loads when it opens, not with the page
    with st.popover("Share link", help="This design as a link (copy button inside)"):
        st.code(f"{base}?{urlencode(q, safe=',')}", language=None, wrap_lines=True)
    if state.design().family == "darknet_cfg" and q.get("network"):
        st.caption("An opened network is **not in this link** (it names the family only): download the Config "
                   "JSON to keep or share the design, and open it with 'Open your own network'.")
    else:
        st.caption("The address bar holds the same link: it reopens this design on any page.")


def live_trace_section(cfg, design: dict) -> None:
    from explorer.real.agreement import trace_agreement
    from explorer.real.budget import check_build

    on = st.toggle("Verify with a live trace", key="verify_trace",
                   help="Builds the real PyTorch model, runs it once with forward hooks and fvcore, "
                        "and compares with the analytic numbers above. Takes seconds; reruns on every change.")
    if not on:
        return
    with guard("Live trace"):
        check_build(cfg)  # a refusal is a plain message, not a failed status box
        with st.status("Building the model, tracing it and counting with fvcore…", expanded=False) as status:
            tr = cache.live_trace(cfg.key())
            agr = trace_agreement(design, tr)
            status.update(label=("Live trace agrees with the analytic numbers" if agr["agree"]
                                 else "Live trace DISAGREES with the analytic numbers"),
                          state="complete" if agr["agree"] else "error", expanded=True)
            df = pd.DataFrame(agr["rows"])
            df["agree"] = df["agree"].map({True: "yes", False: "NO"})
            st.dataframe(df, hide_index=True, key="trace_table",
                         column_config={"analytic": st.column_config.NumberColumn(format="localized"),
                                        "live trace": st.column_config.NumberColumn(format="localized")})
            if agr.get("scales"):   # a detector: each output scale, analytic and traced
                st.dataframe(pd.DataFrame(agr["scales"]).assign(agree=lambda d: d["agree"].map({True: "yes",
                                                                                                 False: "NO"})),
                             hide_index=True, key="trace_scales")
            if agr["shape_mismatches"]:
                st.warning("Mismatches: " + "; ".join(agr["shape_mismatches"][:10]))
            s = agr["seconds"]
            st.caption(f"build {s.get('build', 0):.2f} s, hooked forward {s.get('hooked_forward', 0):.2f} s, "
                       f"dataflow {s.get('dataflow', 0):.2f} s, "
                       f"fvcore {s.get('fvcore', 0):.2f} s. Ops fvcore does not count (0 by convention): "
                       + (", ".join(f"{k} x{v}" for k, v in agr["unsupported_ops"].items()) or "none"))


def explain_section(cfg, design: dict) -> None:
    """Any stage's MACs, parameters or memory traffic, layer by layer, as the formula with this design's
    values substituted (explorer.counts.explain: the same plan rows the totals above come from)."""
    from explorer.counts.explain import METRICS as EXPLAINED
    from explorer.counts.explain import explain

    with st.expander("Explain a number: the formula behind each layer's count"):
        stages = [sp["name"] for sp in design["stages"]]
        c1, c2 = st.columns(2)
        stage = c1.selectbox("Stage", stages, index=min(1, len(stages) - 1), key="explain_stage")
        metric = c2.radio("Count", EXPLAINED, key="explain_metric", horizontal=True,
                          format_func={"macs": "MACs", "params": "parameters", "cio": "memory traffic (CIO)"}.get)
        rows = explain(cfg, stage, metric=metric)
        total = sum(r["value"] for r in rows)
        st.dataframe(pd.DataFrame(rows)[["layer", "formula", "value"]], hide_index=True, key="explain_table",
                     column_config={"value": st.column_config.NumberColumn(format="localized")}, width="stretch")
        st.caption(f"{len(rows)} layers, total {total:,}: the {metric} of {stage} in the table above"
                   + (" without the fused switch (the network as built: no BatchNorm folded here)."
                      if design.get("fused") else "."))


# ----------------------------------------------------------------------------- page
def main() -> None:
    cfg = state.page()
    st.title("Design")
    st.caption("Does a Cross Stage Partial design pay off? Change a knob: the numbers are computed "
               "analytically from the design in milliseconds, and compared with the plain twin and, for a "
               "CSP preset, with the network the paper compares it against.")
    st.page_link("pages/Learn.py", label="New to CSPNet? The 15-minute lesson explains the idea with live numbers →")
    if "batch" not in st.session_state:
        st.session_state["batch"] = 1
    sync_widgets(cfg)
    errors = st.session_state.get(state.K_ERRORS, {})
    if errors:
        with st.container(border=True):
            n = len(errors)
            st.warning(f"{n} knob value{'s are' if n > 1 else ' is'} not valid ("
                       + ", ".join(f"**{k}**" for k in errors) + "): the numbers below show the last valid "
                       "design until the value is fixed. The reason is shown under the knob.")
            b1, b2 = st.columns(2)
            if any(e.get("nearest") is not None for e in errors.values()):
                b1.button("Use the nearest valid values", key="use_nearest", on_click=on_use_nearest)
            b2.button("Discard the invalid edits", key="discard_edits", on_click=on_discard)

    left, right = st.columns([1, 2.6], gap="large")
    with left:
        with guard("Knobs"):
            knob_panel(cfg)
    with right:
        with guard("Analysis"):
            batch = int(st.session_state.get("batch") or 1)
            det = cfg.is_detector
            st.subheader(f"{cfg.name} — {cfg.family}{' detector' if det else ''}, fusion {cfg.fusion}"
                         + (f", neck fusion {cfg.neck_fusion}" if det else "") + f", input {cfg.input_size}")
            fused = st.toggle("Fused (Conv+BN folded)", key="fused_counts",
                              help="Count the network as inference runs it: each BatchNorm right after a conv "
                                   "folded into that conv (Ultralytics' model.fuse(); its 'summary (fused)' figures). "
                                   "Every count below, the twin's and the paper base's too.")
            if fused:
                st.caption(FUSED_CAPTION)
            cmp = cache.compare(cfg.key(), batch, fused)  # twin None where the plain twin is no valid network
            design = cmp["design"]
            metrics_row(cmp)
            started = state.preset()  # a design keeps the paper base of the preset it started from
            base_row(cfg, cache.compare_base(cfg.key(), paper_base(started), batch, fused), started)
            st.markdown("##### Per stage")
            # each part against the twin's same part: only where CSP changes something (a plain design is its twin)
            has_csp = cfg.is_csp or cfg.is_detector and cfg.neck_fusion != "none"
            rows = stage_section(cfg, design, cmp["twin"] if has_csp else None)
            explain_section(cfg, design)
            m1, m2 = st.columns([1, 1], gap="large")
            with m1:
                st.markdown("##### Memory")
                memory_table(design)
            with m2:
                st.markdown("##### Download and share")
                downloads(cfg, rows)
                share_link()
            # the live trace builds the model as it is (BatchNorm and all): it is compared with the unfused counts
            live_trace_section(cfg, cache.compare(cfg.key(), batch)["design"] if fused else design)


main()

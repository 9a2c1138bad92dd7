"""Compare page: two to four designs side by side (explorer.compare): totals in every convention, per part, per
stage aligned by part and resolution, roofline on a chosen GPU, measured latency where this session measured
it, deltas against the first coloured better/worse, what changed (with the ablation walk) and the diagrams with
the differing stages outlined.

The comparison lives in the URL: ``cmp1`` .. ``cmp4`` name the subjects (a preset, ``design`` for the current
design - itself in the URL's design parameters - or a changed design's query string), ``cmpdevice`` and
``cmpsize`` the GPU and the input size; an uploaded file is no link's business (it says so)."""
from __future__ import annotations

import streamlit as st

from app_ui import cache, state
from app_ui.compare_figures import column_config, rows_frame, stages_frame, table_height, walk_figure
from app_ui.messages import error_text, guard
from cspnet import ConfigError, all_presets
from cspnet.presets import paper_base
from explorer.compare import (
    MAX_SUBJECTS,
    MIN_SUBJECTS,
    changed_lines,
    compare,
    design_subject,
    differing_stages,
    highlight_dot,
    resolve,
    subject_from_file,
)
from explorer.counts.conventions import CONVENTIONS
from explorer.design.files import MAX_FILE_BYTES
from explorer.real.roofline import gpu_devices

CURRENT = "design"               # the token of the current design in the URL
CUSTOM = "cmp_custom"            # token -> Subject added from a link, a JSON or a file (this session)
SLOTS = "cmp_slots"              # the chosen tokens (canonical: widget state is dropped off the page)
SETTINGS = "cmp_settings"        # {"device", "size"}
FILE_PREFIX = "file:"            # the token of an uploaded network (no link carries it)
K_ADD_MSG = "cmp_add_msg"        # what the last add said: ("success" | "error", text)
DEFAULT_SECOND = "yolo11n_cls"
SIZES = ["own"] + [160, 224, 256, 288, 320, 416, 512, 640]


def _url_state() -> tuple:
    """(tokens, settings) the URL names (``cmp1``..``cmp4``, ``cmpdevice``, ``cmpsize``), or (None, {})."""
    q = st.query_params
    tokens = [q.get(f"cmp{i}") for i in range(1, MAX_SUBJECTS + 1)]
    tokens = [t for t in tokens if t]
    settings = {}
    if q.get("cmpdevice") in gpu_devices():
        settings["device"] = q.get("cmpdevice")
    size = q.get("cmpsize")
    if size and size.isdigit() and int(size) in SIZES:
        settings["size"] = int(size)
    return (tokens if len(tokens) >= MIN_SUBJECTS else None), settings


def _default_tokens() -> list:
    base = paper_base(state.preset())
    return [CURRENT, base or (DEFAULT_SECOND if state.preset() != DEFAULT_SECOND else "yolov8n_cls")]


def _init() -> None:
    ss = st.session_state
    ss.setdefault(CUSTOM, {})
    if SLOTS not in ss:
        tokens, settings = _url_state()
        ss[SLOTS] = tokens or _default_tokens()
        ss[SETTINGS] = {"device": "h100", "size": "own", **settings}


def _label(token: str) -> str:
    if token == CURRENT:
        return f"current design ({state.design().name})"
    custom = st.session_state[CUSTOM].get(token)
    if custom is not None:
        return custom.label
    if token.startswith(FILE_PREFIX):
        return f"{token[len(FILE_PREFIX):]} (uploaded: upload it again)"
    if token.startswith("?"):   # a changed design from a link: named by its changes
        try:
            return resolve(token).label
        except ConfigError:
            return token
    return token


def _subject(token: str):
    """The subject a token names; a ConfigError says why not."""
    if token == CURRENT:
        return design_subject(state.design(), f"current design ({state.design().name})", state.preset())
    custom = st.session_state[CUSTOM].get(token)
    if custom is not None:
        return custom
    if token.startswith(FILE_PREFIX):
        raise ConfigError("design", f"{token[len(FILE_PREFIX):]} was an uploaded file: a link does not carry it; "
                          "add it again under 'Add a design'")
    return resolve(token)


def _added(subj) -> None:
    """Keep ``subj`` among the choices and put it in the next free slot (a fifth: the choices only)."""
    ss = st.session_state
    token = subj.link or f"{FILE_PREFIX}{subj.label}"
    ss[CUSTOM][token] = subj
    slots = list(ss[SLOTS])
    if token not in slots and len(slots) < MAX_SUBJECTS:
        ss[SLOTS] = slots + [token]
        ss["cmp_n"] = len(ss[SLOTS])
    ss[K_ADD_MSG] = ("success", f"Added {subj.label}" + ("" if subj.link else
                                                          " (an uploaded network: a link does not carry it)"))


def _add_failed(what: str, exc: BaseException) -> None:
    st.session_state[K_ADD_MSG] = ("error", f"{what}: {error_text(exc)}")


def _on_upload() -> None:
    """An uploaded network file joins the choices as it is opened (parsed, never executed)."""
    f = st.session_state.get("cmp_upload")
    st.session_state[K_ADD_MSG] = None
    if f is None:
        return
    try:
        if f.size > MAX_FILE_BYTES:
            raise ConfigError("file", f"{f.name} has {f.size:,} bytes; allowed at most {MAX_FILE_BYTES:,}")
        _added(subject_from_file(f.name.rsplit("/", 1)[-1], f.getvalue()))
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        _add_failed(f"Could not open {f.name}", exc)


def _on_paste() -> None:
    text = (st.session_state.get("cmp_paste") or "").strip()
    st.session_state[K_ADD_MSG] = None
    try:
        if not text:
            raise ConfigError("design", "nothing to add: paste a link, its query string or a design JSON")
        _added(resolve(text))
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        _add_failed("Could not add it", exc)


def _add_custom() -> None:
    """The 'Add a design' box: a pasted link, query string or design JSON, or an uploaded network file."""
    msg = st.session_state.get(K_ADD_MSG)
    with st.expander("Add a design: a link, a design JSON or a network file", expanded=bool(msg)):
        c1, c2 = st.columns(2)
        c1.text_area("A link of this app, its query string or a design JSON", key="cmp_paste", height=90,
                     placeholder="?preset=yolov8n_cls&width_multiple=0.5")
        c1.button("Add to the choices", key="cmp_add", on_click=_on_paste)
        c2.file_uploader("A Darknet .cfg, an Ultralytics .yaml (a detection YAML opens as a detector) or a "
                         "Config .json", type=None, key="cmp_upload", on_change=_on_upload,
                         help="Parsed, never executed; it joins the choices as soon as it is opened.")
        if msg:
            (st.success if msg[0] == "success" else st.error)(msg[1])


def _pickers() -> list:
    """How many subjects and which: one select box per subject; the first is the baseline."""
    ss = st.session_state
    slots = list(ss[SLOTS])
    options = [CURRENT] + list(ss[CUSTOM]) + [t for t in slots if t not in ss[CUSTOM] and t != CURRENT] \
        + [p for p in all_presets() if p not in slots]
    options = list(dict.fromkeys(options))
    if "cmp_n" not in ss:
        ss["cmp_n"] = len(slots)
    n = st.radio("Designs to compare", list(range(MIN_SUBJECTS, MAX_SUBJECTS + 1)), key="cmp_n", horizontal=True,
                 help="The first is the baseline: every delta is against it.")
    while len(slots) < n:
        slots.append(next(p for p in all_presets() if p not in slots))
    slots = slots[:n]
    cols = st.columns(n)
    chosen = []
    for i, col in enumerate(cols):
        key = f"cmp_pick{i}"
        if key not in ss or ss[key] not in options:   # a new slot, or one left off the page (its state dropped)
            ss[key] = slots[i]
        chosen.append(col.selectbox("Baseline (A)" if i == 0 else f"Design {chr(65 + i)}", options, key=key,
                                    format_func=_label))
    ss[SLOTS] = chosen
    return chosen


def _settings() -> tuple:
    ss = st.session_state
    cur = ss[SETTINGS]
    devices = gpu_devices()
    c1, c2, c3 = st.columns([2, 1.4, 2])
    for key, value in (("cmp_device", cur["device"]), ("cmp_size", cur["size"])):
        if key not in ss:
            ss[key] = value
    device = c1.selectbox("Roofline on", list(devices), key="cmp_device", format_func=lambda k: devices[k].name,
                          help="The GPU of the roofline bound and the calibrated estimate (an estimate, not a "
                               "measurement).")
    size = c2.selectbox("Input size", SIZES, key="cmp_size",
                        format_func=lambda v: "each its own" if v == "own" else f"{v} px")
    conv = c3.selectbox("Count in the part and stage tables", list(CONVENTIONS), key="cmp_convention",
                        format_func=lambda k: CONVENTIONS[k].label)
    ss[SETTINGS] = {"device": device, "size": size}
    return device, (None if size == "own" else size), conv


def _sync_url(tokens: list, device: str, size) -> None:
    """The comparison in the URL (beside the current design's parameters, which ``design`` refers to)."""
    q = {k: v for k, v in st.query_params.to_dict().items() if not k.startswith("cmp")}
    q.update({f"cmp{i + 1}": t for i, t in enumerate(tokens)})
    q["cmpdevice"] = device
    if size is not None:
        q["cmpsize"] = str(size)
    if st.query_params.to_dict() != q:
        st.query_params.from_dict(q)


def _measured_for(subjects) -> list:
    """This session's latency records (the Latency page) of each subject's design, where one was measured."""
    recs = state.measured()
    out = []
    for s in subjects:
        cfg = s.cfg.to_dict() if s.cfg is not None else None
        out.append(next((r for r in reversed(recs) if cfg is not None and r.get("config") == cfg), None))
    return out


def main() -> None:
    state.page()
    st.title("Compare")
    st.caption("Two to four designs side by side: every number from the engine, with its counting convention. "
               "Deltas are against the baseline (A); lower is better on every numeric row (fewer parameters, less "
               "compute, memory and time): green better, red worse. The link in the address bar opens this "
               "comparison.")
    _init()
    with guard("Compare"):
        _add_custom()
        tokens = _pickers()
        device, size, conv = _settings()
        _sync_url(tokens, device, size)
        subjects = []
        for i, t in enumerate(tokens):
            try:
                subjects.append(_subject(t))
            except ConfigError as exc:
                st.error(f"Design {chr(65 + i)} ({_label(t)}) cannot be opened: {error_text(exc)}")
                return
        result = compare(subjects, input_size=size, device=device, measured=_measured_for(subjects))
        _show(result, subjects, conv)


def _show(result: dict, subjects, conv: str) -> None:
    subs = result["subjects"]
    st.markdown("  \n".join(
        f"**{chr(65 + i)}**{' (baseline)' if i == 0 else ''}: {s['label']} — "
        + (f"a design of family {s['family']}" if s["kind"] == "design" else f"a {s['family']}")
        + f", input {s['input_size']} px"
        + ("" if s["link"] else " (not in the link: an uploaded network)") for i, s in enumerate(subs)))
    for s in subs:
        for w in s["warnings"]:
            st.warning(f"{s['label']}: {w}")
    t_totals, t_parts, t_stages, t_changed, t_diagrams = st.tabs(
        ["Totals", "Per part", "Per stage", "What changed", "Diagrams"])
    with t_totals:
        styler, notes, n = rows_frame(result, ("totals", "roofline", "latency"))
        st.dataframe(styler, hide_index=True, height=table_height(n), column_config=column_config(styler))
        st.caption(" ".join(notes) + " Every convention row names its convention (the CLI's --json lists what each "
                   "includes); the roofline rows are at batch 1 in fp32; the estimate is calibrated on measured GPU "
                   "times (see the Latency page), not a measurement.")
    with t_parts:
        styler, notes, n = rows_frame(result, ("parts",), convention=conv)
        st.dataframe(styler, hide_index=True, height=table_height(n), column_config=column_config(styler))
        st.caption(" ".join(notes) + f" Count: {CONVENTIONS[conv].label}, in {CONVENTIONS[conv].unit}.")
    with t_stages:
        taps = st.toggle("Every tap's shape (C x H x W) instead of the count", key="cmp_taps")
        st.caption("Stages aligned by part, output stride and order within that stride (not by index): a stage a "
                   "design lacks is '-'. Shaded slots differ between the designs.")
        styler, n = stages_frame(result, conv, taps=taps)
        st.dataframe(styler, hide_index=True, height=table_height(n), column_config=column_config(styler))
    with t_changed:
        _what_changed(result)
    with t_diagrams:
        _diagrams(result, subjects)


def _what_changed(result: dict) -> None:
    for k, wc in enumerate(result["what_changed"]):
        st.markdown(f"##### A → {chr(66 + k)}: {wc['a']} → {wc['b']}")
        walk = wc.get("walk")
        if wc.get("fields") == [] and not wc["stages"]:
            st.caption("No difference.")
            continue
        if walk:
            time_label = "estimate" if walk["time_key"] == "estimated_ms" else "lower bound"
            st.caption("Each change applied in order from A toward B (an ablation walk); its bar is its share of "
                       f"the whole MAC and time ({time_label}) difference. * : grouped with the next change, "
                       "because alone it is no valid design." + ("" if walk["separable"] else
                                                                  " Some changes are not separable here."))
            st.plotly_chart(walk_figure(walk, time_label), key=f"cmp_walk{k}", config={"displayModeBar": False})
        lines = changed_lines(wc)   # an indented line (what followed a step) a nested item
        st.markdown("\n".join(f"    - {line.strip()}" if line.startswith(" ") else f"- {line}" for line in lines))


def _diagrams(result: dict, subjects) -> None:
    differing = differing_stages(result)
    st.caption("Stage-level diagrams, the stages that differ outlined in red: in B, C, D those that differ from A's "
               "stage at the same part and resolution; in A those that differ from B's.")
    cols = st.columns(len(subjects))
    for i, (col, s) in enumerate(zip(cols, subjects)):
        with col:
            st.markdown(f"**{chr(65 + i)}**: {s.label}")
            if s.cfg is None:
                st.info("No diagram for a detector yet: the Diagram page draws designs. Its layers are compared in "
                        "'Per stage'.")
                continue
            with guard(f"Diagram of {s.label}"):
                dot = cache.dot(s.cfg.key(), (), "TB")
                st.graphviz_chart(highlight_dot(dot, s.plan(), differing[i]), width="stretch")


main()

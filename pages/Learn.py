"""Learn page: a guided lesson on the CSPNet idea, in five steps, for a teacher in front of a class.

Each step: the idea in words, one or more sliders, live numbers computed by the engine for a small
design, a diagram of that design, and a button that opens the design on the Design page.  The text,
designs and numbers live in explorer/lesson.py; this page only lays them out.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from app_ui import cache, state
from app_ui.cache import config_from_key
from app_ui.figures import dense_arcs_figure, fusion_figure, reads_figure
from app_ui.messages import guard
from explorer import lesson
from explorer.design import to_query
from explorer.fmt import si

SHORT = {"dense": "1 · Dense block", "split": "2 · Split", "transition": "3 · Partial transition",
         "fusion": "4 · Fusion", "cio": "5 · Memory traffic"}


def move_step(delta: int) -> None:
    """The Back (-1) and Next (+1) buttons: the step before or after the current one."""
    keys = lesson.STEP_KEYS
    cur = st.session_state.get("learn_step") or st.session_state.get("learn_step_last") or keys[0]
    st.session_state["learn_step"] = keys[max(0, min(len(keys) - 1, keys.index(cur) + delta))]


def widget_key(step: str, name: str) -> str:
    return f"learn_{step}_{name}"


def step_controls(step) -> dict:
    values = {}
    ss = st.session_state
    for c in step.controls:
        key = widget_key(step.key, c.name)
        if key not in ss:
            ss[key] = c.default
        if c.kind == "slider":
            is_int = all(float(x).is_integer() for x in (c.min, c.max, c.step, c.default))
            conv = int if is_int else float
            values[c.name] = st.slider(c.label, conv(c.min), conv(c.max), step=conv(c.step), key=key, help=c.help)
        elif c.options == (True, False):
            values[c.name] = st.toggle(c.label, key=key, help=c.help)
        else:
            fmt = (lambda v: lesson.FUSION_NAMES.get(v, str(v))) if c.name == "fusion" else str
            values[c.name] = st.radio(c.label, list(c.options), key=key, help=c.help, format_func=fmt)
    return values


def fmt_number(n) -> str:
    v = n.value
    if n.unit == "MAC":
        return si(v, "MAC")
    if n.unit == "el":
        return si(v) + " el."
    if n.unit == "ch":
        return f"{v:,.0f} ch"
    if isinstance(v, float) and not float(v).is_integer():
        return f"{v:g}"
    return f"{int(v):,}"


def numbers(nums) -> None:
    per_row = 2
    for i in range(0, len(nums), per_row):
        cols = st.columns(per_row)
        for col, n in zip(cols, nums[i:i + per_row]):
            delta = f"{n.delta_pct:+.1f} %" if n.delta_pct is not None else None
            col.metric(n.label, fmt_number(n), delta=delta, border=True, help=n.help or None,
                       delta_color="inverse" if n.lower_is_better else "normal")


def open_button(step_key: str, design_key: str) -> None:
    cfg = config_from_key(design_key)
    if st.button("Open this design on the Design page", key=f"learn_open_{step_key}",
                 width="stretch", help="Replaces the current design with this step's small design."):
        state.set_design(cfg, None)
        state.open_on_design_page()
    st.markdown(f"<small>or [open it in a new tab](./?{urlencode(to_query(cfg), safe=',')}) "
                "(a link to share with the class)</small>", unsafe_allow_html=True)


def cio_formulas(values: dict) -> None:
    c, m, d = int(values["c"]), int(values["m"]), int(values["d"])
    f = lesson.cio_formula(c, m, d)
    st.latex(r"\mathrm{CIO}_{\text{dense}} = c\,m + \frac{(m^2+m)\,d}{2} = " + f"{f['dense']:,.0f}".replace(",", "{,}"))
    st.latex(r"\mathrm{CIO}_{\text{partial}} = \frac{c\,m + (m^2+m)\,d}{2} = "
             + f"{f['partial']:,.0f}".replace(",", "{,}"))
    st.caption(f"Here c = {c}, m = {m}, d = {d}, in channels per pixel. The 'real' number below is what the engine "
               "counts for the built block: its 1x1 bottleneck convs too, at the stage's 56x56 feature maps.")


def fusion_extras(values: dict) -> None:
    rows = cache.lesson_fusion_rows()
    st.plotly_chart(fusion_figure(rows, chosen=values.get("fusion")), key="learn_fusion_chart", width="stretch",
                    config={"displaylogo": False})
    st.markdown(lesson.fusion_verdict(rows))
    st.caption(f"Published numbers: {lesson.PAPER_SOURCE}. The paper also reports top-1: fusion first "
               f"{lesson.PAPER_FIG4['fusion_first']['top1_pts']:+.1f}, fusion last "
               f"{lesson.PAPER_FIG4['fusion_last']['top1_pts']:+.1f}, CSP {lesson.PAPER_FIG4['csp']['top1_pts']:+.1f} "
               "points. Accuracy cannot be computed here: nothing is trained.")


def main() -> None:
    state.page()
    st.title("Learn")
    st.caption("The Cross Stage Partial idea in five steps. Every number is computed live for the small design "
               "shown; move the sliders.")
    keys = lesson.STEP_KEYS
    ss = st.session_state
    if ss.get("learn_step") not in keys:
        ss["learn_step"] = keys[0]
    c1, c2, c3 = st.columns([8, 1, 1], vertical_alignment="bottom")
    cur = c1.segmented_control("Step", keys, key="learn_step", format_func=SHORT.get,
                               label_visibility="collapsed")
    cur = cur or ss.get("learn_step_last") or keys[0]  # a click on the selected segment clears it
    ss["learn_step_last"] = cur
    c2.button("← Back", key="learn_prev", on_click=move_step, args=(-1,), width="stretch",
              disabled=cur == keys[0])
    c3.button("Next →", key="learn_next", on_click=move_step, args=(1,), width="stretch",
              disabled=cur == keys[-1])
    step = lesson.get_step(cur)
    with guard("Lesson"):
        st.subheader(step.title)
        st.markdown(step.intro)
        st.caption(f"In the paper: {step.paper}. The design: {step.design_text}.")
        left, right = st.columns([1.3, 1], gap="large")
        with left:
            values = step_controls(step)
            out = cache.lesson_step(step.key, tuple(sorted(values.items())))
            if out["error"]:
                st.error(out["error"])
                return
            if step.key == "cio":
                cio_formulas(values)
            numbers(out["numbers"])
            st.info(out["takeaway"])
            if step.key == "dense":
                cfg = lesson.step_design("dense", values)
                st.plotly_chart(reads_figure(lesson.feature_reads(cfg)), key="learn_reads", width="stretch",
                                config={"displaylogo": False})
        with right:
            with st.container(border=True, key="learn_diagram_box"):
                st.graphviz_chart(out["stage_dot"], width="content")
                st.caption("The small design as the Diagram page draws it: dashed blue is part 1 (the bypass), "
                           "orange the block path, green the transitions; edges carry C×H×W.")
            open_button(step.key, out["design_key"])
        if out["dense_graph"]:
            with st.container(border=True, key="learn_reads_box"):
                st.plotly_chart(dense_arcs_figure(out["dense_graph"]), key=f"learn_arcs_{step.key}", width="stretch",
                                config={"displaylogo": False, "displayModeBar": False})
                st.caption("Each layer reads every earlier feature map (orange arcs: the block input x0, read by "
                           "every layer); the concat reads them all"
                           + ("; dashed blue: part 1, which bypasses the block." if step.key == "split" else ".")
                           + " Hover an arc to see who reads what.")
        if step.key == "fusion":
            fusion_extras(values)
        st.divider()
        if st.toggle("Show the real source of the stage class (cspnet)", key="learn_source"):
            st.code(lesson.stage_source(), language="python", line_numbers=True)


main()

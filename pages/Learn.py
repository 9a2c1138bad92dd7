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
from app_ui.figures import dense_arcs_figure, fusion_network_figure, fusion_stage_figure, reads_figure
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
    if n.unit == "el":  # the label says "(elements)": a long unit would not fit the metric
        return si(v)
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
    c, m, k = int(values["c"]), int(values["m"]), int(values["k"])
    f = lesson.cio_formula(c, m, k)
    st.latex(r"\mathrm{CIO}_{\text{dense}} = c\,m + \frac{(m^2+m)\,k}{2} = " + f"{f['dense']:,.0f}".replace(",", "{,}"))
    st.latex(r"\mathrm{CIO}_{\text{partial}} = \frac{c\,m + (m^2+m)\,k}{2} = "
             + f"{f['partial']:,.0f}".replace(",", "{,}"))
    st.caption(f"Here c = {c}, m = {m}, k = {k} (the growth rate, which the paper writes d in these formulas), in "
               "channels per pixel. The 'real' numbers below are what the engine counts for the built stage: its "
               "1x1 bottleneck convs too, at the stage's 56x56 feature maps.")


def cio_reconciliation(values: dict) -> None:
    """Step 5: from the formula (the dense block only) to the whole stage with its transitions."""
    rows = lesson.cio_table(values)
    st.markdown("**Where the memory traffic goes**: the formula counts the dense block only; the full-CSP "
                "stage also pays for its partial transition, which the plain stage does not have.")
    st.dataframe(
        [{"part of the stage": r["part"], "unit": r["unit"], "plain": r["plain"], "full CSP": r["csp"],
          "change": ("added by full CSP" if r["change_pct"] is None else f"{r['change_pct']:+.1f} %")}
         for r in rows],
        key="learn_cio_table", hide_index=True, width="stretch",
        column_config={"plain": st.column_config.NumberColumn(format="localized"),
                       "full CSP": st.column_config.NumberColumn(format="localized"),
                       "change": st.column_config.TextColumn("change", help="Full CSP against the plain stage.")})


def fusion_extras(values: dict) -> None:
    rows = cache.lesson_fusion_rows()
    net = lesson.network_rows()
    st.markdown("##### The lesson's stage (one DenseNet-121 stage, computed here)")
    st.plotly_chart(fusion_stage_figure(rows, chosen=values.get("fusion")), key="learn_fusion_chart", width="stretch",
                    config={"displaylogo": False})
    last = next(r for r in rows if r["fusion"] == "fusion_last")
    eq = last.get("equal_width")
    if last["output_channels"] != last["plain_output_channels"]:
        st.caption(f"The designs differ in width: fusion last outputs {last['output_channels']} channels, the others "
                   f"{last['plain_output_channels']} (fusion last has no transition after the concat to set its "
                   "width)." + (f" The 'equal width' bars use a partial transition ratio of "
                                f"{eq['transition_ratio']:g} instead of {last['transition_ratio']:g} so that fusion "
                                f"last outputs {eq['output_channels']} channels too." if eq else ""))
    st.markdown("##### Whole networks (CSPPeleeNet variants against PeleeNet)")
    st.plotly_chart(fusion_network_figure(net), key="learn_fusion_network_chart", width="stretch",
                    config={"displaylogo": False})
    st.dataframe(
        [{"variant": r["name"], "preset": r["preset"], "this app": r["tool_pct"], "paper": r["paper_pct"],
          "paper value": r["status_words"], "paper top-1 change": r["paper_top1_pts"]} for r in net],
        key="learn_fusion_network_table", hide_index=True, width="stretch",
        column_config={"this app": st.column_config.NumberColumn("this app (MACs)", format="%+.1f %%"),
                       "paper": st.column_config.NumberColumn("paper (compute)", format="%+.1f %%"),
                       "paper top-1 change": st.column_config.NumberColumn(
                           "paper top-1 change (percentage points)", format="%+.1f",
                           help="Published; never computed here: nothing is trained.")})
    st.markdown(lesson.fusion_verdict(rows, net))
    st.caption(f"Published numbers: {lesson.PAPER_SOURCE}, read from the same data set as the Paper page (with the "
               "same status: exact, or approximate where read off the figure). Accuracy cannot be computed here: "
               "nothing is trained.")


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
                st.caption(lesson.diagram_caption(step.key, values))
            open_button(step.key, out["design_key"])
        if out["dense_graph"]:
            with st.container(border=True, key="learn_reads_box"):
                st.plotly_chart(dense_arcs_figure(out["dense_graph"]), key=f"learn_arcs_{step.key}", width="stretch",
                                config={"displaylogo": False, "displayModeBar": False})
                st.caption(lesson.arcs_caption(out["dense_graph"]))
        if step.key == "fusion":
            fusion_extras(values)
        if step.key == "cio":
            cio_reconciliation(values)
        st.divider()
        if st.toggle("Show the real source of the stage class (cspnet)", key="learn_source"):
            st.code(lesson.stage_source(), language="python", line_numbers=True)


main()

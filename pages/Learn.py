"""Learn page: a guided lesson on the CSPNet idea, in six steps, for a teacher in front of a class.

Each step: the idea in words, one or more sliders, a prediction to commit to before the step's key
numbers are revealed (steps 2-6), live numbers computed by the engine for a small design, a diagram
of that design, a button that opens the design on the Design page, and a few questions to check
understanding (a recap with the score after the last step, 6: where CSP went, C3, C2f and ELAN).
The step and its slider values are in the address (``l_step``, ``l_<control>``), so every step can
be shared.  Answers live in st.session_state only.  The text, questions, designs and numbers live in
explorer/lesson/ (and explorer/counts/explain.py); this page only lays them out.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from app_ui import cache, state
from app_ui.cache import config_from_key
from app_ui.figures import (
    LAYOUT_LABELS,
    compute_story_figure,
    dense_arcs_figure,
    fig4_figure,
    fusion_network_figure,
    fusion_stage_figure,
    lesson_roofline_figure,
    lineage_growth_figure,
    reads_figure,
    speed_figure,
)
from app_ui.messages import guard
from explorer import lesson
from explorer.counts import explain as ex
from explorer.design import to_query
from explorer.fmt import si

SHORT = {"dense": "1 · Dense block", "split": "2 · Split", "transition": "3 · Partial transition",
         "fusion": "4 · Fusion", "cio": "5 · Memory traffic", "lineage": "6 · Where CSP went"}


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
            names = {"fusion": lesson.FUSION_NAMES, "design": lesson.LINEAGE_NAMES,
                     "device": lesson.DEVICE_NAMES}.get(c.name, {})
            values[c.name] = st.radio(c.label, list(c.options), key=key, help=c.help,
                                      format_func=lambda v, names=names: names.get(v, str(v)),
                                      horizontal=c.name in ("design", "device"))
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


# the tiles three a row: a value font that fits "1.01 GMAC" at 1024 px, labels that wrap instead of "Block outp…"
NUMBERS_CSS = ("<style>.st-key-learn_numbers [data-testid='stMetricValue'] > div {font-size: 1.7rem;} "
               ".st-key-learn_numbers [data-testid='stMetricLabel'] p {white-space: normal; overflow: visible;}"
               "</style>")


def numbers(nums, step_key: str = "", revealed: bool = True) -> None:
    nums = [n for n in nums if revealed or not lesson.is_key_number(step_key, n.label)]
    per_row = 3
    st.html(NUMBERS_CSS)
    with st.container(key="learn_numbers"):
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


def cio_formulas(values: dict, revealed: bool = True) -> None:
    c, m, k = int(values["c"]), int(values["m"]), int(values["k"])
    f = lesson.cio_formula(c, m, k)
    st.latex(r"\mathrm{CIO}_{\text{dense}} = c\,m + \frac{(m^2+m)\,k}{2} = " + f"{f['dense']:,.0f}".replace(",", "{,}"))
    st.latex(r"\mathrm{CIO}_{\text{partial}} = \frac{c\,m + (m^2+m)\,k}{2}"
             + (" = " + f"{f['partial']:,.0f}".replace(",", "{,}") if revealed else r" = \;?"))
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
        [{"variant": r["preset"], "this app": r["tool_pct"], "paper": r["paper_pct"],
          "paper top-1 change": r["paper_top1_pts"], "paper value": r["status_short"]} for r in net],
        key="learn_fusion_network_table", hide_index=True, width="stretch",
        column_config={"this app": st.column_config.NumberColumn("this app", format="%+.1f %%", width="small",
                                                                 help="This app's MACs against PeleeNet's."),
                       "paper": st.column_config.NumberColumn("paper", format="%+.1f %%", width="small",
                                                              help="The paper's compute against PeleeNet's."),
                       "paper top-1 change": st.column_config.NumberColumn(
                           "top-1 (pts)", format="%+.1f", width="small",
                           help="Published change of top-1 against PeleeNet, in percentage points; never computed "
                                "here: nothing is trained.")})
    st.markdown(lesson.fusion_verdict(rows, net))
    headline()
    st.plotly_chart(fig4_figure(cache.lesson_extras()["fig4"]), key="learn_fig4_chart", width="stretch",
                    config={"displaylogo": False})
    st.caption("Fig. 4 as the paper drew it: compute against top-1. Grey: the published values (open markers are "
               "approximate, read off the figure or derived from the text's rounded percentages); blue diamonds: "
               "this app's count of the same presets, at the paper's top-1 (nothing is trained here).")
    st.caption(f"Published numbers: {lesson.PAPER_SOURCE}, read from the same data set as the Paper page (with the "
               "same status: exact, or approximate where read off the figure). Accuracy cannot be computed here: "
               "nothing is trained.")


@st.cache_data(show_spinner=False)
def _headline() -> tuple:
    rows = lesson.headline_rows()
    return rows, lesson.headline_text(rows)


def headline() -> None:
    """Step 4: the paper's headline saving, why this app's presets miss it, and a layout that reproduces it."""
    rows, text = _headline()
    with st.container(border=True, key="learn_headline"):
        st.markdown("##### The paper's headline saving, and why this app's CSP presets cost more")
        st.markdown(text)
        st.dataframe(
            [{"network": r["preset"], "this app": r["tool_pct"], "transition after the pool": r["pool_first_pct"],
              "paper": r["paper_pct"], "paper value": r["status_short"]} for r in rows],
            key="learn_headline_table", hide_index=True, width="stretch",
            column_config={"this app": st.column_config.NumberColumn("this app", format="%+.1f %%", width="small",
                                                                     help="This app's MACs against the base's."),
                           "transition after the pool": st.column_config.NumberColumn(
                               "pool first", format="%+.1f %%", width="small",
                               help="What-if: every pooled transition's 1×1 conv moved after its 2×2 pool."),
                           "paper": st.column_config.NumberColumn("paper", format="%+.1f %%", width="small",
                                                                  help="The paper's compute against the base's.")})
        st.caption("Whole networks at 224×224, each against its plain base (densenet121, peleenet), computed here; "
                   "the what-if column moves every pooled transition's 1×1 conv after its 2×2 pool (the Paper page's "
                   "what-if, not a preset); ≈: an approximate published value.")


def lineage_extras(values: dict) -> None:
    """Step 6: the three stages side by side (computed), and the concat's growth with n beside a dense block's."""
    rows = lesson.lineage_rows(values)
    st.markdown("##### One stage of each, at the same width (computed here)")
    quantities = [  # (row label, value of a lineage_rows row)
        ("block on part 2", lambda r: r["block"]),
        ("taps", lambda r: r["taps"]),
        ("order of the modules", lambda r: " → ".join(r["order"])),
        ("fusion first (concat → transition)", lambda r: "yes" if r["fusion_first"] else "no"),
        ("concat (channels)", lambda r: f"{r['concat']:,}"),
        ("tensors the concat joins", lambda r: f"{r['concat_inputs']}"),
        ("transition reads (channels)", lambda r: f"{r['transition_in']:,}"),
        ("parameters", lambda r: f"{r['params']:,}"),
        ("MACs", lambda r: f"{r['macs']:,}"),
        ("memory traffic, CIO (elements)", lambda r: f"{r['cio']:,}"),
    ]
    st.dataframe([{"": label, **{r["name"]: get(r) for r in rows}} for label, get in quantities],
                 key="learn_lineage_table", hide_index=True, width="stretch")
    st.plotly_chart(lineage_growth_figure(lesson.lineage_growth(values), lesson.LINEAGE_SHORT,
                                          chosen=int(values["blocks"])),
                    key="learn_lineage_chart", width="stretch", config={"displaylogo": False})
    st.caption("C3's concat stays at W whatever n is; C2f's and ELAN's (the same line here: at equal parts they "
               "concatenate the same taps) grow by W/2 with every block, the slope of a dense block's output with "
               "growth rate W/2 (DenseNet's concat of every earlier map). The difference: a dense layer reads that "
               "whole concat, a C2f block only the output before it.")
    st.markdown("Whole networks: open [yolov5s_cls](./?preset=yolov5s_cls) (C3), "
                "[yolov8n_cls](./?preset=yolov8n_cls) (C2f) or [yolov7_backbone](./?preset=yolov7_backbone) (ELAN) "
                "on the Design page, then switch its fusion strategy to see what the CSP layout buys.")


# --------------------------------------------------------------------------- shareable URL
def apply_url() -> None:
    """A shared link (``/Learn?l_step=split&l_split_ratio=0.75``): open that step with those values,
    once per session (opening a link starts one).  Later the address only follows the page: a rerun
    can carry an address the browser has not updated yet, which must not move the sliders back."""
    ss = st.session_state
    if ss.get("learn_url_applied"):
        return
    ss["learn_url_applied"] = True
    params = {k: v for k, v in st.query_params.to_dict().items() if k.startswith(lesson.URL_PREFIX)}
    if not params:
        return
    key, values = lesson.parse_url_params(params)
    if key is None:
        return
    ss["learn_step"] = ss["learn_step_last"] = key
    for name, v in values.items():
        ss[widget_key(key, name)] = v


def write_url(step_key: str, values: dict) -> None:
    """Keep the step and its slider values in the address (beside the design's params)."""
    want = lesson.url_params(step_key, values)
    own = {k: v for k, v in st.query_params.to_dict().items() if k.startswith(lesson.URL_PREFIX)}
    if own != want:
        for k in own:
            if k not in want:
                del st.query_params[k]
        st.query_params.update(want)
    st.caption(f"Link to this step: [{'/Learn?' + urlencode(want)}](./Learn?{urlencode(want)}) "
               "(the step and its slider values; answers are not in it).")


# --------------------------------------------------------------------------- predict, then reveal
def _stored(name: str) -> dict:
    return st.session_state.setdefault(name, {})


def _remember(store: str, q, wkey: str) -> None:
    """A radio's on_change: keep the choice, and for a check of understanding commit its first answer
    (a prediction is committed by Reveal, with the slider positions it was made at)."""
    _stored(store)[q.key] = st.session_state.get(wkey)
    if q.kind != "predict":
        lesson.commit(_stored("learn_first"), q, st.session_state.get(wkey))


def choice(q, store: str, prefix: str, label_visibility: str = "visible", disabled: bool = False):
    """A radio over the question's options, nothing chosen at first; the choice survives leaving
    the step (kept in st.session_state[store], not only in the widget)."""
    wkey = f"{prefix}_{q.key}"
    saved = _stored(store).get(q.key)
    if wkey not in st.session_state and saved is not None:
        st.session_state[wkey] = saved
    return st.radio(q.text, list(range(len(q.options))), index=None, key=wkey,
                    format_func=lambda i: q.options[i].text, on_change=_remember, args=(store, q, wkey),
                    label_visibility=label_visibility, disabled=disabled)


def feedback(q, index) -> None:
    """A check's feedback: its first answer keeps its grade (shown apart when the answer was changed since);
    the answer as it stands now is judged below it."""
    rec = _stored("learn_first").get(q.key)
    if rec is not None and rec["index"] != index:
        st.caption(f"Your first answer: “{rec['option']}”, {'right' if rec['right'] else 'not right'}. The recap "
                   "counts this first answer.")
    res = lesson.judge(q, index)
    if res["answered"]:
        (st.success if res["right"] else st.warning)(res["text"])


def _reveal(step_key: str, questions=(), values=None) -> None:
    """Reveal: commit each prediction chosen so far, with the slider positions it was made at."""
    first = _stored("learn_first")
    for q in questions:
        lesson.commit(first, q, st.session_state.get(f"learn_guess_{q.key}"), values)
    st.session_state.setdefault("learn_revealed", set()).add(step_key)


def predict_box(step_key: str, questions, values: dict) -> bool:
    """The step's prediction; returns whether the key numbers are revealed.  Once revealed, each
    prediction shows the answer committed at Reveal and its grade then; moving a slider afterwards says
    what the answer would be now, without re-grading."""
    if not questions:
        return True
    revealed = step_key in st.session_state.get("learn_revealed", set())
    with st.container(border=True, key=f"learn_predict_{step_key}"):
        st.markdown("**Predict, then reveal.** Commit to a guess before you see the numbers.")
        if not revealed:
            picks = [choice(q, "learn_guesses", "learn_guess") for q in questions]
            c1, c2 = st.columns([1, 1])
            c1.button("Reveal", key=f"learn_reveal_{step_key}", type="primary", on_click=_reveal,
                      args=(step_key, questions, values), disabled=any(p is None for p in picks), width="stretch",
                      help="Choose an answer first: it is then committed and graded.")
            c2.button("Just show me the numbers", key=f"learn_skip_{step_key}", on_click=_reveal,
                      args=(step_key, questions, values), width="stretch")
            return False
        first = _stored("learn_first")
        for q in questions:
            rec = first.get(q.key)
            if rec is None:
                st.markdown(f"*{q.text}*")
                st.markdown("**You revealed without a guess.** " + q.explain)
                continue
            st.markdown(f"*{rec['question']}*")
            (st.success if rec["right"] else st.warning)(lesson.committed_text(rec, short=True))
            if rec.get("explain"):  # the details on demand: the reveal stays short
                with st.expander("The numbers behind it"):
                    st.markdown(rec["explain"])
            now = lesson.now_text(q, rec, values)
            if now:
                st.caption(now)
    return revealed


# --------------------------------------------------------------------------- checks of understanding
def quiz(step_key: str) -> None:
    qs = lesson.quiz(step_key)
    if not qs:
        return
    with st.container(border=True, key=f"learn_quiz_{step_key}"):
        st.markdown("**Check your understanding** (your first answer to each question is the one the recap counts)")
        for q in qs:
            pick = choice(q, "learn_answers", "learn_quiz")
            feedback(q, pick)


def recap() -> None:
    r = lesson.recap(_stored("learn_answers"), _stored("learn_first"))
    with st.container(border=True, key="learn_recap"):
        st.markdown("### Recap")
        pr, pn = r["predictions"]
        st.markdown(f"First answers: you answered **{r['answered']} of {r['total']}** questions, **{r['right']}** "
                    f"right at the first try (after changing answers, {r['right_now']} "
                    f"{'stands' if r['right_now'] == 1 else 'stand'} right)."
                    + (f" Predictions: **{pr} of {pn}** right at Reveal." if pn else ""))
        st.markdown("The lesson taught: (a) dense blocks reuse gradients (duplicated gradient information), "
                    "(b) the split sends only part 2 through the block, (c) the partial transition truncates the "
                    "gradient flow but costs compute, (d) where the parts meet (fusion first or last) decides how "
                    "much gradient is reused, (e) memory traffic (CIO), not only MACs, decides speed, (f) C3, "
                    "C2f and ELAN are fusion-first CSP stages that differ in their taps, and C2f's concat of every "
                    "tap is dense connectivity come back.")
        if r["revisit"]:
            # "1. Dense…" after a bullet would start a numbered list inside it: escape the step's number
            escaped = [(title.replace(".", "\\.", 1), text) for _, title, text in r["revisit"]]
            st.markdown("**To revisit** (first answer wrong or missing):\n"
                        + "\n".join(f"- {title}: {text}" for title, text in escaped))
        else:
            st.success("All right at the first try. Well done.")
        st.caption("Your answers stay in this browser session only; nothing is stored on the server.")


# --------------------------------------------------------------------------- explain any number
def explain_numbers(step_key: str, values: dict) -> None:
    cfg = lesson.step_design(step_key, values)
    with st.expander("Explain these numbers: the formula behind each layer's count"):
        c1, c2 = st.columns(2)
        # the components name a dense stage's parts; step 6's stages have no dense layers
        comps = ["(whole stage)"] + ([] if step_key == "lineage" else list(ex.COMPONENTS))
        comp = c1.selectbox("Part of the stage", comps, key=f"learn_explain_comp_{step_key}",
                            format_func=lambda c: ex.COMPONENT_LABELS.get(c, c))
        metric = c2.selectbox("Count", list(ex.METRICS), key=f"learn_explain_metric_{step_key}",
                              format_func={"macs": "MACs", "params": "parameters", "cio": "CIO (memory traffic)"}.get)
        rows = ex.explain(cfg, lesson.STAGE, None if comp == "(whole stage)" else comp, metric)
        total = sum(r["value"] for r in rows)
        st.dataframe([{"layer": r["layer"].removeprefix(lesson.STAGE + "."), "formula": r["formula"],
                       "value": r["value"]} for r in rows], hide_index=True, width="stretch",
                     key=f"learn_explain_table_{step_key}",
                     column_config={"value": st.column_config.NumberColumn(format="localized")})
        st.caption(f"Sum: {total:,} ({cfg.name}, {lesson.STAGE}); the same plan rows the totals above are summed "
                   "from. H_out × W_out is the output feature map; k the kernel size; CIO counts each conv's input "
                   "and output elements.")


def story(out: dict) -> None:
    if not out.get("story"):
        return
    labels = ex.COMPONENT_LABELS
    st.plotly_chart(compute_story_figure(out["story"], labels), key="learn_story_chart", width="stretch",
                    config={"displaylogo": False, "displayModeBar": False})
    ch = out["story"]["change"]
    st.caption("The compute story, from the plan: " + "; ".join(
        f"{labels[c]} {ch[c]:+,} MACs" for c in ex.COMPONENTS if ch.get(c)) +
        f". They add up to the stage's {out['story']['pct']:+.1f} %.")


# --------------------------------------------------------------------------- the gradient argument
def gradient_argument() -> None:
    with st.container(border=True, key="learn_gradients"):
        st.markdown("##### The gradient argument (Eqs. 2 and 4)")
        eq = lesson.update_equations()
        c1, c2 = st.columns(2)
        with c1:
            st.markdown("**DenseNet** (Eq. 2)")
            for line in eq["densenet"]:
                st.latex(line)
        with c2:
            st.markdown("**CSPDenseNet** (Eq. 4)")
            for line in eq["cspdensenet"]:
                st.latex(line)
        st.caption("Colours: orange the block input's gradient, green the dense layers' outputs', blue part 1's, "
                   "purple the partial transition's. In DenseNet every update reuses g₀ … g₍ᵢ₋₁₎; in CSPDenseNet "
                   "w_U never sees the dense layers' gradients directly.")
        a, b = st.columns(2)
        layout = a.selectbox("Layout (Fig. 3)", list(lesson.LAYOUT_WEIGHTS), key="learn_grad_layout",
                             format_func=lesson.FUSION_NAMES.get)
        weight = b.selectbox("Weight", list(lesson.LAYOUT_WEIGHTS[layout]), key=f"learn_grad_weight_{layout}")
        st.graphviz_chart(lesson.gradient_dot(layout, weight), width="content")
        st.caption(lesson.gradient_caption(layout, weight) + " Dashed coloured arrows: the gradients that reach "
                   "the chosen weight (a block of 3 dense layers).")


ROOF_SHORT = {"cpu": "this CPU", "h100": "H100", "t4": "T4"}


def _bound_cell(row: dict) -> str:
    """'12.7 ms c ★': a layout's time bound on one device, which roof bounds it, whether it is the fastest."""
    us = row["bound_us"]
    t = f"{us / 1e3:,.1f} ms" if us >= 1000 else f"{us:,.1f} µs"
    return f"{t} {row['bound'][0]}" + (" ★" if row["fastest"] else "")


@st.cache_data(show_spinner="Measuring this CPU's roofs (about a second)…")
def _cpu_peaks() -> dict:
    from explorer.real.roofline import measure_cpu

    return measure_cpu()


def speed(values: dict, revealed: bool) -> None:
    """Step 5: the four layouts at the sliders on the MACs / CIO axes, then (after Reveal) on the roofline
    of three devices with each layout's time bound."""
    with st.container(border=True, key="learn_speed"):
        st.markdown(lesson.SPEED_TEXT)
        st.plotly_chart(speed_figure(lesson.speed_points(values)), key="learn_speed_chart", width="stretch",
                        config={"displaylogo": False})
    if not revealed:
        st.caption("The roofline of the three devices, with each layout's time bound, appears after Reveal.")
        return
    roofs = lesson.all_rooflines(values, _cpu_peaks())
    with st.container(border=True, key="learn_roofline"):
        st.markdown("##### Time: the four layouts on the roofline of three devices")
        st.plotly_chart(lesson_roofline_figure(roofs), key="learn_roofline_chart", width="stretch",
                        config={"displaylogo": False})
        st.dataframe(  # short headers and cells: every column fits at 1024 px
            [{"layout": LAYOUT_LABELS[r["fusion"]], "MB moved": r["bytes"] / 1e6,
              "FLOP/byte": r["intensity"],
              **{ROOF_SHORT[roof["key"]]: _bound_cell(rr) for roof in roofs for rr in roof["rows"]
                 if rr["fusion"] == r["fusion"]}}
             for r in roofs[0]["rows"]],
            key="learn_roofline_table", hide_index=True, width="stretch",
            column_config={"MB moved": st.column_config.NumberColumn(format="%.1f"),
                           "FLOP/byte": st.column_config.NumberColumn(format="%.1f"),
                           **{ROOF_SHORT[roof["key"]]: st.column_config.TextColumn(
                               help=f"{roof['device_name']}: the time bound; c compute-bound, m memory-bound, "
                                    "★ the fastest layout") for roof in roofs}})
        st.markdown(lesson.roofline_text(roofs, values))
        st.caption("Each device's time bound is max(FLOPs ÷ peak, bytes ÷ bandwidth), the Latency page's model "
                   "(conv + BatchNorm + activation one kernel, concat a copy, fp32, batch 1); c compute-bound, m "
                   "memory-bound, ★ the fastest. "
                   + " ".join(f"{roof['name']}: {roof['peak_tflops']:.3g} TFLOP/s ({roof['peak_label']}), "
                              f"{roof['mem_bw_gbs']:.4g} GB/s." for roof in roofs))
        st.page_link("pages/Latency.py", label="Measure it on the Latency page")


@st.cache_data(show_spinner=False)
def _reading_minutes() -> dict:
    return lesson.reading_minutes()


def own_design(step_key: str) -> None:
    """The step on the design open on the Design page (a preset, an edited design or an opened file)."""
    cfg = state.design()
    peaks = _cpu_peaks() if step_key == "cio" else None
    res = lesson.own_step(step_key, cfg, peaks)
    with st.container(border=True, key="learn_own"):
        st.markdown(f"##### On your design: {cfg.name}")
        if not res["applies"]:
            st.markdown(res["why"])
            return
        st.markdown(res["text"])
        if res["rows"]:
            st.dataframe(res["rows"], key=f"learn_own_table_{step_key}", hide_index=True, width="stretch")


def main() -> None:
    state.page()
    st.title("Learn")
    t = _reading_minutes()
    st.caption(f"The Cross Stage Partial idea in six steps: about {t['core']} minutes for the steps and their "
               f"questions, about {t['all']} with every explanation read (estimated from the lesson's own text). "
               "Predict, reveal, then check your understanding; every number is computed live for the small design "
               "shown.")
    keys = lesson.STEP_KEYS
    ss = st.session_state
    apply_url()
    st.toggle(f"Also show each step on the design open on the Design page ({state.design().name})",
              key="learn_own_on", help="A preset, an edited design or an opened file: each step reads it where the "
                                       "step applies and says plainly where it does not.")
    if ss.get("learn_step") not in keys:
        ss["learn_step"] = keys[0]
    # the steps on a row of their own (at 1024 px six segments and two buttons do not fit on one)
    cur = st.segmented_control("Step", keys, key="learn_step", format_func=SHORT.get, label_visibility="collapsed")
    cur = cur or ss.get("learn_step_last") or keys[0]  # a click on the selected segment clears it
    ss["learn_step_last"] = cur
    step = lesson.get_step(cur)
    c1, c2, c3 = st.columns([6, 1.3, 1.3], vertical_alignment="center")
    c2.button("← Back", key="learn_prev", on_click=move_step, args=(-1,), width="stretch",
              disabled=cur == keys[0])
    c3.button("Next →", key="learn_next", on_click=move_step, args=(1,), width="stretch",
              disabled=cur == keys[-1])
    with guard("Lesson"):
        c1.subheader(step.title)
        st.markdown(step.intro)
        st.caption(f"In the paper: {step.paper}. The design: {step.design_text}.")
        left, right = st.columns([1.3, 1], gap="large")
        with left:
            values = step_controls(step)
            out = cache.lesson_step(step.key, tuple(sorted(values.items())))
            if out["error"]:
                st.error(out["error"])
                return
            revealed = predict_box(step.key, out["predictions"], values)
            if step.key == "cio":
                cio_formulas(values, revealed)
        with right:
            with st.container(border=True, key="learn_diagram_box"):
                st.graphviz_chart(out["stage_dot"], width="content")
                st.caption(lesson.diagram_caption(step.key, values))
            open_button(step.key, out["design_key"])
        # the numbers across the page, three a row: in the left column they were cut at 1024 px
        numbers(out["numbers"], step.key, revealed)
        if revealed:
            st.info(out["takeaway"])
        else:
            st.caption("The step's key numbers and its takeaway appear after Reveal.")
        if step.key == "dense" and revealed:
            cfg = lesson.step_design("dense", values)
            st.plotly_chart(reads_figure(lesson.feature_reads(cfg)), key="learn_reads", width="stretch",
                            config={"displaylogo": False})
        if revealed and step.key in ("split", "transition"):
            with st.columns([1, 1])[0]:
                story(out)
        if revealed:
            explain_numbers(step.key, values)
        if step.key == "split" and revealed:
            with st.expander("Fig. 4's γ = 0.25 points: less bypass, more compute, a little more accuracy"):
                st.markdown(lesson.gamma_text())
        if out["dense_graph"] and (revealed or step.key != "dense"):  # step 1's figures would give the answer
            with st.container(border=True, key="learn_reads_box"):
                st.plotly_chart(dense_arcs_figure(out["dense_graph"]), key=f"learn_arcs_{step.key}", width="stretch",
                                config={"displaylogo": False, "displayModeBar": False})
                st.caption(lesson.arcs_caption(out["dense_graph"]))
        if step.key == "transition":
            gradient_argument()
        if step.key == "fusion" and revealed:
            fusion_extras(values)
        if step.key == "cio":
            if revealed:
                cio_reconciliation(values)
            speed(values, revealed)
        if step.key == "lineage" and revealed:
            lineage_extras(values)
        if st.session_state.get("learn_own_on"):
            own_design(step.key)
        quiz(step.key)
        if step.key == keys[-1]:
            recap()
        st.divider()
        if st.toggle("Show the real source of the stage's plan (cspnet: the model is generated from it)",
                     key="learn_source"):
            st.code(lesson.stage_source(step.key), language="python", line_numbers=True)
        write_url(step.key, values)


main()

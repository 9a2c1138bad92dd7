"""Every lesson step renders at every slider's ends and every select option (issue 10, part 1).

Split ratio 1.0 once crashed step 2 ("Lesson failed: KeyError: 'part1'", from the diagram code),
so the takeaway written for gamma = 0 was never shown.  Here each step is rendered at the min and
the max of each slider (the others at their defaults), at both ends of all its sliders at once, and
at every option of each select: the engine's numbers and sentence, the diagram and the figures the
page draws, what ``app_ui.cache.lesson_step`` returns, and the page itself in AppTest.  The lesson's
texts are checked for the citations, assumptions, units and words issue 10 corrected.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui import cache
from app_ui.figures import dense_arcs_figure, fusion_network_figure, fusion_stage_figure, reads_figure
from explorer import lesson

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LEARN = "pages/Learn.py"


def _ends(c) -> list:
    return [c.min, c.max] if c.kind == "slider" else list(c.options)


def step_cases(step_key: str) -> list:
    """(label, values): each slider at its min and max, each select option, then all sliders at
    their mins and all at their maxes together (values are the page's: every control present)."""
    step = lesson.get_step(step_key)
    base = lesson.defaults(step_key)
    out = []
    for c in step.controls:
        for v in _ends(c):
            out.append((f"{c.name}={v}", {**base, c.name: v}))
    sliders = [c for c in step.controls if c.kind == "slider"]
    if len(sliders) > 1:
        for end in ("min", "max"):
            out.append((f"all sliders {end}", {**base, **{c.name: getattr(c, end) for c in sliders}}))
    return out


ALL_CASES = [pytest.param(k, vals, id=f"{k}-{label}") for k in lesson.STEP_KEYS for label, vals in step_cases(k)]


def _dot_ok(text: str) -> None:
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    if shutil.which("dot"):
        r = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr


def _page_values(values: dict) -> tuple:
    """The cache key the page passes: its widgets' values, sorted."""
    return tuple(sorted(values.items()))


# =========================================================================== the engine and the figures
@pytest.mark.parametrize("step,values", ALL_CASES)
def test_step_renders_at_every_end_and_option(step, values):
    out = cache.lesson_step(step, _page_values(values))
    assert out["error"] is None, out["error"]  # the sliders' ranges keep every value valid
    nums = out["numbers"]
    assert nums and all(isinstance(n.value, (int, float)) and math.isfinite(n.value) for n in nums)
    assert all(n.delta_pct is None or math.isfinite(n.delta_pct) for n in nums)
    assert out["takeaway"] == lesson.takeaway(step, values) and len(out["takeaway"]) > 40
    _dot_ok(out["stage_dot"])
    assert "stages.0" not in out["stage_dot"]  # plain words: "stage 1", not the module name
    assert out["design_key"] == lesson.step_design(step, values).key()
    assert lesson.diagram_caption(step, values)
    if out["dense_graph"]:
        g = out["dense_graph"]
        assert dense_arcs_figure(g).data and lesson.arcs_caption(g)
    cfg = lesson.step_design(step, values)
    if step == "dense":
        assert reads_figure(lesson.feature_reads(cfg)).data
    if step == "fusion":
        rows = lesson.fusion_rows(values)
        assert fusion_stage_figure(rows, chosen=values["fusion"]).data
        assert fusion_network_figure(lesson.network_rows()).data
        assert lesson.fusion_verdict(rows)
    if step == "cio":
        table = lesson.cio_table(values)
        assert len(table) == 5 and all(r["plain"] >= 0 and r["csp"] > 0 for r in table)


def test_split_ratio_one_shows_the_gamma_zero_takeaway():
    out = cache.lesson_step("split", _page_values({"split_ratio": 1.0}))
    assert out["error"] is None
    assert "γ = 0" in out["takeaway"] and "no bypass" in out["takeaway"]
    nums = {n.label: n.value for n in out["numbers"]}
    assert nums["Part 1: bypass channels"] == 0 and nums["Paper's γ"] == 0
    assert "part 1 empty" in out["stage_dot"] and "part 1:" not in out["stage_dot"]
    g = out["dense_graph"]
    assert g["part1"] is None and g["part1_joins"] is None and g["split"]
    assert not any(t.mode == "lines" and t.line.dash == "dash" for t in dense_arcs_figure(g).data)
    assert "no bypass" in lesson.diagram_caption("split", {"split_ratio": 1.0})


# =========================================================================== texts (issue 10, item 4 and 6)
def _screen_texts() -> list:
    """Every lesson text the page shows at the defaults (titles, intros, captions, numbers, help)."""
    texts = []
    for s in lesson.STEPS:
        texts += [s.title, s.intro, s.design_text, s.paper]
        texts += [t for c in s.controls for t in (c.label, c.help)]
        v = lesson.defaults(s.key)
        texts += [t for n in lesson.step_numbers(s.key, v) for t in (n.label, n.help)]
        texts += [lesson.takeaway(s.key, v), lesson.diagram_caption(s.key, v)]
        if s.key in ("dense", "split"):
            texts.append(lesson.arcs_caption(lesson.dense_graph(lesson.step_design(s.key, v))))
    texts.append(lesson.fusion_verdict(lesson.fusion_rows()))
    texts += [r["part"] + " " + r["unit"] for r in lesson.cio_table({})]
    return texts


def test_citations_and_the_transition_ratio_assumption():
    step3 = lesson.get_step("transition")
    all_text = "\n".join(_screen_texts())
    assert "Eqs. 5" not in all_text and "Eq. 5" not in all_text
    assert "Eqs. 3-4" in step3.paper  # the paper's CSPDenseNet forward pass and weight updates
    assert "Eqs. 1-2" in lesson.get_step("dense").paper
    assert "as CSPDenseNet does" not in all_text
    assert "this app's assumption" in step3.intro
    assert "no CSPDenseNet or CSPPeleeNet cfg was published" in step3.intro.replace("\n", " ")


def test_small_text_fixes():
    one = lesson.takeaway("dense", {"layers": 1})
    assert "all 1 of them" not in one and "1 contributions" not in one and "1 feature-map reads" not in one
    assert "1 contribution " in one and "1 feature-map read " in one and "m = 1 layer," in one
    assert "both dense layers" in lesson.takeaway("dense", {"layers": 2})
    assert "all 6 dense layers" in lesson.takeaway("dense", {"layers": 6})
    labels = [n.label for n in lesson.step_numbers("dense", {})]
    assert "Dense layers that read x₀" in labels and "Layers that read x₀" not in labels
    csp = lesson.takeaway("fusion", {"fusion": "csp"})
    assert "percentage points" in csp and not re.search(r"\d top-1", csp)
    assert "-12.7 %" in csp and "exact" in csp and "-13 %" not in csp
    # step 1 draws the plain network: its caption claims no bypass
    cap = lesson.diagram_caption("dense", {})
    assert "no bypass" in cap and "dashed blue" not in cap
    # growth rate k everywhere
    cio = lesson.get_step("cio")
    assert [c.name for c in cio.controls][:3] == ["c", "m", "k"]
    assert "Growth rate k" in [c.label for c in cio.controls]
    assert "growth rate *k*" in cio.intro and "(m²+m)·k" in cio.intro
    for t in _screen_texts():
        assert not re.search(r"\bgrowth( rate)? d\b|\bd = \d", t), t
        for jargon in ("fusion 'none'", "fusion 'csp'", "stages.0", " el.", "(from the plan)"):
            assert jargon not in t, (jargon, t)
        assert not re.search(r"\bplan\b", t), t


def test_fusion_step_separates_stage_and_network_and_states_widths():
    last = {n.label: n for n in lesson.step_numbers("fusion", {"fusion": "fusion_last"})}
    assert last["Stage output channels"].value == 144
    assert "144" in last["Stage output channels"].help and "128" in last["Stage output channels"].help
    text = lesson.takeaway("fusion", {"fusion": "fusion_last"})
    assert "144 channels" in text and "128" in text and "Whole networks" in text
    rows = {r["fusion"]: r for r in lesson.fusion_rows()}
    eq = rows["fusion_last"]["equal_width"]
    assert eq["output_channels"] == rows["none"]["output_channels"] == 128
    assert eq["transition_ratio"] == lesson.equal_width_ratio() and eq["transition_ratio"] != 0.5
    assert all(r["output_channels"] == 128 for f, r in rows.items() if f != "fusion_last")


def test_step5_reconciles_the_block_saving_with_the_stage_cio():
    """Step 5's formula saving (block only) and step 4's full-CSP stage CIO reconcile: the table
    goes from the one to the other, naming what the partial transition adds."""
    table = {r["part"]: r for r in lesson.cio_table({})}
    block = table["dense block, the paper's formula"]
    assert round(block["change_pct"], 1) == -18.2
    stage = table["whole stage, transitions included"]
    parts = [r for p, r in table.items() if p not in ("dense block, the paper's formula", stage["part"])]
    assert sum(r["csp"] for r in parts) == stage["csp"] and sum(r["plain"] for r in parts) == stage["plain"]
    pt = table["partial transition (full CSP only)"]
    assert pt["plain"] == 0 < pt["csp"]  # the cost the partial transition adds
    step4 = {n.label: n for n in lesson.step_numbers("fusion", {"fusion": "csp"})}
    cio4 = step4["Whole-stage CIO (elements)"]
    assert cio4.value == stage["csp"] and cio4.delta_pct == pytest.approx(stage["change_pct"])  # +8.6 %
    step5 = {n.label: n for n in lesson.step_numbers("cio", {})}
    assert step5["Whole CSP stage CIO (elements)"].delta_pct == pytest.approx(stage["change_pct"])
    text = lesson.takeaway("cio", {})
    assert "18.2 %" in text and "+8.6 %" in text and "partial transition adds" in text


# =========================================================================== the page (AppTest)
def _open_learn() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page(LEARN).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _set(at: AppTest, step_key: str, c, value) -> None:
    key = f"learn_{step_key}_{c.name}"
    if c.kind == "slider":
        at.slider(key=key).set_value(value)
    elif c.options == (True, False):
        at.toggle(key=key).set_value(value)
    else:
        at.radio(key=key).set_value(value)


@pytest.mark.parametrize("step_key", lesson.STEP_KEYS)
def test_page_renders_every_end_and_option(step_key):
    at = _open_learn()
    at.session_state["learn_step"] = step_key
    at.session_state["learn_revealed"] = set(lesson.STEP_KEYS)  # past the prediction: every number shown
    at.run()
    step = lesson.get_step(step_key)
    assert at.subheader[0].value == step.title
    controls = {c.name: c for c in step.controls}
    for label, values in step_cases(step_key):
        for name, v in values.items():
            _set(at, step_key, controls[name], v)
        at.run()
        assert not at.exception, (label, [e.value for e in at.exception])
        assert not at.error, (label, [e.value for e in at.error])
        assert at.info[0].value == lesson.takeaway(step_key, values), label
        assert at.get("graphviz_chart")[0].proto.spec.startswith("digraph"), label
        assert not any(m.value.endswith(" el.") for m in at.metric), label
        shown = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
        assert "Lesson failed" not in shown and "fusion 'none'" not in shown, label
        if step_key == "fusion":
            titles = [c.proto.spec for c in at.get("plotly_chart")]
            assert any("one DenseNet-121 stage" in t for t in titles) and any("Whole networks" in t for t in titles)
        if step_key == "cio":
            assert at.dataframe, label  # the block-only vs whole-stage table


def test_the_lesson_states_a_time_read_from_its_own_text():
    """Issue 21.9: 'about 15 minutes' was a third of what reading the reveals takes."""
    t = lesson.reading_minutes()
    assert t["core"] % 5 == 0 and t["all"] % 5 == 0 and 15 < t["core"] <= t["all"]
    assert t["detail_words"] > 0 and t["questions"] == len(lesson.QUIZ) + sum(
        len(lesson.predictions(k, {})) for k in lesson.STEP_KEYS)
    at = _open_learn()
    cap = at.caption[0].value
    assert f"about {t['core']} minutes" in cap and f"about {t['all']} with every explanation" in cap
    assert "15 minutes" not in cap

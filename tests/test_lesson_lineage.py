"""Issue 12 part 7: the lesson's closing step, "where CSP went": C3, C2f and ELAN as the paper's fusion-first
stage with different taps, and C2f's concat of every tap beside a dense block's output, with live numbers."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui.figures import lineage_growth_figure
from explorer import lesson
from explorer.counts.analysis import summarize

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _nums(values: dict) -> dict:
    return {n.label: n for n in lesson.step_numbers("lineage", values)}


def test_it_is_the_closing_step():
    assert lesson.STEP_KEYS[-1] == "lineage"
    step = lesson.get_step("lineage")
    assert "Where CSP went" in step.title and "fusion first" in step.intro
    assert [c.name for c in step.controls] == ["width", "blocks", "design"]


@pytest.mark.parametrize("width,blocks", [(32, 1), (128, 3), (256, 5), (512, 8)])
def test_concat_widths_follow_the_taps_and_a_dense_block(width, blocks):
    rows = {r["key"]: r for r in lesson.lineage_rows({"width": width, "blocks": blocks})}
    half = width // 2
    c3, c2f, elan = rows["c3"], rows["c2f"], rows["elan"]
    assert c3["part1"] == c3["part2"] == c2f["part2"] == elan["part2"] == half  # the same split for all three
    assert c3["concat"] == width                       # taps last: part 1 + the last block, whatever n
    assert c2f["concat"] == elan["concat"] == (blocks + 2) * half  # taps all: part 1, part 2, every block
    assert c2f["concat_inputs"] == blocks + 2 and c3["concat_inputs"] == 2
    for r in rows.values():  # fusion first: concat, then the one transition, which reads the whole concat
        assert r["fusion"] == "fusion_first" and r["fusion_first"]
        assert r["order"] == ["split", f"{blocks} block" + ("s" if blocks > 1 else ""), "concat", "transition"]
        assert r["transition_in"] == r["concat"] and r["output"] == width
        assert r["block_reads"] == [half] * blocks   # each block reads only the output before it
    dense = lesson.dense_block_out(half, blocks)
    assert dense["output"] == c2f["block_out"] == half * (blocks + 1)  # dense connectivity come back
    assert dense["last_reads"] == half * blocks       # a dense layer reads every earlier map
    nums = _nums({"width": width, "blocks": blocks})
    assert nums["C3 concat channels"].value == width
    assert nums["C2f concat channels"].value == c2f["concat"]
    assert nums["ELAN concat channels"].value == elan["concat"]
    assert nums["Dense block output (k = W/2)"].value == dense["output"]
    assert nums["C2f stage MACs"].value == summarize(lesson.lineage_design("c2f", width, blocks))["stages"][1]["macs"]


def test_numbers_move_with_the_controls():
    a, b = _nums({"width": 128, "blocks": 3}), _nums({"width": 128, "blocks": 6})
    assert a["C3 concat channels"].value == b["C3 concat channels"].value == 128
    assert b["C2f concat channels"].value - a["C2f concat channels"].value == 3 * 64
    assert b["C2f stage MACs"].value > a["C2f stage MACs"].value
    c = _nums({"width": 256, "blocks": 3})
    assert c["C2f concat channels"].value == 2 * a["C2f concat channels"].value
    # the diagram choice changes the design shown, not the numbers
    assert _nums({"design": "c3"}) == _nums({"design": "elan"})
    assert lesson.step_design("lineage", {"design": "c3"}).family == "yolov5"
    assert lesson.step_design("lineage", {"design": "elan"}).taps == ("all",)


@pytest.mark.parametrize("width,blocks", [(128, 3), (64, 1), (512, 8)])
def test_takeaway_states_the_computed_values(width, blocks):
    v = {"width": width, "blocks": blocks}
    text = lesson.takeaway("lineage", v)
    rows = {r["key"]: r for r in lesson.lineage_rows(v)}
    c3, c2f = rows["c3"], rows["c2f"]
    dense = lesson.dense_block_out(width // 2, blocks)
    macs_pct = 100 * (c2f["macs"] - c3["macs"]) / c3["macs"]
    assert f"W = {width} and n = {blocks}" in text and "fusion first" in text
    assert f"C3's transition reads {c3['transition_in']} channels" in text
    assert f"C2f's reads {c2f['transition_in']}" in text
    assert f"exactly the output of a dense block of {blocks} layer" in text and f"({dense['output']})" in text
    assert f"{macs_pct:+.1f} % MACs" in text


def test_prediction_is_judged_from_the_numbers():
    for blocks in (1, 4, 7):
        (q,) = lesson.predictions("lineage", {"blocks": blocks})
        assert q.kind == "predict" and sum(o.right for o in q.options) == 1
        assert "part 2's width, 64 channels" in q.options[q.right_index].text
        assert f"{(blocks + 2) * 64} to {(blocks + 3) * 64}" in q.explain


def test_growth_figure_data_and_source():
    pts = lesson.lineage_growth({"width": 128})
    assert [p["blocks"] for p in pts] == list(range(1, 9))
    assert {p["c3"] for p in pts} == {128}
    assert all(b["c2f"] - a["c2f"] == 64 == b["dense"] - a["dense"] for a, b in zip(pts, pts[1:]))
    assert all(p["c2f"] - p["dense"] == p["part1"] == 64 for p in pts)
    fig = lineage_growth_figure(pts, lesson.LINEAGE_SHORT, chosen=3)
    assert len(fig.data) == 4 and "dense block" in fig.data[-1].name
    src = lesson.stage_source("lineage")
    assert "def plan_stage" in src and "def plan_bottleneck_3x3" in src and "plan_dense_stage" not in src


def test_the_page_shows_the_step_with_its_table_and_chart():
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["l_step"] = "lineage"
    at.run()
    at.switch_page("pages/Learn.py").run()
    at.session_state["learn_step"] = "lineage"
    at.session_state["learn_revealed"] = {"lineage"}
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert at.subheader[0].value == lesson.get_step("lineage").title
    assert at.info[0].value == lesson.takeaway("lineage", lesson.defaults("lineage"))
    table = next(d.value for d in at.dataframe if "C2f (YOLOv8)" in d.value.columns).set_index("")
    assert table.loc["concat (channels)"].tolist() == ["128", "320", "320"]
    assert table.loc["transition reads (channels)"].tolist() == ["128", "320", "320"]
    assert table.loc["fusion first (concat → transition)"].tolist() == ["yes"] * 3
    assert any("Concat width against blocks n" in c.proto.spec for c in at.get("plotly_chart"))
    assert "concat of every tap" in at.get("graphviz_chart")[0].proto.spec  # C2f, expanded
    at.slider(key="learn_lineage_blocks").set_value(5).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["C2f concat channels"] == "448" and metrics["C3 concat channels"] == "128"
    at.radio(key="learn_lineage_design").set_value("c3").run()
    assert not at.exception
    assert "concat of every tap" not in at.get("graphviz_chart")[0].proto.spec
    assert "you answered" in " ".join(m.value for m in at.markdown)  # the recap closes the lesson


def test_step6_text_and_diagram_agree_and_c2f_cost_is_split_in_two_effects():
    """Issue 21.7: the diagram draws a 3×112×112 input, a stem and 1×1 convs before the split: the text says
    so; C2f's extra MACs against C3 come mostly from its 3×3 → 3×3 blocks, not its taps: shown apart."""
    step = lesson.get_step("lineage")
    for key in lesson.LINEAGE_ORDER:
        dot = lesson.stage_dot("lineage", {"design": key})
        cap = lesson.diagram_caption("lineage", {"design": key})
        assert "input 3×112×112" in dot and "stem" in dot and "3×112×112" in cap and "stem" in cap
        assert ("expand" in dot) == ("'expand'" in cap)
    assert "3×112×112" in step.intro and "3×112×112" in step.design_text
    from explorer.lesson.lineage import c2f_effects, c2f_effects_text

    for values in ({}, {"width": 256, "blocks": 6}):
        e = c2f_effects(values)
        assert e["blocks_pts"] + e["taps_pts"] == pytest.approx(e["pct"])
        assert e["blocks_pts"] > e["taps_pts"] > 0
        rows = {r["key"]: r for r in lesson.lineage_rows(values)}
        assert (e["c3"], e["c2f"]) == (rows["c3"]["macs"], rows["c2f"]["macs"])
        assert f"{e['blocks_pts']:+.1f} points" in c2f_effects_text(values)
    nums = {n.label: n for n in lesson.step_numbers("lineage", {})}
    assert "+66.7 points" in nums["C2f stage MACs"].help and "+16.7 points" in nums["C2f stage MACs"].help


def test_a_dense_block_box_has_no_part2_arrow_into_it():
    for step in ("split", "transition", "fusion", "cio"):
        assert "part 2 also concatenated" not in lesson.stage_dot(step, {})

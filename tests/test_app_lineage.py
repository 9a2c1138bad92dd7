"""Issue 12 part 6 through AppTest: the lineage families on the Design, Diagram and Sweep pages (knobs shown
only where read, fusion strategies, per-stage choice fields as text, messages naming the field, no paper base,
the block types per stage, C2f's taps in the diagram, width x depth sweeps)."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from apptest_helpers import APP, app, clear_caches  # noqa: F401  (clear_caches: autouse)
from cspnet import get_preset
from cspnet.config import FIELDS, LINEAGE

LINEAGE_ONLY = [n for n, f in FIELDS.items() if f.families and set(f.families) <= set(LINEAGE)]


def widget_keys(at: AppTest) -> set:
    return {w.key for kind in ("text_input", "number_input", "selectbox", "checkbox") for w in at.get(kind)}


def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("preset", ["yolov8n_cls", "yolo11m_cls", "cs3se_edgenet_x", "cspnext_tiny", "yolov7_backbone",
                                    "yolov4_csp_backbone", "yolov5x_cls"])
def test_design_page_shows_the_lineage_knobs_and_says_there_is_no_paper_base(preset):
    at = app({"preset": preset})
    clean(at)
    keys = widget_keys(at)
    fam = get_preset(preset).family
    neck = {n for n in LINEAGE_ONLY if n.startswith("neck_")}   # a classifier shows no neck knobs
    assert {f"knob_{n}" for n in LINEAGE_ONLY if FIELDS[n].reads(fam) and n not in neck} <= keys   # what it reads
    assert not {f"knob_{n}" for n in neck} & keys
    assert not {f"knob_{n}" for n in LINEAGE_ONLY if not FIELDS[n].reads(fam)} & keys
    assert "knob_growth_rate" not in keys and "knob_stem_channels" not in keys  # the paper families' knobs
    caps = " ".join(c.value for c in at.caption)
    assert "No published plain counterpart" in caps and f"{preset} (" in caps
    assert not any("What the paper compares" in m.value for m in at.markdown)
    assert "Blocks on part 2" in caps  # the block type and taps of each stage
    assert len(at.metric) == 5


def test_lineage_knobs_are_absent_for_the_paper_families():
    keys = widget_keys(app({"preset": "cspdensenet121"}))
    assert not keys & {f"knob_{n}" for n in LINEAGE_ONLY}


def test_fusion_last_changes_the_numbers_and_bad_values_name_the_field():
    at = app({"preset": "yolov8n_cls"})
    assert metrics(at)["Params"] == "2.72 M"
    at.selectbox(key="knob_fusion").set_value("fusion_last").run()
    clean(at)
    assert metrics(at)["Params"] == "3.23 M" and at.metric[0].delta.startswith("-21.9")
    at.text_input(key="knob_taps").set_value("last,all,all,all").run()
    clean(at)
    assert at.session_state["design_cfg"].taps == ("last", "all", "all", "all")
    at.text_input(key="knob_taps").set_value("foo").run()
    assert at.error and at.error[0].value.startswith("taps: 'foo' is not allowed; allowed: last, all")
    assert metrics(at)["Params"] != "—"  # the last valid design stays
    at.button(key="discard_edits").click().run()
    clean(at)
    at.text_input(key="knob_residual").set_value("true,maybe").run()
    assert at.error and "residual" in at.error[0].value


def test_an_invalid_attention_width_names_widths_and_an_invalid_twin_is_said_plainly():
    at = app({"preset": "yolov7_backbone"})
    at.text_input(key="knob_block_type").set_value("psa").run()
    clean(at)
    at.text_input(key="knob_widths").set_value("1048,512,1024,1024").run()
    assert at.error and at.error[0].value.startswith("widths: stage 0: the attention block")
    # a valid design whose plain twin is not (heads that do not divide the whole width): numbers, no deltas
    at = app({"preset": "yolov7_backbone"})
    at.text_input(key="knob_widths").set_value("200,512,1024,1024").run()
    at.text_input(key="knob_block_type").set_value("psa").run()
    clean(at)
    assert len(at.metric) == 5 and all(not m.delta for m in at.metric)
    assert any("plain twin" in w.value and "not a valid network" in w.value for w in at.warning)


def test_shapes_view_lists_each_stages_block():
    at = app({"preset": "yolo11n_cls"})
    at.session_state["table_view"] = "shapes"
    at.run()
    df = next(d.value for d in at.dataframe if "block (taps)" in d.value.columns)
    blocks = dict(zip(df["stage"], df["block (taps)"]))
    assert blocks["stages.0"] == "bottleneck_3x3 (all taps)" and blocks["stages.4"] == "psa (last tap)"


def test_diagram_draws_c2f_taps_when_a_stage_is_expanded():
    at = app({"preset": "yolov8n_cls"})
    at.switch_page("pages/Diagram.py").run()
    clean(at)
    assert "every tap concatenated" in at.get("graphviz_chart")[0].proto.spec
    at.multiselect(key="diagram_expand").set_value(["stages.1"]).run()
    spec = at.get("graphviz_chart")[0].proto.spec
    assert "concat of every tap" in spec and "block 1: 3×3→3×3 bottleneck" in spec
    assert any("taps are 'all'" in c.value for c in at.caption)


def test_sweep_starts_with_width_by_depth_multiple_and_sweeps_taps():
    at = app({"preset": "yolov8n_cls"})
    at.switch_page("pages/Sweep.py").run()
    clean(at)
    assert (at.selectbox(key="sw_knob1").value, at.selectbox(key="sw_knob2").value) == ("width_multiple",
                                                                                         "depth_multiple")
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["data"][0]["type"] == "heatmap" and len(fig["data"][0]["x"]) == 6
    at.selectbox(key="sw_knob1").set_value("taps").run()
    at.selectbox(key="sw_knob2").set_value("(none)").run()
    clean(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert list(fig["data"][0]["x"]) == ["last", "all"]
    # yolov7's ELAN convs are listed one by one (no depth multiple): its sweep does not start with the multiples
    at = app({"preset": "yolov7_backbone"})
    at.switch_page("pages/Sweep.py").run()
    assert at.selectbox(key="sw_knob1").value != "width_multiple"

"""Issue 21, item 10: every step on the design open on the Design page (a preset or an opened file), where
the step applies, and a plain sentence where it does not."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cspnet import get_preset, plan_network
from explorer import lesson
from explorer.counts.analysis import compare_with_twin
from explorer.real import roofline as R

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PEAKS = {"tflops": {"fp32": 0.13}, "mem_bw_gbs": 11.2, "gemm_n": {"fp32": 1536}, "copy_mib": 256, "threads": 2}
APPLIES = {  # preset: the steps that apply to it
    "densenet121": {"dense", "fusion", "cio"},
    "cspdensenet121": {"dense", "split", "transition", "fusion", "cio"},
    "cspresnet50": {"split", "transition", "fusion", "cio"},
    "yolov8n_cls": {"split", "fusion", "cio", "lineage"},
    "resnet50": {"fusion", "cio"},
}


def _file_design():
    from explorer.design.files import design_from_file
    from explorer.io.darknet_export import export_cfg

    return design_from_file("mine.cfg", export_cfg(get_preset("cspdarknet53"))[0].encode())


@pytest.mark.parametrize("preset", sorted(APPLIES))
def test_each_step_applies_where_it_should_and_says_why_where_not(preset):
    cfg = get_preset(preset)
    for step in lesson.STEP_KEYS:
        res = lesson.own_step(step, cfg, PEAKS)
        assert res["applies"] == (step in APPLIES[preset]), (preset, step)
        if res["applies"]:
            assert res["rows"] and cfg.name in res["text"] and not res["why"]
        else:
            assert cfg.name in res["why"] and "does not apply" in res["why"] and not res["rows"]


def test_the_numbers_are_the_engines():
    cfg = get_preset("cspdensenet121")
    plan = {s.name: s for s in plan_network(cfg).stages}
    for r in lesson.own_step("split", cfg)["rows"]:
        sp = plan[r["stage"]]
        assert (r["part 1 (bypass)"], r["part 2 (block)"]) == (sp.taps["part1"][0], sp.taps["part2"][0])
    dense = lesson.own_step("dense", cfg)["rows"]
    assert [r["dense layers m"] for r in dense] == list(cfg.repeats)
    assert all(r["feature-map reads"] == r["dense layers m"] * (r["dense layers m"] + 1) // 2 for r in dense)
    cmp = compare_with_twin(cfg)
    pct = 100 * (cmp["design"]["macs"] - cmp["twin"]["macs"]) / cmp["twin"]["macs"]
    assert f"{pct:+.1f} % MACs" in lesson.own_step("transition", cfg)["text"]
    cio = {r["device"]: r for r in lesson.own_step("cio", cfg, PEAKS)["rows"]}
    h100 = cio[lesson.DEVICE_NAMES["h100"]]
    assert h100["bound ms"] == pytest.approx(R.roofline(cfg, "h100")["total"]["bound_ms"])
    assert h100["plain twin ms"] == pytest.approx(R.roofline(cfg.twin(), "h100")["total"]["bound_ms"])


def test_an_opened_file_is_read_and_compared_with_its_plain_twin():
    cfg = _file_design()     # its plain twin: its CSP stages rewritten as plain stages (explorer.io.rewrite)
    assert cfg.family == "darknet_cfg"
    split = lesson.own_step("split", cfg)
    assert split["applies"] and "against its plain twin it has" in split["text"]
    fusion = lesson.own_step("fusion", cfg)
    assert not fusion["applies"] and "no fusion strategies" in fusion["why"]
    assert lesson.own_step("cio", cfg, PEAKS)["applies"]


def test_the_page_shows_each_step_on_the_open_design():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["preset"] = "resnet50"
    at.run()
    at.switch_page("pages/Learn.py").run()
    at.toggle(key="learn_own_on").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "On your design: resnet50" in text and "has no dense block" in text
    at.session_state["learn_step"] = "fusion"
    at.run()
    assert not at.exception
    rows = lesson.own_step("fusion", get_preset("resnet50"))["rows"]
    shown = [d.value for d in at.dataframe]  # before Reveal, the step's only table is the one on your design
    assert len(shown) == 1 and list(shown[0]["layout"]) == [r["layout"] for r in rows]

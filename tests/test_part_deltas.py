"""Each part against the same part of the plain twin (issue 19, item 4's comparison per part): ``part_deltas`` in
``compare_with_twin`` / ``compare_with_base`` and ``summary --json``, the delta columns of ``part_table``, the
CLI's part lines and the Design page's parts table.  Generic: classifiers (backbone, head) and detectors
(backbone, neck, head) alike; every expected value is computed from the twin's own summary."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cspnet import get_preset
from explorer.cli import main
from explorer.counts.analysis import (
    PART_METRICS,
    compare_with_base,
    compare_with_twin,
    part_deltas,
    part_table,
    summarize,
)
from explorer.counts.conventions import REGISTRY


@pytest.mark.parametrize("name", ["yolov8n", "yolo11s", "yolov5mu", "cspresnet50", "csppeleenet"])
def test_part_deltas_are_each_part_against_the_twin_s_same_part(name):
    cfg = get_preset(name)
    cmp = compare_with_twin(cfg)
    twin = summarize(cfg.twin())
    rows = cmp["part_deltas"]
    assert [r["name"] for r in rows] == [p["name"] for p in cmp["design"]["parts"]]
    theirs = {p["name"]: p for p in twin["parts"]}
    for r, mine in zip(rows, cmp["design"]["parts"]):
        for key in PART_METRICS:
            d = r[key]
            assert d["design"] == mine[key] and d["twin"] == d["reference"] == theirs[r["name"]][key]
            assert d["delta"] == mine[key] - theirs[r["name"]][key]
            assert d["delta_pct"] == pytest.approx(100 * d["delta"] / d["twin"])
    # the part deltas add up to the total deltas
    for key in PART_METRICS:
        assert sum(r[key]["delta"] for r in rows) == cmp["deltas"][key]["delta"]


def test_a_detector_s_csp_saves_in_backbone_and_neck_not_in_the_head():
    rows = {r["name"]: r for r in compare_with_twin(get_preset("yolov8n"))["part_deltas"]}
    assert list(rows) == ["backbone", "neck", "head"]
    assert rows["backbone"]["macs"]["delta"] < 0 and rows["neck"]["macs"]["delta"] < 0
    assert rows["head"]["params"]["delta"] == 0 and rows["head"]["macs"]["delta"] == 0


def test_a_part_one_side_lacks_has_no_delta():
    design = summarize(get_preset("yolov8n"))
    ref = {"parts": [p for p in design["parts"] if p["name"] != "neck"]}
    rows = {r["name"]: r for r in part_deltas(design, ref, "base")}
    assert rows["neck"]["params"]["base"] is None and rows["neck"]["params"]["delta"] is None
    assert rows["neck"]["macs"]["delta_pct"] is None and rows["head"]["macs"]["delta"] == 0
    only_ref = {r["name"]: r for r in part_deltas(ref, design)}
    assert only_ref["neck"]["params"]["design"] is None and list(only_ref)[-1] == "neck"
    assert all(r["params"]["twin"] is None for r in part_deltas(design, None))


def test_part_deltas_against_the_paper_base():
    b = compare_with_base(get_preset("cspresnet50"), "resnet50")
    assert [r["name"] for r in b["part_deltas"]] == ["backbone", "head"]
    assert b["part_deltas"][0]["macs"]["base"] == b["base"]["parts"][0]["macs"]


@pytest.mark.parametrize("key", ["macs", "ultralytics"])
def test_part_table_delta_columns(key):
    cfg = get_preset("yolov8s")
    s, twin = summarize(cfg), summarize(cfg.twin())
    c = REGISTRY[key]
    rows = part_table(s, key, reference=twin)
    assert [r["part"] for r in rows] == ["backbone", "neck", "head"]
    for r, mine, theirs in zip(rows, s["parts"], twin["parts"]):
        assert r["params vs twin %"] == pytest.approx(100 * (mine["params"] - theirs["params"]) / theirs["params"])
        assert r[f"{c.short} vs twin %"] == pytest.approx(
            100 * (mine["conventions"][key] - theirs["conventions"][key]) / theirs["conventions"][key])
    assert "params vs twin %" not in part_table(s, key)[0]


def test_summary_json_and_text_carry_the_part_deltas(capsys):
    assert main(["summary", "yolo11n", "--json"]) in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["twin"]["part_deltas"] == json.loads(json.dumps(compare_with_twin(get_preset("yolo11n"))["part_deltas"]))
    assert [r["name"] for r in out["twin"]["part_deltas"]] == ["backbone", "neck", "head"]
    assert main(["summary", "cspresnet50", "--json"]) in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in out["base"]["part_deltas"]] == ["backbone", "head"]
    assert main(["summary", "yolov8n"]) in (0, None)
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("part ")]
    rows = compare_with_twin(get_preset("yolov8n"))["part_deltas"]
    assert len(lines) == 3 and all("vs twin: params" in x for x in lines)
    assert f"MACs {rows[1]['macs']['delta_pct']:+.1f}%" in lines[1]
    assert main(["summary", "resnet50"]) in (0, None)       # a plain design: no twin column
    assert all("vs twin" not in x for x in capsys.readouterr().out.splitlines() if x.startswith("part "))


def test_design_page_parts_table_has_the_delta_columns():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=90)
    at.query_params["preset"] = "yolov8n"
    at.run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    parts = next(d.value for d in at.dataframe if "part" in d.value.columns and "stage" not in d.value.columns)
    cmp = compare_with_twin(get_preset("yolov8n"))
    assert parts["part"].tolist() == ["backbone", "neck", "head"]
    assert parts["params vs twin %"].tolist() == pytest.approx([r["params"]["delta_pct"] for r in cmp["part_deltas"]])
    assert parts["MACs vs twin %"].tolist() == pytest.approx([r["macs"]["delta_pct"] for r in cmp["part_deltas"]])

"""Every page with a detector design (?preset=yolov8n): the neck's knobs, the task switch, parts, neck stages and
their roles, output scales, the sweep over neck knobs with per-part columns, the stages-collapsed diagram, and
latency / roofline per part; the engine and the CLI behind them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from apptest_helpers import APP, app, clear_caches, no_problem  # noqa: F401  (clear_caches: autouse)
from cspnet import get_preset, plan_network
from explorer.counts.analysis import NECK_ROLES, stage_table, summarize
from explorer.counts.diagram import to_dot
from explorer.counts.sweep import idle_knobs, knob_acts, parse_vary, per_part, sweep, sweep_knobs
from explorer.design import from_query, to_query, with_changes
from explorer.design.form import neck_fields, shown_fields, task_switch_edits
from explorer.real.roofline import roofline, roofline_part_rows

ROOT = Path(__file__).resolve().parent.parent


def table(at: AppTest, column: str):
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with column {column!r}")


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


# ----------------------------------------------------------------------------- engine
def test_summary_of_a_detector_design_has_its_output_scales_and_detect_output():
    s = summarize(get_preset("yolov8n"))
    assert s["outputs"] == [[64, 80, 80], [128, 40, 40], [256, 20, 20]]
    assert s["strides"] == [8, 16, 32] and s["scales"] == ["P3", "P4", "P5"]
    assert s["output_shape"] == [1, 84, 80 * 80 + 40 * 40 + 20 * 20]   # 4 DFL distances + 80 classes, anchors
    assert "outputs" not in summarize(get_preset("yolov8n_cls"))       # a classifier: one output
    assert summarize(get_preset("yolov8n_cls"))["output_shape"] == [1, 1000]


def test_stage_table_gives_each_neck_stage_its_role_and_block():
    rows = {r["stage"]: r for r in stage_table(summarize(get_preset("yolo11n")))}
    assert [rows[f"neck.{j}"]["role"] for j in range(4)] == list(NECK_ROLES)
    assert rows["stages.2"]["role"] == "P4 (stride 16)" and rows["head"]["role"] == "Detect on P3, P4, P5"
    assert rows["neck.3"]["block (taps)"] == "c3k (all taps)"
    assert rows["neck.0"]["block (taps)"].startswith("bottleneck")
    assert "role" not in stage_table(summarize(get_preset("cspresnet50")))[0]


def test_a_link_round_trips_changed_neck_fields():
    cfg = with_changes(get_preset("yolov8n"), {"neck_repeats": (1, 2, 3, 4),
                                               "neck_block_type": ("dark", "bottleneck_3x3", "c3k", "dark")})
    q = to_query(cfg, "yolov8n")
    assert q["neck_repeats"] == "1,2,3,4" and q["neck_block_type"] == "dark,bottleneck_3x3,c3k,dark"
    assert from_query(q) == (cfg, "yolov8n")


def test_form_groups_the_neck_and_moves_size_and_classes_with_the_task():
    det, cls = get_preset("yolov8n"), get_preset("yolov8n_cls")
    assert not any(n.startswith("neck_") for g in ("main", "advanced") for n in shown_fields("yolov8", g))
    assert neck_fields(det)[:4] == ["neck_fusion", "neck_split_ratio", "neck_repeats", "neck_block_type"]
    assert neck_fields(cls) == []                      # a classifier of a detect family has no neck
    assert task_switch_edits(cls, "detect") == {"input_size": "640", "num_classes": "80"}
    assert task_switch_edits(det, "classify") == {"input_size": "224", "num_classes": "1000"}
    assert task_switch_edits(cls.replace(input_size=256), "detect") == {"num_classes": "80"}   # the user's size stays
    assert task_switch_edits(det, "detect") == {}


def test_sweep_over_neck_knobs_follows_the_four_neck_stages_with_part_columns():
    cfg = get_preset("yolov8n")
    key, values = parse_vary("neck_repeats=1,1,2,2; 6,6,6,6; 1,2,3")
    assert key == "neck_repeats" and values == [(1, 1, 2, 2), (6, 6, 6, 6), (1, 2, 3)]
    df = sweep(cfg, [(key, values), parse_vary("neck_block_type=dark,c3k")])
    assert list(df["error"] == "") == [True, True, True, True, False, False]
    assert "3 values for 4 neck stages" in df["error"].iloc[-1]
    ok = df[df["error"] == ""]
    for _, r in ok.iterrows():   # the parts add up to the totals
        assert r["backbone_params"] + r["neck_params"] + r["head_params"] == r["params"]
        assert r["backbone_macs"] + r["neck_macs"] + r["head_macs"] == r["macs"]
    assert ok["backbone_params"].nunique() == 1 and ok["neck_params"].nunique() == 4   # only the neck moves
    long = per_part(ok, ["neck_repeats", "neck_block_type"], "params")
    assert sorted(set(long["part"])) == ["backbone", "head", "neck"] and len(long) == 3 * len(ok)


def test_neck_knobs_act_on_detectors_only_and_the_neck_split_needs_a_csp_neck():
    det, cls = get_preset("yolov8n"), get_preset("yolov8n_cls")
    assert {"neck_repeats", "neck_fusion", "neck_split_ratio", "neck_block_type"} <= set(sweep_knobs(det))
    assert not any(k.startswith("neck_") for k in sweep_knobs(cls))
    plain_neck = det.replace(neck_fusion="none")
    assert knob_acts(det, "neck_split_ratio") and not knob_acts(plain_neck, "neck_split_ratio")
    assert knob_acts(plain_neck, "neck_split_ratio", swept=("neck_split_ratio", "neck_fusion"))
    assert idle_knobs(plain_neck, ["neck_split_ratio"]) == ["neck_split_ratio"]
    assert knob_acts(plain_neck, "neck_repeats")


@pytest.mark.parametrize("name", ["yolov8n", "yolo11n", "yolov5su"])
def test_collapsed_diagram_is_one_node_per_stage_with_laterals_and_detect(name):
    cfg = get_preset(name)
    dot = to_dot(cfg, collapse=True)
    nodes = [line.split(" [")[0].strip() for line in dot.splitlines() if " [label=" in line and " -> " not in line]
    assert nodes[:2] == ["input", "stem"] and "head" in nodes
    assert [n for n in nodes if n.startswith("neck_")] == [f"neck_{j}" for j in range(4)]
    for j, role in enumerate(NECK_ROLES):
        assert f"neck.{j} \u2014 {role}" in dot
    assert dot.count("lateral ") == 4                  # one lateral concat per neck stage
    assert "stages_1 -> neck_1" in dot                 # P3 into the top-down P3 stage
    assert all(f"P{k}: " in dot for k in (3, 4, 5))    # Detect reads three scales
    assert "subgraph cluster_part_neck" in dot
    assert len(nodes) == len(plan_network(cfg).stages) + 2   # one node per stage, plus the input and the output


def test_collapsed_diagram_of_an_imported_darknet_detector_reads_its_heads_scales():
    from darknet_detectors import yolov4_csp
    from explorer.design.files import design_from_file

    cfg = design_from_file("yolov4-csp.cfg", yolov4_csp().encode())
    dot = to_dot(cfg, collapse=True)
    assert "Detect" not in dot and "DFL" not in dot     # Ultralytics' head is a design detector's only
    head = next(line for line in dot.splitlines() if line.strip().startswith("head ["))
    assert "P3 " in head and "P4 " in head and "P5 " in head
    assert all("lateral" not in line for line in dot.splitlines() if "-> head" in line)
    assert "lateral " in dot and "subgraph cluster_part_neck" in dot


def test_roofline_sums_stages_per_part():
    r = roofline(get_preset("yolov8n"), device="h100")
    assert [p["name"] for p in r["parts"]] == ["backbone", "neck", "head"]
    assert r["parts"][1]["stages"] == [f"neck.{j}" for j in range(4)]
    assert sum(p["flops"] for p in r["parts"]) == r["total"]["flops"]
    assert sum(p["bound_ms"] for p in r["parts"]) == pytest.approx(r["total"]["bound_ms"])
    rows = roofline_part_rows([("design", r)])
    assert [x["part"] for x in rows] == ["backbone", "neck", "head"] and rows[1]["stages"] == "neck.0-3"


# ----------------------------------------------------------------------------- pages
def test_design_page_shows_neck_group_roles_and_output_scales_and_a_neck_knob_acts():
    at = app({"preset": "yolov8n"})
    no_problem(at)
    assert "Neck (PAN: 4 CSP stages)" in [e.label for e in at.expander]
    df = table(at, "role")
    assert list(df["part"].unique()) == ["backbone", "neck", "head"]
    assert list(df.loc[df["part"] == "neck", "role"]) == list(NECK_ROLES)
    assert any("Output scales" in c.value and "P5 256\u00d720\u00d720" in c.value for c in at.caption)
    params = table(at, "part")["params"].tolist()
    at.text_input(key="knob_neck_block_type").set_value("dark").run()
    no_problem(at)
    assert at.query_params["neck_block_type"] == "dark"
    new = table(at, "part")["params"].tolist()
    assert new[0] == params[0] and new[1] != params[1] and new[2] == params[2]   # only the neck changed


def test_design_page_task_switch_makes_a_detector_at_640_with_80_classes():
    at = app({"preset": "yolov8n_cls"})
    no_problem(at)
    assert "Neck (PAN: 4 CSP stages)" not in [e.label for e in at.expander]
    at.selectbox(key="knob_task").set_value("detect").run()
    no_problem(at)
    assert at.number_input(key="knob_input_size").value == 640
    assert at.number_input(key="knob_num_classes").value == 80
    assert "Neck (PAN: 4 CSP stages)" in [e.label for e in at.expander]
    assert list(table(at, "role")["part"].unique()) == ["backbone", "neck", "head"]


def test_design_page_live_trace_shows_each_output_scale():
    at = app({"preset": "yolov8n", "input_size": "128"})
    at.toggle(key="verify_trace").set_value(True).run()
    no_problem(at)
    assert list(table(at, "quantity")["agree"]) == ["yes"] * len(table(at, "quantity"))
    scales = table(at, "scale")
    assert list(scales["scale"]) == ["P3", "P4", "P5"] and list(scales["agree"]) == ["yes"] * 3
    assert list(scales["live trace"]) == ["64x16x16", "128x8x8", "256x4x4"]


def test_sweep_page_sweeps_a_neck_knob_per_part():
    at = app({"preset": "yolov8n"})
    at.switch_page("pages/Sweep.py").run()
    at.selectbox(key="sw_knob1").set_value("neck_repeats").run()
    at.selectbox(key="sw_knob2").set_value("(none)").run()
    at.radio(key="sw_metric").set_value("params").run()
    at.toggle(key="sw_parts").set_value(True).run()
    no_problem(at)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    lines = {t["name"]: t["y"] for t in fig["data"]}
    assert set(lines) == {"part = backbone", "part = neck", "part = head"}
    assert len(set(lines["part = backbone"])) == 1 and len(set(lines["part = neck"])) > 1


def test_diagram_page_collapses_a_detector_by_default_and_lists_neck_stages():
    at = app({"preset": "yolov8n"})
    at.switch_page("pages/Diagram.py").run()
    no_problem(at)
    assert at.toggle(key="diagram_collapse").value is True
    assert "(stages collapsed)" in at.get("graphviz_chart")[0].proto.spec
    options = at.multiselect(key="diagram_expand").options
    assert "neck stage 4 (neck.3, bottom-up to P5)" in options
    at.toggle(key="diagram_collapse").set_value(False).run()
    at.multiselect(key="diagram_expand").set_value(["neck.3"]).run()
    no_problem(at)
    spec = at.get("graphviz_chart")[0].proto.spec
    assert "(stages collapsed)" not in spec and "block 0:" in spec


def test_latency_page_roofline_lists_neck_stages_and_parts():
    at = app({"preset": "yolov8n"})
    at.switch_page("pages/Latency.py").run()
    no_problem(at)
    stages = set(table(at, "MB moved")["stage"])
    assert {f"neck.{j}" for j in range(4)} | {"head"} <= stages
    parts = table(at, "share of the lower bound")
    assert list(parts["part"]) == ["backbone", "neck", "head"] * 2   # the design, then its plain twin
    assert parts["share of the lower bound"].iloc[:3].sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- CLI
def test_cli_summary_diagram_roofline_and_bench_show_a_detectors_parts():
    s = cli("summary", "yolov8n")
    assert s.returncode == 0 and "outputs (what Detect reads): P3 64x80x80 (stride 8)" in s.stdout
    js = json.loads(cli("summary", "yolov8n", "--json").stdout)
    assert js["outputs"][2] == [256, 20, 20] and js["strides"] == [8, 16, 32]
    d = cli("diagram", "yolov8n", "--collapse", "--format", "dot")
    assert d.returncode == 0 and "neck.1 \u2014 top-down to P3" in d.stdout
    bad = cli("diagram", "yolov8n", "--collapse", "--expand", "stages.1", "--format", "dot")
    assert bad.returncode != 0 and "--collapse" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    r = cli("roofline", "yolov8n")
    assert r.returncode == 0 and "part neck" in r.stdout and "stages: neck.0-3" in r.stdout
    sw = cli("sweep", "yolov8n", "--vary", "neck_block_type=dark,c3k", "--csv")
    assert sw.returncode == 0 and "neck_params" in sw.stdout.splitlines()[0]
    b = cli("bench", "yolov8n", "--runs", "1", "--warmup", "0", "--set", "input_size=64")
    assert b.returncode == 0 and "per part at batch 1" in b.stdout and "neck" in b.stdout

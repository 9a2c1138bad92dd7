"""Issue 12 part 6: the command line works for CSP's modern lineage (presets, summary with another fusion,
per-stage choice fields, diagram, sweep, ONNX with YOLO11's attention, a short CPU benchmark), in-process."""
from __future__ import annotations

import json
import shutil

import pytest

from cspnet import get_preset, plan_network
from cspnet.config import LINEAGE
from cspnet.families import get_family
from explorer.cli import main

LINEAGE_PRESETS = {p.name: p for fam in LINEAGE for p in get_family(fam).presets}


def run_cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_presets_list_the_lineage_with_reference_params_and_no_paper_base(capsys):
    rc, out, _ = run_cli(capsys, "presets", "--json")
    assert rc == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(LINEAGE_PRESETS) <= set(rows) and len(LINEAGE_PRESETS) == 34 + 15   # + the detectors
    for name, p in LINEAGE_PRESETS.items():
        assert rows[name]["params"] == rows[name]["reference_params"] == p.reference_params, name
        assert rows[name]["base"] is None, name


def test_summary_with_fusion_last_has_its_twin_and_says_it_has_no_paper_base(capsys):
    rc, out, _ = run_cli(capsys, "summary", "yolov8n_cls", "--set", "fusion=fusion_last", "--json")
    assert rc == 0
    s = json.loads(out)
    cfg = get_preset("yolov8n_cls", fusion="fusion_last")
    assert s["fusion"] == "fusion_last" and s["params"] == plan_network(cfg).params != 2_719_288
    assert s["base"] is None
    twin = s["twin"]
    assert twin["config"]["fusion"] == "none" and twin["deltas"]["params"]["twin"] == plan_network(cfg.twin()).params
    assert twin["deltas"]["macs"]["delta_pct"] < 0
    rc, out, _ = run_cli(capsys, "summary", "yolov8n_cls", "--set", "fusion=fusion_last")
    assert rc == 0 and "no paper base: no published plain counterpart" in out and "vs plain twin" in out
    assert "bottleneck_3x3 (all taps)" in out  # the stage table names each stage's block and taps


def test_per_stage_choice_and_bool_fields_on_the_command_line(capsys):
    rc, out, _ = run_cli(capsys, "summary", "yolov8n_cls", "--set", "taps=last,all,all,all",
                         "--set", "residual=true,false,true,false", "--json")
    assert rc == 0
    c = json.loads(out)["config"]
    assert c["taps"] == ["last", "all", "all", "all"] and c["residual"] == [True, False, True, False]
    rc, _, err = run_cli(capsys, "summary", "yolov8n_cls", "--set", "taps=foo")
    assert rc == 2 and "taps" in err and "last, all" in err
    rc, _, err = run_cli(capsys, "summary", "yolov7_backbone", "--set", "block_type=psa",
                         "--set", "widths=1048,512,1024,1024")
    assert rc == 2 and "widths" in err and "attention" in err


def test_diagram_draws_c2f_taps_and_not_c3s(capsys, tmp_path):
    c2f, c3 = tmp_path / "c2f.dot", tmp_path / "c3.dot"
    assert run_cli(capsys, "diagram", "yolov8n_cls", "--expand", "stages.1", "--format", "dot", "-o", str(c2f))[0] == 0
    assert run_cli(capsys, "diagram", "yolov5n_cls", "--expand", "stages.1", "--format", "dot", "-o", str(c3))[0] == 0
    assert "concat of every tap" in c2f.read_text() and "concat of every tap" not in c3.read_text()
    if shutil.which("dot"):
        svg = tmp_path / "elan.svg"
        assert run_cli(capsys, "diagram", "yolov7_backbone", "--format", "svg", "-o", str(svg))[0] == 0
        assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_sweep_width_by_depth_multiple_and_taps(capsys):
    rc, out, _ = run_cli(capsys, "sweep", "yolov8n_cls", "--vary", "width_multiple=0.25,0.5",
                         "--vary", "depth_multiple=0.33,0.67", "--json")
    assert rc == 0
    rows = json.loads(out)
    assert len(rows) == 4 and all(r["error"] == "" for r in rows)
    p = {(r["width_multiple"], r["depth_multiple"]): r["params"] for r in rows}
    assert p[(0.25, 0.33)] == 2_719_288 and p[(0.5, 0.33)] == 6_361_736  # yolov8n and yolov8s
    rc, out, _ = run_cli(capsys, "sweep", "yolo11n_cls", "--vary", "taps=last,all", "--json")
    by = {r["taps"]: r["params"] for r in json.loads(out)}
    for taps in ("last", "all"):  # a sweep value applies to every stage
        assert by[taps] == plan_network(get_preset("yolo11n_cls", taps=taps)).params


def test_onnx_export_of_yolo11_with_its_attention(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "y11.onnx"
    rc, out, err = run_cli(capsys, "onnx", "yolo11n_cls", "--input-size", "64", "-o", str(path))
    assert rc == 0, err
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    assert {"Softmax", "MatMul", "Concat", "Conv"} <= ops  # C2PSA's attention and the C3k2 concats
    assert model.opset_import[0].version == 18


def test_bench_a_lineage_design_and_its_twin_on_the_cpu(capsys):
    rc, out, err = run_cli(capsys, "bench", "yolov8n_cls", "--set", "fusion=fusion_last", "--input-size", "64",
                           "--runs", "2", "--warmup", "1", "--twin", "--json")
    assert rc == 0, err
    rec = json.loads(out)
    assert rec["design"]["config"]["fusion"] == "fusion_last" and rec["twin"]["config"]["fusion"] == "none"
    assert rec["design"]["results"][0]["median_ms"] > 0 and rec["twin"]["results"][0]["median_ms"] > 0

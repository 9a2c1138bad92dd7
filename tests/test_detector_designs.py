"""Detectors as designs (``task = "detect"``): YOLOv5u, YOLOv8 and YOLO11 presets whose backbone, PAN neck and
Detect head are planned from the config (cspnet/families/_detect.py), exact to Ultralytics' own build, equal part by
part to the same network read from its YAML (explorer.io.ultralytics_det), built as a real model that runs, with
the CSP knobs acting on the neck."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import torch

from cspnet import ConfigError, build_model, count_params, get_preset, plan_network
from cspnet.plan import NetPlan, graph_problems
from explorer.counts.conventions import REGISTRY
from explorer.io.ultralytics_det import detector_from_yaml, printed_gflops
from test_ultralytics_detect import YAMLS

# sum(p.numel() for p in DetectionModel(f"{name}.yaml").parameters()), ultralytics 8.4.190, nc 80
# (benchmarks/reference_constants.py; the yolov8 / yolo11 rows are also the YAMLs' printed summaries)
EXACT = {
    "yolov5nu": 2_654_816, "yolov5su": 9_153_152, "yolov5mu": 25_111_456, "yolov5lu": 53_225_024,
    "yolov5xu": 97_276_448, "yolov8n": 3_157_200, "yolov8s": 11_166_560, "yolov8m": 25_902_640,
    "yolov8l": 43_691_520, "yolov8x": 68_229_648, "yolo11n": 2_624_080, "yolo11s": 9_458_752,
    "yolo11m": 20_114_688, "yolo11l": 25_372_160, "yolo11x": 56_966_176,
}
YAML_OF = {"yolov5": "v5u", "yolov8": "v8", "yolo11": "11"}


def _scale(name: str) -> str:
    return name.replace("yolov5", "").replace("yolov8", "").replace("yolo11", "").replace("u", "")


@pytest.mark.parametrize("name", sorted(EXACT))
def test_detector_presets_have_ultralytics_parameter_counts(name):
    cfg = get_preset(name)
    plan = plan_network(cfg)
    assert cfg.is_detector and cfg.input_size == 640 and cfg.num_classes == 80
    assert plan.params == EXACT[name]
    assert graph_problems(plan) == []
    assert [sp.part_name for sp in plan.stages].count("neck") == 4 and plan.stages[-1].part_name == "head"


@pytest.mark.parametrize("name", ["yolov8n", "yolov8l", "yolo11n", "yolo11m", "yolov5su", "yolov5xu"])
def test_a_preset_is_the_network_its_yaml_describes_part_by_part(name):
    """Planned from the design's fields or read from the YAML (one stage per YAML layer), every part has the same
    per-kind totals (layers, parameters, MACs, elements read and written: one concat per C2f, as Ultralytics)
    and the same output scales."""
    cfg = get_preset(name)
    det = detector_from_yaml(YAMLS[YAML_OF[cfg.family]], f"{cfg.family}{_scale(name)}.yaml", scale=_scale(name))
    mine, theirs = plan_network(cfg), det.plan
    for part in ("backbone", "neck", "head"):
        a = _totals([sp for sp in mine.stages if sp.part_name == part])
        b = _totals([sp for sp in theirs.stages if sp.part_name == part])
        assert a == b, part
    assert [tuple(t) for t in det.outputs] == [tuple(mine.stages[-1].taps[f"p{j}"]) for j in range(3)]
    assert mine.stages[-1].output_shape == theirs.stages[-1].output_shape
    ultra = REGISTRY["ultralytics"]
    assert ultra.on_totals(mine.by_kind) == ultra.on_totals(theirs.by_kind)
    # what Ultralytics prints: at the probe stride 32, scaled to 640 (YOLO11's attention is not linear in H x W)
    probe = plan_network(cfg, input_size=32, memo=False)
    assert printed_gflops(det) == pytest.approx(ultra.on_totals(probe.by_kind) * 20 * 20 / 1e9, rel=1e-12)


def _totals(stages) -> dict:
    out: dict = {}
    for sp in stages:
        for kind, t in sp.by_kind.items():
            acc = out.setdefault(kind, [0] * len(t))
            for i, v in enumerate(t):
                acc[i] += v
    return out


def test_yolov8n_prints_ultralytics_gflops_to_the_last_digit():
    plan = plan_network(get_preset("yolov8n"))
    assert REGISTRY["ultralytics"].on_totals(plan.by_kind) == 8_857_548_800   # 8.8575488 GFLOPs (unfused)


@pytest.mark.parametrize("name", ["yolov8n", "yolo11n", "yolov5nu"])
def test_the_built_detector_runs_and_reads_what_its_graph_says(name):
    from explorer.real.dataflow import compare

    cfg = get_preset(name, input_size=128)
    model = build_model(cfg)
    assert count_params(model) == EXACT[name]
    # DFL's frozen projection: 16 weights 0..15, not trained (Ultralytics counts them, gradients exclude them)
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert len(frozen) == 1 and frozen[0].flatten().tolist() == list(range(16))
    with torch.no_grad():
        y = model(torch.randn(2, 3, 128, 128))
        y320 = model(torch.randn(1, 3, 320, 320))   # any size of stride 32 runs (the plan was made at 128)
    assert tuple(y.shape) == (2, 84, 16 * 16 + 8 * 8 + 4 * 4)
    assert tuple(y320.shape) == (1, 84, 40 * 40 + 20 * 20 + 10 * 10)
    assert torch.all((y[:, 4:] >= 0) & (y[:, 4:] <= 1))    # class scores: sigmoid
    assert torch.all((y[:, :4] >= 0) & (y[:, :4] <= 15))   # DFL distances: expectations over bins 0..15
    meta = build_model(cfg, device="meta")
    assert compare(plan_network(cfg), meta, torch.empty(1, 3, 128, 128, device="meta")) == []
    names = [n for n, _ in model.named_parts()]
    assert names[-5:] == ["neck.0", "neck.1", "neck.2", "neck.3", "head"]


def test_a_wrong_lateral_wire_is_seen_by_the_dataflow_check():
    """The check can fail: a neck concat that reads the wrong backbone stage (P5 instead of P4) is found."""
    from explorer.real.dataflow import compare

    cfg = get_preset("yolov8n", input_size=128)
    meta = build_model(cfg, device="meta")
    plan = plan_network(cfg)   # the model runs the memoized plan's ops: compare it with a patched copy
    sp = plan.stage("neck.0")
    lateral = next(op for op in sp.ops if op.path == "neck.0.lateral")
    wrong = copy.copy(lateral)
    wrong.reads = (lateral.reads[0], (plan.stage("stages.3").taps["output"].src, 0, lateral.reads[1][2]))
    patched = copy.copy(sp)
    patched.__dict__["_ops"] = [wrong if op is lateral else op for op in sp.ops]
    other = NetPlan(plan.input_shape, [patched if s is sp else s for s in plan.stages])
    x = torch.empty(1, 3, 128, 128, device="meta")
    assert compare(plan, meta, x) == [] and compare(other, meta, x)


def test_the_csp_knobs_act_on_the_neck():
    base = get_preset("yolov8n")
    p = plan_network(base)
    plain = plan_network(base.replace(neck_fusion="none"))
    deeper = plan_network(base.replace(neck_repeats=(3, 3, 3, 9)))   # x 0.33: 1, 1, 1, 3 blocks
    c3 = plan_network(base.replace(neck_block_type="dark", neck_taps="last"))
    neck = {name: sum(sp.params for sp in pl.stages if sp.part_name == "neck")
            for name, pl in (("csp", p), ("plain", plain), ("deeper", deeper), ("c3", c3))}
    backbone = {sum(sp.params for sp in pl.stages if sp.part_name == "backbone") for pl in (p, plain, deeper, c3)}
    assert len(backbone) == 1                       # the backbone is untouched by the neck's knobs
    assert neck["plain"] > neck["csp"] and neck["deeper"] > neck["csp"] and neck["c3"] != neck["csp"]
    half = plan_network(base.replace(neck_split_ratio=0.25))
    assert sum(sp.params for sp in half.stages if sp.part_name == "neck") < neck["csp"]
    twin = base.twin()
    assert twin.fusion == "none" and twin.neck_fusion == "none" and "plain twin" in twin.name


def test_neck_fields_name_themselves_and_the_neck_stage_count():
    base = get_preset("yolov8n")
    with pytest.raises(ConfigError) as exc:
        base.replace(neck_repeats=(1, 2))
    assert exc.value.field == "neck_repeats" and "4 neck stages" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        base.replace(neck_repeats=(1, 2, 0, 1))
    assert "neck stage 2 has 0" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        base.replace(neck_block_type="bottleneck")
    assert exc.value.field == "neck_block_type"
    cls = get_preset("yolov8n_cls")   # a classifier ignores the neck fields (and does not grow a neck)
    assert plan_network(cls.replace(neck_repeats=5)).params == plan_network(cls).params
    dense = get_preset("densenet121").replace(neck_repeats=(1, 2, 3, 4))   # a family without detectors: unread
    assert dense.task == "classify" and not dense.is_detector


def test_a_classifier_switched_to_detect_becomes_a_detector():
    cfg = get_preset("yolov8n_cls").replace(task="detect", input_size=320, num_classes=20)
    plan = plan_network(cfg)
    assert plan.output_shape == (24, 40 * 40 + 20 * 20 + 10 * 10, 1)
    assert {sp.part_name for sp in plan.stages} == {"backbone", "neck", "head"}


@pytest.mark.parametrize("name", ["yolov8n", "yolo11m", "yolov5su"])
def test_a_detector_exports_as_an_ultralytics_yaml_that_reads_back_the_same(name, tmp_path):
    from explorer.io.check import export

    text, check = export(get_preset(name), "ultralytics")
    assert "Detect, [nc]" in text and "SPPF" in text and check.params == check.file_params == EXACT[name]
    det = detector_from_yaml(text, f"{name}.yaml")
    assert det.plan.params == EXACT[name]


def test_summary_json_of_a_detector_preset_has_parts_and_outputs():
    out = subprocess.run([sys.executable, "-m", "explorer", "summary", "yolo11n", "--json"], capture_output=True,
                         text=True, check=True).stdout
    s = json.loads(out)
    parts = {p["name"]: p for p in s["parts"]}
    assert list(parts) == ["backbone", "neck", "head"]
    assert sum(p["params"] for p in parts.values()) == s["params"] == EXACT["yolo11n"]
    assert s["config"]["task"] == "detect" and s["config"]["neck_repeats"] == [2, 2, 2, 2]


def test_the_diagram_draws_the_neck_lateral_edges():
    from explorer.counts.diagram import to_dot

    dot = to_dot(get_preset("yolov8n"))
    assert "cluster_part_neck" in dot and "Detect (3 scales)" in dot
    assert "upsample" in dot and "concat (lateral)" in dot
    # the top-down P4 stage's lateral concat reads backbone stage 2's output: an edge from stage 2 into neck.0
    lateral = next(line for line in dot.splitlines() if "concat (lateral)" in line and "_lateral" in line)
    node = lateral.split()[0]
    assert any(line.strip().startswith("s2_") and f"-> {node}" in line for line in dot.splitlines())
    assert "P3: 64\u00d780\u00d780" in dot and "P5: 256\u00d720\u00d720" in dot


def test_scale_option_takes_the_scale_s_preset_fields(tmp_path):
    from test_ultralytics_detect import V8

    def run(*argv):
        return subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True)

    out = json.loads(run("summary", "yolov8n", "--scale", "s", "--json").stdout)
    assert out["name"] == "yolov8s" and out["params"] == EXACT["yolov8s"]
    out = json.loads(run("summary", "yolo11n", "--scale", "m", "--json").stdout)   # C3k blocks forced at m
    assert out["params"] == EXACT["yolo11m"] and out["config"]["neck_block_type"] == ["c3k"] * 4
    path = tmp_path / "yolov8n.yaml"
    path.write_text(V8)
    out = json.loads(run("summary", str(path), "--scale", "x", "--json").stdout)
    assert out["params"] == EXACT["yolov8x"] and out["scale"] == "x"
    bad = run("summary", "cspresnet50", "--scale", "s")
    assert bad.returncode != 0 and bad.stderr.startswith("error: scale: ") and len(bad.stderr.splitlines()) == 1

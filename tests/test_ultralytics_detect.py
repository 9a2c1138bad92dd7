"""Ultralytics detection YAMLs planned whole (explorer/io/ultralytics_det.py): parameters and printed GFLOPs exact
against Ultralytics' own figures (tests/detection_reference.py), the YAML's dataflow as the plan's graph, the parts,
the scale rules, the refusals, and the CLI's summary.

The YAML texts are written here from the models' published layer structure (Ultralytics' files are AGPL and are
not copied): the same layers, from, repeats and args, no comments."""
from __future__ import annotations

import csv
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cspnet import ConfigError
from cspnet.plan import graph_problems
from detection_reference import DETECTION, DETECTION_P6, mutated_layer
from explorer.cli import main
from explorer.counts.conventions import REGISTRY
from explorer.counts.fuse import fuse_detector
from explorer.design.files import design_from_file, detector_from_file, is_detector
from explorer.io.ultralytics_det import (
    NOT_BUILT,
    detector_from_yaml,
    is_detection_yaml,
    plan_detector,
    printed_gflops,
    summarize_detector,
)
from explorer.io.yolo_texts import yaml_text

UP = [-1, 1, "nn.Upsample", [None, 2, "nearest"]]


def _yaml(scales: dict, backbone: list, head: list) -> str:
    """An Ultralytics detection YAML (``nc: 80``, ``scales``, the layer rows), written as the presets' texts are
    (``explorer.io.yolo_texts.yaml_text``)."""
    return yaml_text({"nc": 80, "scales": {k: list(v) for k, v in scales.items()}}, backbone, head)


V8_SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768), "l": (1.00, 1.00, 512),
             "x": (1.00, 1.25, 512)}
V8_BACKBONE = [[-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C2f", [128, True]],
               [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C2f", [256, True]], [-1, 1, "Conv", [512, 3, 2]],
               [-1, 6, "C2f", [512, True]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C2f", [1024, True]],
               [-1, 1, "SPPF", [1024, 5]]]
V8 = _yaml(V8_SCALES, V8_BACKBONE, [
    UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
    UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C2f", [256]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 12], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 9], 1, "Concat", [1]], [-1, 3, "C2f", [1024]],
    [[15, 18, 21], 1, "Detect", ["nc"]]])
V8_P2 = _yaml(V8_SCALES, V8_BACKBONE, [
    UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
    UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C2f", [256]],
    UP, [[-1, 2], 1, "Concat", [1]], [-1, 3, "C2f", [128]],
    [-1, 1, "Conv", [128, 3, 2]], [[-1, 15], 1, "Concat", [1]], [-1, 3, "C2f", [256]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 12], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 9], 1, "Concat", [1]], [-1, 3, "C2f", [1024]],
    [[18, 21, 24, 27], 1, "Detect", ["nc"]]])
Y11 = _yaml({"n": (0.50, 0.25, 1024), "s": (0.50, 0.50, 1024), "m": (0.50, 1.00, 512), "l": (1.00, 1.00, 512),
             "x": (1.00, 1.50, 512)}, [
    [-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 2, "C3k2", [256, False, 0.25]],
    [-1, 1, "Conv", [256, 3, 2]], [-1, 2, "C3k2", [512, False, 0.25]], [-1, 1, "Conv", [512, 3, 2]],
    [-1, 2, "C3k2", [512, True]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 2, "C3k2", [1024, True]],
    [-1, 1, "SPPF", [1024, 5]], [-1, 2, "C2PSA", [1024]]], [
    UP, [[-1, 6], 1, "Concat", [1]], [-1, 2, "C3k2", [512, False]],
    UP, [[-1, 4], 1, "Concat", [1]], [-1, 2, "C3k2", [256, False]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 13], 1, "Concat", [1]], [-1, 2, "C3k2", [512, False]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], [-1, 2, "C3k2", [1024, True]],
    [[16, 19, 22], 1, "Detect", ["nc"]]])
V5U = _yaml({"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 1024), "l": (1.00, 1.00, 1024),
             "x": (1.33, 1.25, 1024)}, [
    [-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]],
    [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]], [-1, 9, "C3", [512]],
    [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C3", [1024]], [-1, 1, "SPPF", [1024, 5]]], [
    [-1, 1, "Conv", [512, 1, 1]], UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
    [-1, 1, "Conv", [256, 1, 1]], UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C3", [256, False]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 14], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], [-1, 3, "C3", [1024, False]],
    [[17, 20, 23], 1, "Detect", ["nc"]]])
V8_P6 = _yaml(V8_SCALES, V8_BACKBONE[:7] + [
    [-1, 1, "Conv", [768, 3, 2]], [-1, 3, "C2f", [768, True]], [-1, 1, "Conv", [1024, 3, 2]],
    [-1, 3, "C2f", [1024, True]], [-1, 1, "SPPF", [1024, 5]]], [
    UP, [[-1, 8], 1, "Concat", [1]], [-1, 3, "C2", [768, False]],
    UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C2", [512, False]],
    UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C2", [256, False]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 17], 1, "Concat", [1]], [-1, 3, "C2", [512, False]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 14], 1, "Concat", [1]], [-1, 3, "C2", [768, False]],
    [-1, 1, "Conv", [768, 3, 2]], [[-1, 11], 1, "Concat", [1]], [-1, 3, "C2", [1024, False]],
    [[20, 23, 26, 29], 1, "Detect", ["nc"]]])
YAMLS = {"v8": V8, "v8-p2": V8_P2, "v8-p6": V8_P6, "11": Y11, "v5u": V5U}

SHARED_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "detection_exact.csv")


# --------------------------------------------------------------------------- exact against Ultralytics
@pytest.mark.parametrize("model", list(DETECTION))
def test_parameters_and_printed_gflops_equal_ultralytics(model):
    which, scale, params, gflops, exact = DETECTION[model]
    det = plan_detector(YAMLS[which], scale)
    assert det.plan.params == params
    printed = printed_gflops(det)
    assert f"{printed:.1f}" == gflops
    if exact is not None:
        assert printed == pytest.approx(exact, rel=0, abs=1e-12)
    # the registered convention at 640 is that figure (every layer's cost scales with H x W from the probe), but
    # for YOLO11's attention (C2PSA), whose matrix products grow with (H x W)^2: Ultralytics scales the probe's
    value = REGISTRY["ultralytics"].on_totals(det.plan.by_kind)
    probe = det.at(det.probe_stride).plan.by_kind
    scale2 = (640 // det.probe_stride) ** 2
    attention = 2 * (det.plan.by_kind.get("matmul", [0] * 6)[2] - probe.get("matmul", [0] * 6)[2] * scale2)
    assert (attention > 0) == (which == "11")
    assert value - attention == round(printed * 1e9)


def test_yolov8n_and_yolo11n_exact_as_their_yaml_comments_print():
    assert plan_detector(V8, "n").plan.params == 3_157_200
    assert plan_detector(Y11, "n").plan.params == 2_624_080
    v8n = plan_detector(V8, "n")
    assert REGISTRY["ultralytics"].on_totals(v8n.plan.by_kind) == 8_857_548_800   # model.info(): 8.8575488
    assert REGISTRY["ultralytics"].on_totals(plan_detector(V8_P2, "n").plan.by_kind) == 17_434_572_800


def test_printed_gflops_scale_from_the_probe_as_get_flops_does():
    det = plan_detector(V8, "n", input_size=320)
    assert printed_gflops(det) == pytest.approx(8.8575488 / 4, rel=1e-12)
    assert printed_gflops(plan_detector(V8, "n"), 320) == pytest.approx(8.8575488 / 4, rel=1e-12)
    # get_flops scales the probe to any image size; the plan itself needs a multiple of the largest stride
    assert printed_gflops(plan_detector(V8, "n"), 336) == pytest.approx(8.8575488 * (336 / 640) ** 2, rel=1e-12)
    with pytest.raises(ConfigError, match=r"layer 11 \(head\[1\], Concat\).*multiple of the largest stride"):
        plan_detector(V8, "n", input_size=336)


@pytest.mark.parametrize("scale", list(DETECTION_P6))
def test_yolov8_p6_with_its_c2_neck_equals_ultralytics(scale):
    """yolov8-p6.yaml: four output scales (P6/64 too) and C2 in the neck, whose bottleneck is two 3x3 convs."""
    params, built_gflops, fused_params, fused_gflops = DETECTION_P6[scale]
    det = plan_detector(V8_P6, scale)
    assert det.plan.params == params
    assert det.strides == (8, 16, 32, 64) and det.probe_stride == 64 and graph_problems(det.plan) == []
    # Ultralytics 8.4.190's get_flops (its thop counts nearest upsampling 0: the yolov5 convention's table)
    probe = det.at(det.probe_stride).plan.by_kind
    assert REGISTRY["yolov5"].on_totals(probe) / 1e9 * (640 // 64) ** 2 == pytest.approx(built_gflops, rel=1e-12)
    upsampling = REGISTRY["ultralytics"].on_totals(probe) - REGISTRY["yolov5"].on_totals(probe)
    assert upsampling > 0 and printed_gflops(det) > built_gflops
    fused = fuse_detector(det)
    assert fused.plan.params == fused_params and f"{printed_gflops(fused):.1f}" == fused_gflops


def test_constants_are_the_shared_csvs():
    if not os.path.exists(SHARED_CSV):
        pytest.skip("../shared/reference/detection_exact.csv is not present")
    with open(SHARED_CSV, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["fused_or_not"].startswith("unfused") and r["input_size"] == "640"]
    by_model: dict = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    for model, (_, _, params, gflops, exact) in DETECTION.items():
        assert {(int(r["params"]), r["gflops"].split(" ")[0]) for r in by_model[model]} == {(params, gflops)}, model
        if exact is not None:
            assert any(f"({exact})" in r["gflops"] for r in by_model[model]), model
    with open(SHARED_CSV, newline="") as fh:
        p6 = {r["model"]: r for r in csv.DictReader(fh) if r["model"].endswith("-p6") and "ghost" not in r["model"]}
    assert {m: (int(r["params"]), r["gflops"], r["fused_or_not"].split(" ")[0]) for m, r in p6.items()} == {
        f"YOLOv8{k}-p6": (v[2], v[3], "fused") for k, v in DETECTION_P6.items()}


# --------------------------------------------------------------------------- the graph and the parts
def test_from_references_are_the_plans_reads():
    det = plan_detector(V8, "n")
    plan = det.plan
    assert graph_problems(plan) == []
    names = [s.name for s in plan.stages]
    assert names == [f"model.{i}" for i in range(23)]
    ops = {op.path: op for op in plan.ops}
    last = {s.name: s.ops[-1].path for s in plan.stages}
    # layer 11: Concat [-1, 6] reads the upsampled layer 10 and backbone layer 6's output
    assert [r[0] for r in ops["model.11"].reads] == [last["model.10"], last["model.6"]]
    assert ops["model.10"].kind == "upsample" and ops["model.10"].out_shape == (256, 40, 40)
    # layer 20: Concat [-1, 9] reads the down conv 19 and the SPPF (layer 9), a lateral edge of the PAN
    assert [r[0] for r in ops["model.20"].reads] == [last["model.19"], last["model.9"]]
    # Detect reads layers 15, 18, 21: the first conv of each scale's branches reads that layer
    for j, i in enumerate((15, 18, 21)):
        assert ops[f"model.22.cv2.{j}.0.conv"].reads[0][0] == last[f"model.{i}"]
        assert ops[f"model.22.cv3.{j}.0.conv"].reads[0][0] == last[f"model.{i}"]
    assert det.strides == (8, 16, 32) and det.outputs == [[64, 80, 80], [128, 40, 40], [256, 20, 20]]
    # C2f's split: the first bottleneck reads the second half of cv1's output
    assert ops["model.2.m.0.conv1.conv"].reads == (("model.2.cv1.act", 16, 32),)
    # every op lies under its YAML layer's path
    assert all(op.path.split(".")[1] == op.group[1].split(".")[1] for op in plan.ops)


def test_parts_are_backbone_neck_head_and_add_up():
    det = plan_detector(Y11, "s")
    parts = {s.name: s.part_name for s in det.plan.stages}
    assert [parts[f"model.{i}"] for i in range(24)] == ["backbone"] * 11 + ["neck"] * 12 + ["head"]
    s = summarize_detector(det)
    assert [p["name"] for p in s["parts"]] == ["backbone", "neck", "head"]
    assert sum(p["params"] for p in s["parts"]) == s["params"] == 9_458_752
    assert sum(p["macs"] for p in s["parts"]) == s["macs"]
    for key, c in s["conventions"].items():
        assert sum(p["conventions"][key] for p in s["parts"]) == c["value"], key
    assert s["config"] is None and s["config_error"] == NOT_BUILT


def test_yolo11_head_is_not_legacy_and_v8_head_is():
    """parse_model sets Detect.legacy False where the model has C3k2: the class branch has depthwise convs."""
    y11 = {op.path: op for op in plan_detector(Y11, "n").plan.ops}
    v8 = {op.path: op for op in plan_detector(V8, "n").plan.ops}
    assert y11["model.23.cv3.0.0.0.conv"].groups == 64 and "model.23.cv3.0.0.0.conv" in y11
    assert v8["model.22.cv3.0.0.conv"].kernel == 3 and v8["model.22.cv3.0.0.conv"].groups == 1


# --------------------------------------------------------------------------- the scale
def test_the_scale_comes_from_the_file_name_or_the_argument():
    assert detector_from_yaml(V8, "yolov8s.yaml").scale == "s"
    assert detector_from_yaml(V8, "yolov8s.yaml").plan.params == 11_166_560
    assert detector_from_yaml(V8, "yolov8s.yaml", scale="m").plan.params == 25_902_640
    assert detector_from_yaml(V8, "my_detector.yaml").scale == "n"   # no scale in the name: the first, as Ultralytics
    assert detector_from_yaml(V8, "yolov8s.yaml").name == "yolov8s.yaml (scale s)"
    with pytest.raises(ConfigError, match="the requested scale 'q' is not in scales"):
        plan_detector(V8, "q")


def test_c3k2_is_forced_to_c3k_at_m_l_x():
    ops = {op.path for op in plan_detector(Y11, "m").plan.ops}
    assert "model.13.m.0.cv1.conv" in ops          # C3k2 [512, False] in the neck: a C3k block at scale m
    ops_s = {op.path for op in plan_detector(Y11, "s").plan.ops}
    assert "model.13.m.0.cv1.conv" not in ops_s and "model.13.m.0.conv1.conv" in ops_s


# --------------------------------------------------------------------------- refused, by name, nothing run
@pytest.mark.parametrize("old,new,expected", [
    ('[-1, 3, C2f, [512]]\n  - [-1, 1, nn.Upsample', '[-1, 3, C2fAttn, [512]]\n  - [-1, 1, nn.Upsample',
     "layer 12 (head[2], C2fAttn): C2fAttn is not a module the detection planner has"),
    ("[-1, 1, SPPF, [1024, 5]]", "[-1, 1, __import__('os').system, [1024, 5]]",
     "layer 9 (backbone[9], __import__('os').system): "),
    ("[[-1, 6], 1, Concat, [1]]", "[[-1, 16], 1, Concat, [1]]", "layer 11 (head[1], Concat): from 16 is no earlier"),
    ("[-1, 1, nn.Upsample, [null, 2, 'nearest']]\n  - [[-1, 6]",
     "[-1, 1, nn.Upsample, [null, 2, 'bilinear']]\n  - [[-1, 6]", "layer 10 (head[0], nn.Upsample): args"),
    ("[[-1, 6], 1, Concat, [1]]", "[[-1, 4], 1, Concat, [1]]", "layer 11 (head[1], Concat): it joins tensors of "
     "different sizes"),
    ("[[15, 18, 21], 1, Detect, [nc]]", "[[15, 18, 21], 1, Detect, [nc, anchors]]", "anchor-based Detect"),
    ("[-1, 6, C2f, [512, True]]", "[-1, 99, C2f, [512, True]]", "layer 6 (backbone[6], C2f): repeats 99"),
    ("[-1, 1, Conv, [128, 3, 2]]", "[-1, 1, Conv, [99999, 3, 2]]", "layer 1 (backbone[1], Conv): the output channels"),
])
def test_bad_layers_are_refused_naming_the_layer_and_module(old, new, expected):
    assert old in V8
    with pytest.raises(ConfigError) as exc:
        plan_detector(V8.replace(old, new, 1), "n")
    assert exc.value.field == "yaml" and expected in str(exc.value)


def test_bounds_and_non_detection_text():
    long = V8.replace("head:\n", "head:\n" + "  - [-1, 1, Conv, [64, 1, 1]]\n" * 60)
    with pytest.raises(ConfigError, match="at most 64"):
        plan_detector(long)
    with pytest.raises(ConfigError, match="no Detect layer"):
        plan_detector(V8.replace("  - [[15, 18, 21], 1, Detect, [nc]]\n", ""))
    with pytest.raises(ConfigError, match="Detect must be the last layer"):
        plan_detector(V8 + "  - [-1, 1, Conv, [64, 1, 1]]\n")
    with pytest.raises(ConfigError) as exc:
        plan_detector(V8, input_size=8)
    assert exc.value.field == "input_size"
    assert is_detection_yaml(V8) and not is_detection_yaml("nc: 80\nbackbone: []\nhead: []\n")
    assert not is_detection_yaml(b"\xff\xfe junk")


# --------------------------------------------------------------------------- files and the CLI
def test_files_dispatch_a_detection_yaml_as_a_yolo_yaml_design():
    from cspnet import plan_network
    from explorer.io.ultralytics import design_from_yaml

    data = V8.encode()
    for name in ("yolov8n.yaml", "yolov8n.YML", "yolov8n.txt", "yolov8n"):
        assert is_detector(name, data)
        assert detector_from_file(name, data).plan.params == 3_157_200
        cfg = design_from_file(name, data)   # the scale from the file name, written into the text
        assert cfg.family == "yolo_yaml" and cfg.network.startswith("scale: n\n") and cfg.input_size == 640
        assert plan_network(cfg).params == 3_157_200
    assert not is_detector("yolov8n.cfg", data)   # the extension claims Darknet: file_format refuses it
    with pytest.raises(ConfigError) as exc:   # the lineage importer (classification YAMLs) says where it goes
        design_from_yaml(data, "yolov8n.yaml")
    assert "layer 22 (head[12], Detect)" in str(exc.value) and "yolo_yaml" in str(exc.value)


def _run(argv) -> tuple:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def test_dead_layer_outputs_are_planned_counted_and_named(tmp_path):
    """A layer no later layer reads (a Conv before Detect, which reads its scales by index; a Conv that the next
    layer skips with from -2) is built and run by parse_model, so it is planned and counted; the graph check
    names its op and the detector's warnings (summary text and JSON) name the YAML layer as a dead layer output."""
    detect = "  - [[15, 18, 21], 1, Detect, [nc]]"
    base = plan_detector(V8, "n")
    dead = plan_detector(V8.replace(detect, "  - [-1, 1, Conv, [64, 1, 1]]\n" + detect), "n")
    assert dead.plan.params == base.plan.params + 16 * 256 + 2 * 16   # Conv(256, 16, 1): conv + BN at scale n
    assert graph_problems(dead.plan) == ["model.22.act (act) is read by no later op"]
    assert dead.dead_layers == [(22, "Conv", "model.22")]
    assert dead.warnings == ["dead layer outputs: layer 22 (Conv) is read by no later layer (nor by Detect); "
                             "parse_model builds and runs it all the same, so its parameters and operations are "
                             "counted"]
    assert summarize_detector(dead)["warnings"] == dead.warnings == fuse_detector(dead).warnings
    # in the middle: layer 10 is skipped by layer 11 (from -2); every layer index after it shifts by one
    rows = V8.split("head:\n")
    mid = rows[0] + "head:\n  - [-1, 1, Conv, [64, 1, 1]]\n" + rows[1].replace(
        "[-1, 1, nn.Upsample", "[-2, 1, nn.Upsample", 1)
    for a, b in (("6], 1, Concat", "6], 1, Concat"), ("[[-1, 12]", "[[-1, 13]"), ("[[-1, 9]", "[[-1, 9]"),
                 ("[[15, 18, 21]", "[[16, 19, 22]")):
        mid = mid.replace(a, b)
    middle = plan_detector(mid, "n")
    assert middle.dead_layers == [(10, "Conv", "model.10")] and middle.plan.params == dead.plan.params
    for text in YAMLS.values():
        assert plan_detector(text, "n").warnings == []
    assert summarize_detector(base)["warnings"] == []
    path = tmp_path / "dead.yaml"
    path.write_text(V8.replace(detect, "  - [-1, 1, Conv, [64, 1, 1]]\n" + detect))
    rc, out, err = _run(["summary", str(path)])
    assert rc == 0 and err.startswith("warning: dead layer outputs: layer 22 (Conv)") and err.count("\n") == 1
    from explorer.compare import subject_from_file

    assert subject_from_file("dead.yaml", path.read_bytes()).warnings == dead.warnings
    path = tmp_path / "yolov8n.yaml"
    path.write_text(V8)
    rc, out, err = _run(["summary", str(path)])
    assert rc == 0 and "warning" not in out + err

def test_cli_summary_json_has_parts_adding_up(tmp_path):
    path = tmp_path / "yolov8n.yaml"
    path.write_text(V8)
    rc, out, err = _run(["summary", str(path), "--json"])
    assert rc == 0, err
    s = json.loads(out)
    assert s["params"] == 3_157_200 and s["name"] == "yolov8n.yaml (scale n)"
    assert s["conventions"]["ultralytics"]["value"] == 8_857_548_800
    assert [p["name"] for p in s["parts"]] == ["backbone", "neck", "head"]
    for p in s["parts"]:
        assert set(p) >= {"name", "params", "macs", "conventions", "stages"}
    for key, c in s["conventions"].items():
        assert sum(p["conventions"][key] for p in s["parts"]) == c["value"], key
    assert sum(p["params"] for p in s["parts"]) == s["params"]
    assert s["outputs"] == [[64, 80, 80], [128, 40, 40], [256, 20, 20]]
    rc, out, err = _run(["summary", str(path), "--input-size", "320", "--json"])
    assert rc == 0 and json.loads(out)["conventions"]["ultralytics"]["value"] == 8_857_548_800 // 4
    rc, out, err = _run(["summary", str(path)])
    assert rc == 0 and "part neck" in out and "8.8575" in out


def test_cli_commands_read_the_design_and_refuse_what_it_lacks_in_one_line(tmp_path):
    path = tmp_path / "yolo11n.yaml"
    path.write_text(Y11)
    for argv, said in ((["summary", str(path), "--set", "width_multiple=0.5"], "error: width_multiple: the yolo_yaml "
                        "family does not read it"),
                       (["export", str(path), "--format", "darknet"], "has no Darknet cfg here")):
        rc, out, err = _run(argv)
        assert rc != 0 and err.count("\n") == 1 and said in err, (argv, err)
    dot = tmp_path / "yolo11n.dot"
    rc, out, err = _run(["diagram", str(path), "--format", "dot", "-o", str(dot)])
    assert rc == 0 and "cluster_part_neck" in dot.read_text() and "yolo_yaml" in dot.read_text(), err
    rc, out, err = _run(["layers", str(path), "--json"])
    assert rc == 0, err
    layers = json.loads(out)["layers"]
    assert sum(r["params"] for r in layers) == 2_624_080


def test_c2_sppf_and_c3_by_hand():
    """Modules no reference row covers alone, counted by hand from Ultralytics' definitions (Conv = conv + BN)."""
    text = _yaml({"n": (1.0, 1.0, 1024)}, [[-1, 1, "Conv", [64, 3, 2]], [-1, 1, "C2", [64]],
                                           [-1, 1, "SPPF", [64, 5]], [-1, 1, "C3", [64]]],
                 [[[1, 3], 1, "Concat", [1]], [-1, 1, "Detect", ["nc"]]])
    det = plan_detector(text, input_size=64)
    by = {s.name: s.params for s in det.plan.stages}

    def conv(c1, c2, k=1, g=1):
        return c2 * (c1 // g) * k * k + 2 * c2

    # C2, e 0.5: its bottleneck is two 3x3 convs of the half's width (Ultralytics' C2: k=((3, 3), (3, 3)), e=1.0)
    assert by["model.1"] == conv(64, 64) + conv(32, 32, 3) + conv(32, 32, 3) + conv(64, 64)
    ops = {op.path: op for op in det.plan.ops}
    assert [ops[f"model.1.m.0.conv{i}.conv"].kernel for i in (1, 2)] == [3, 3]
    assert by["model.2"] == conv(64, 32) + conv(128, 64)                                          # SPPF: c1 // 2
    assert by["model.3"] == 2 * conv(64, 32) + conv(32, 32) + conv(32, 32, 3) + conv(64, 64)      # C3
    c2, c3 = max(16, 128 // 4, 64), max(128, 80)
    head = (conv(128, c2, 3) + conv(c2, c2, 3) + c2 * 64 + 64 + conv(128, c3, 3) + conv(c3, c3, 3) + c3 * 80 + 80
            + 16)   # one scale: box branch, legacy class branch, and DFL's frozen 16 -> 1 conv
    assert by["model.5"] == head and det.strides == (2,)
    assert [r[0] for r in ops["model.4"].reads] == [ops["model.1.cv2.act"].path, ops["model.3.cv3.act"].path]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 22), st.integers(0, 3), st.one_of(st.integers(-3, 5000), st.text(max_size=6), st.none(),
                                                        st.booleans(), st.floats(allow_nan=True)))
def test_mutated_layers_give_config_errors_only(i, k, value):
    try:
        det = plan_detector(mutated_layer(V8, i, k, value), "n", input_size=64)
    except ConfigError:
        return
    # a layer no later one reads (a from that skips it) is built by Ultralytics too: the only problem allowed
    assert det.plan.params > 0 and all(p.endswith("is read by no later op") for p in graph_problems(det.plan))

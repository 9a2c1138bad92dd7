"""YOLOv5's own anchor-based detection YAMLs (explorer/io/yolov5_det.py) and YOLOv7's (explorer/io/yolov7_det.py)
planned whole: parameters exact against the repositories' own builds (tests/detection_reference.py REPOS), their
printed GFLOPs, the fused figures they publish, YOLOv7's ELAN blocks read back as stages, the dispatch between the
three planners, the refusals and the CLI.

The YAML texts are written here from the models' published layer structure (the repositories' files are GPL/AGPL
and are not copied): the same layers, from, repeats and args, no comments."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cspnet import ConfigError
from cspnet.plan import graph_problems
from detection_reference import REPOS, mutated_layer
from explorer.cli import main
from explorer.counts.conventions import REGISTRY
from explorer.design.files import detector_dialect, detector_from_file, is_detector
from explorer.io import yolov5_det, yolov7_det
from explorer.io.ultralytics_det import printed_gflops, summarize_detector
from explorer.io.yolo_texts import (  # the texts the presets hold too (the layers written as lists)
    UP,
    V5_ANCHORS,
    V5_HEAD,
    V7_BACKBONE,
    V7_TOP,
    conv,
    elan,
    mp_block,
    v7_head,
    yolov5,
    yolov7,
    yolov7_tiny,
)
from explorer.io.yolo_texts import yaml_text as _yaml
from explorer.paper.reproduce import fold_batchnorm

v5 = yolov5

# the v5.0-era yolov5s (tag v5.0): Focus stem, SPP before the last C3
V5_0_S = _yaml({"nc": 80, "depth_multiple": 0.33, "width_multiple": 0.50, "anchors": V5_ANCHORS}, [
    [-1, 1, "Focus", [64, 3]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]], [-1, 1, "Conv", [256, 3, 2]],
    [-1, 9, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]], [-1, 9, "C3", [512]], [-1, 1, "Conv", [1024, 3, 2]],
    [-1, 1, "SPP", [1024, [5, 9, 13]]], [-1, 3, "C3", [1024, False]]], V5_HEAD)

# models/hub/yolov5s6.yaml: P6, four output scales
V5_S6 = _yaml({"nc": 80, "depth_multiple": 0.33, "width_multiple": 0.50, "anchors": [
    [19, 27, 44, 40, 38, 94], [96, 68, 86, 152, 180, 137], [140, 301, 303, 264, 238, 542],
    [436, 615, 739, 380, 925, 792]]}, [
    [-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]], [-1, 1, "Conv", [256, 3, 2]],
    [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]], [-1, 9, "C3", [512]], [-1, 1, "Conv", [768, 3, 2]],
    [-1, 3, "C3", [768]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C3", [1024]], [-1, 1, "SPPF", [1024, 5]]], [
    [-1, 1, "Conv", [768, 1, 1]], UP, [[-1, 8], 1, "Concat", [1]], [-1, 3, "C3", [768, False]],
    [-1, 1, "Conv", [512, 1, 1]], UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
    [-1, 1, "Conv", [256, 1, 1]], UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C3", [256, False]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 20], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 16], 1, "Concat", [1]], [-1, 3, "C3", [768, False]],
    [-1, 1, "Conv", [768, 3, 2]], [[-1, 12], 1, "Concat", [1]], [-1, 3, "C3", [1024, False]],
    [[23, 26, 29, 32], 1, "Detect", ["nc", "anchors"]]])

V7 = yolov7()
V7_DEPLOY = yolov7("Detect")
TINY = yolov7_tiny()
TINY_DEPLOY = yolov7_tiny("Detect")

# yolov7x: wider ELANs (two more 3x3 Convs, every second one concatenated), the same neck shape
X7_BACKBONE = ([conv(40, 3), conv(80, 3, 2), conv(80, 3), conv(160, 3, 2)]
               + elan(64, 320, cat=(-1, -3, -5, -7, -8), n=6) + mp_block(160)
               + elan(128, 640, cat=(-1, -3, -5, -7, -8), n=6) + mp_block(320)
               + elan(256, 1280, cat=(-1, -3, -5, -7, -8), n=6) + mp_block(640)
               + elan(256, 1280, cat=(-1, -3, -5, -7, -8), n=6))
X7_HEAD = ([[-1, 1, "SPPCSPC", [640]], conv(320), UP, conv(320, f=43), [[-1, -2], 1, "Concat", [1]]]
           + elan(256, 320, cat=(-1, -3, -5, -7, -8), n=6)
           + [conv(160), UP, conv(160, f=28), [[-1, -2], 1, "Concat", [1]]]
           + elan(128, 160, cat=(-1, -3, -5, -7, -8), n=6) + mp_block(160, 73)
           + elan(256, 320, cat=(-1, -3, -5, -7, -8), n=6) + mp_block(320, 59)
           + elan(512, 640, cat=(-1, -3, -5, -7, -8), n=6)
           + [conv(320, 3, f=87), conv(640, 3, f=102), conv(1280, 3, f=117),
              [[118, 119, 120], 1, "IDetect", ["nc", "anchors"]]])
V7X = _yaml(V7_TOP, X7_BACKBONE, X7_HEAD)

TEXTS = {"yolov5n": v5("n"), "yolov5s": v5("s"), "yolov5m": v5("m"), "yolov5l": v5("l"), "yolov5x": v5("x"),
         "yolov5s-v5.0": V5_0_S, "yolov5s6": V5_S6, "yolov7": V7, "yolov7-deploy": V7_DEPLOY, "yolov7-tiny": TINY,
         "yolov7-tiny-deploy": TINY_DEPLOY, "yolov7x": V7X}
PLANNERS = {"yolov5": yolov5_det.plan_detector, "yolov7": yolov7_det.plan_detector}


def plan(key: str, input_size: int = 640):
    return PLANNERS["yolov7" if key.startswith("yolov7") else "yolov5"](TEXTS[key], input_size=input_size)


def fused(det) -> tuple:
    """(params, printed GFLOPs) of the fused model as the repositories fuse it: every Conv's BN folded
    (explorer.paper.reproduce.fold_batchnorm), and each RepConv's 1x1 branch merged into its 3x3 conv (the 1x1
    weights, their bias and their MACs go); IDetect's implicit vectors stay parameters (YOLOv7 folds their values
    into the conv but keeps the modules)."""
    probe = det.at(det.probe_stride).plan
    kinds, _ = fold_batchnorm(probe)
    _, params = fold_batchnorm(det.plan)
    ones = [o for o in det.plan.ops if ".rbr_1x1.0" in o.path]
    params -= sum(o.params + o.out_shape[0] for o in ones)
    macs = sum(o.macs for o in probe.ops if ".rbr_1x1.0" in o.path)
    flops = REGISTRY["yolov5"].on_totals(kinds) - 2 * macs
    return params, flops / 1e9 * (640 / det.probe_stride) ** 2


# --------------------------------------------------------------------------- exact against the repositories
@pytest.mark.parametrize("model", list(REPOS))
def test_parameters_and_printed_gflops_equal_the_repositories_builds(model):
    key, params, gflops, fused_params, fused_gflops = REPOS[model]
    det = plan(key)
    assert det.plan.params == params
    assert graph_problems(det.plan) == []                  # every layer read, every read an earlier layer's
    if gflops is not None:
        assert f"{printed_gflops(det):.1f}" == gflops
        assert summarize_detector(det)["printed_gflops"] == printed_gflops(det)
    if fused_params is not None:
        p, g = fused(det)
        assert p == fused_params
        assert fused_gflops is None or f"{g:.1f}" == fused_gflops


def test_yolov5s_to_the_flop_and_the_published_round_figures():
    det = plan("yolov5s")
    # model_info's float, from the yolov5 repository's own build (thop 2.2: 16622796800 FLOPs at 640)
    assert REGISTRY["yolov5"].on_totals(det.at(32).plan.by_kind) * 400 == 16_622_796_800
    assert REGISTRY["yolov5"].on_totals(det.plan.by_kind) == 16_622_796_800   # every layer scales with H x W
    # the Ultralytics convention counts the two nearest upsamplings (1 per output element): 2 x 1,228,800 more
    assert REGISTRY["ultralytics"].on_totals(det.plan.by_kind) - 16_622_796_800 == 2 * (256 * 40 * 40 + 128 * 80 * 80)
    assert round(det.plan.params / 1e6, 1) == 7.2          # README: 7.2 M, 16.5 B (thop < 0.1: below)
    assert det.outputs == [[128, 80, 80], [256, 40, 40], [512, 20, 20]] and det.strides == (8, 16, 32)
    assert det.plan.output_shape == (25200, 85, 1)         # YOLOv5's (batch, 25200, 85) at 640


def test_older_prints_are_thop_before_0_1_which_counted_batchnorm_2_and_a_conv_bias_1_per_element():
    # v6.1's tutorial prints 16.5 for the same yolov5s (unfused and fused), the v5.0-era yolov5s 17.1: thop < 0.1
    # counted BatchNorm 2 per element and a biased conv 1 more per output element; the registered conventions
    # (thop >= 0.1) give 16.6 / 17.2.  Not registered: shown here so the difference is explained, not hidden.
    def old_thop(det, fold):
        probe = det.at(32).plan
        ops = list(probe.ops)
        conv = sum(o.macs for o in ops if o.kind == "conv")
        bn = sum(o.out_shape[0] * o.out_shape[1] * o.out_shape[2] for o in ops if o.kind == "bn")
        biased = sum(o.out_shape[0] * o.out_shape[1] * o.out_shape[2] for o in ops
                     if o.kind == "conv" and o.params > o.macs // (o.out_shape[1] * o.out_shape[2]))
        extra = bn if fold else 2 * bn   # folded: every BN's conv gets a bias (1 per element), no BN left
        return 2 * (conv + extra + biased) * 400 / 1e9
    s, v50 = plan("yolov5s"), plan("yolov5s-v5.0")
    assert f"{old_thop(s, False):.1f}" == "16.5" and f"{old_thop(s, True):.1f}" == "16.5"
    assert f"{old_thop(v50, False):.1f}" == "17.1"
    assert f"{printed_gflops(v50):.1f}" == "17.2"


# --------------------------------------------------------------------------- YOLOv7's blocks as stages
def test_yolov7_elan_blocks_read_back_as_stages():
    det = plan("yolov7")
    rows = summarize_detector(det)["stages"]
    named = [(r["name"], r["module"], r["fusion"], r["part"]) for r in rows]
    assert named[:12] == [
        ("model.0", "Conv", "none", "backbone"), ("model.1", "Conv", "none", "backbone"),
        ("model.2", "Conv", "none", "backbone"), ("model.3", "Conv", "none", "backbone"),
        ("model.4-11", "ELAN", "fusion_first", "backbone"), ("model.12-16", "MPConv", "none", "backbone"),
        ("model.17-24", "ELAN", "fusion_first", "backbone"), ("model.25-29", "MPConv", "none", "backbone"),
        ("model.30-37", "ELAN", "fusion_first", "backbone"), ("model.38-42", "MPConv", "none", "backbone"),
        ("model.43-50", "ELAN", "fusion_first", "backbone"), ("model.51", "SPPCSPC", "none", "neck")]
    # the neck: ELAN-H (six-way concat) and the PAN's downsampling blocks with their lateral input
    assert [r["name"] for r in rows if r["module"] in ("ELAN", "MPConv") and r["part"] == "neck"] == [
        "model.56-63", "model.68-75", "model.76-80", "model.81-88", "model.89-93", "model.94-101"]
    assert rows[-1]["name"] == "model.105" and rows[-1]["part"] == "head" and rows[-1]["yaml_layers"] == [105, 105]
    assert rows[4]["yaml_layers"] == [4, 11] and len(rows) == 30 and det.layers == 106
    # a block's ops keep their own layer's path; the Concat reads the chain's outputs and both 1x1s
    elan = det.plan.stage("model.4-11")
    cat = next(o for o in elan.ops if o.path == "model.10")
    assert [r[0] for r in cat.reads] == ["model.9.act", "model.7.act", "model.5.act", "model.4.act"]
    assert {o.group[2] for o in elan.ops} == {f"model.{i}" for i in range(4, 12) if i != 10} | {"concat"}
    assert graph_problems(det.plan) == []


def test_yolov7_tiny_blocks_and_its_written_out_sppcspc():
    det = plan("yolov7-tiny")
    rows = {r["name"]: r for r in summarize_detector(det)["stages"]}
    assert rows["model.2-7"]["module"] == "ELAN" and rows["model.8"]["module"] == "MP"
    # the SPP with its CSP bypass (layer 29), pools inside: one stage, a full CSP stage
    assert rows["model.29-37"]["module"] == "SPPCSP" and rows["model.29-37"]["fusion"] == "csp"
    assert sum(r["params"] for r in rows.values()) == det.plan.params == 6_228_762
    assert det.activation == "leaky_relu_0.1"   # LeakyReLU(0.1), as the file says (PyTorch's default slope: 0.01)
    assert graph_problems(det.plan) == []


def test_parts_add_up_and_the_heads_are_the_detect_convs():
    for key in ("yolov5s", "yolov7"):
        s = summarize_detector(plan(key))
        assert [p["name"] for p in s["parts"]] == ["backbone", "neck", "head"]
        assert sum(p["params"] for p in s["parts"]) == s["params"]
        for k in REGISTRY:
            assert sum(p["conventions"][k] for p in s["parts"]) == s["conventions"][k]["value"]
    # YOLOv5s' head: three 1x1 convs with bias to 3 x 85; YOLOv7's adds ImplicitA (input channels) and ImplicitM
    head5 = summarize_detector(plan("yolov5s"))["parts"][2]
    assert head5["params"] == sum(c * 255 + 255 for c in (128, 256, 512))
    head7 = summarize_detector(plan("yolov7"))["parts"][2]
    assert head7["params"] == sum(c * 255 + 255 + c + 255 for c in (256, 512, 1024))


def test_replanned_at_another_size_by_its_own_planner():
    det = plan("yolov7-tiny")
    small = det.at(320)
    assert small.plan.params == det.plan.params and small.outputs[0] == [128, 40, 40]
    assert printed_gflops(det, 320) == pytest.approx(printed_gflops(det) / 4, rel=1e-12)
    assert plan("yolov5s").at(64).family == "yolov5 detector"


# --------------------------------------------------------------------------- which planner opens a file
def test_the_dialect_picks_the_planner():
    assert detector_dialect("yolov5s.yaml", TEXTS["yolov5s"]) == "yolov5"
    assert detector_dialect("x.yaml", TEXTS["yolov7"]) == "yolov7"
    assert detector_dialect("x.yaml", TEXTS["yolov7-deploy"]) == "yolov7"   # Detect + anchors, but RepConv, MP
    assert detector_dialect("x.yaml", TEXTS["yolov7-tiny-deploy"]) == "yolov7"
    assert detector_dialect("yolov8n.yaml", "nc: 80\nbackbone:\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n"
                            "  - [[0], 1, Detect, [nc]]\n") == "ultralytics"
    assert not is_detector("x.yaml", "nc: 80\nbackbone: [[-1, 1, Conv, [64, 3, 2]]]\nhead: [[-1, 1, Classify, "
                           "[nc]]]\n")
    det = detector_from_file("yolov5s.yaml", TEXTS["yolov5s"].encode())
    assert det.name == "yolov5s.yaml" and det.family == "yolov5 detector" and det.plan.params == 7_235_389
    assert detector_from_file("y.yaml", TEXTS["yolov7"]).family == "yolov7 detector"


# --------------------------------------------------------------------------- refusals
def _v7_with(i: int, row) -> str:
    rows = V7_BACKBONE + v7_head("IDetect")
    rows = rows[:i] + [row] + rows[i + 1:]
    return _yaml(V7_TOP, rows[:len(V7_BACKBONE)], rows[len(V7_BACKBONE):])


@pytest.mark.parametrize("text, message", [
    (_v7_with(105, [[102, 103, 104], 1, "IAuxDetect", ["nc", "anchors"]]),
     r"layer 105 \(head\[54\], IAuxDetect\): IAuxDetect is not a module the detection planner has"),
    (_v7_with(12, [-1, 1, "DownC", [256]]), r"layer 12 \(backbone\[12\], DownC\): DownC is not a module"),
    (_v7_with(0, [-1, 1, "Conv", [32, 3, 1, None, 1, "os.system(1)"]]),
     r"layer 0 \(backbone\[0\], Conv\): the activation \(args\[5\]\).*never evaluated"),
    (_v7_with(102, [75, 1, "RepConv", [256, 1, 1]]), r"layer 102 \(head\[51\], RepConv\): kernel 1.*3x3"),
    (_v7_with(105, [[102, 103], 1, "IDetect", ["nc", "anchors"]]), r"layer 105.*3 rows of anchors for 2 input"),
    (TEXTS["yolov5s"].replace("depth_multiple: 0.33\n", ""), r"key 'depth_multiple': None"),
    (TEXTS["yolov5s"].replace("nc: 80", "nc: 80\nscales: {}"), r"key 'scales' is not read by YOLOv5's parse_model"),
    (TEXTS["yolov5s"].replace("[10, 13, 16, 30, 33, 23]", "[10, 13, 16]"), r"key 'anchors'.*same number"),
    (TEXTS["yolov5s"].replace("C3, [128]", "BottleneckCSP, [128]"),
     r"layer 2 \(backbone\[2\], BottleneckCSP\): BottleneckCSP is not a module.*supported: Conv, C3, SPPF"),
    (TEXTS["yolov5s"].replace("Detect, [nc, anchors]", "Detect, [nc, anchors]]\n  - [-1, 1, Conv, [3, 1, 1]"),
     r"layer 25 \(head\[15\], Conv\): a layer after Detect"),
    (_yaml({"nc": 80, "depth_multiple": 1, "width_multiple": 1, "anchors": 3},
           [[-1, 1, "Conv", [16, 3, 1]]] * 70, [[[-1], 1, "Detect", ["nc", "anchors"]]]), r"71 layers.*at most 64"),
], ids=["IAuxDetect", "DownC", "act-text", "RepConv-1x1", "anchor-rows", "no-depth", "scales", "anchors-odd",
        "BottleneckCSP", "after-Detect", "too-many-layers"])
def test_refused_by_name_with_the_layer(text, message):
    with pytest.raises(ConfigError, match=message):
        PLANNERS["yolov7" if "IDetect" in text or "RepConv" in text or "Aux" in text else "yolov5"](text)


def test_dead_layer_outputs_are_named_in_both_repositories():
    """A layer nobody reads (YOLOv5: a Conv before Detect; YOLOv7: an ELAN concat that leaves out its first
    conv) is planned and counted, and the detector's warnings name it as a dead layer output."""
    detect = "  - [[17, 20, 23], 1, Detect, [nc, anchors]]"
    v5s = yolov5_det.plan_detector(TEXTS["yolov5s"].replace(detect, "  - [-1, 1, Conv, [64, 1, 1]]\n" + detect))
    assert v5s.plan.params == plan("yolov5s").plan.params + 32 * 512 + 2 * 32   # Conv(512, 32, 1) at width 0.5
    assert [w.split(" is ")[0] for w in v5s.warnings] == ["dead layer outputs: layer 24 (Conv)"]
    v7 = yolov7_det.plan_detector(TEXTS["yolov7"].replace("[[-1, -3, -5, -6], 1, Concat", "[[-1, -3, -5], 1, Concat",
                                                          1))
    assert [w.split(" is ")[0] for w in v7.warnings] == ["dead layer outputs: layer 4 (Conv)"]
    assert plan("yolov5s").warnings == plan("yolov7").warnings == []

def test_focus_needs_an_even_size_and_anchors_may_be_a_count():
    with pytest.raises(ConfigError, match=r"layer 0 \(backbone\[0\], Focus\): its input is 33x33"):
        yolov5_det.plan_detector(V5_0_S, input_size=33)
    det = yolov5_det.plan_detector(TEXTS["yolov5s"].replace("[nc, anchors]", "[nc, 3]"))
    assert det.plan.params == 7_235_389                         # 3 anchors per scale: the same head


# --------------------------------------------------------------------------- the CLI
def _cli(capsys, *argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def test_cli_summary_and_layers_of_both_repositories(tmp_path, capsys):
    p5, p7 = tmp_path / "yolov5s.yaml", tmp_path / "yolov7-tiny.yaml"
    p5.write_text(TEXTS["yolov5s"])
    p7.write_text(TEXTS["yolov7-tiny"])
    rc, out, _ = _cli(capsys, "summary", str(p5), "--json")
    s = json.loads(out)
    assert rc == 0 and s["params"] == 7_235_389 and s["family"] == "yolov5 detector"
    assert f"{s['printed_gflops']:.1f}" == "16.6" and s["printed_convention"] == "yolov5"
    assert "ultralytics_printed_gflops" not in s and s["conventions"]["yolov5"]["value"] == 16_622_796_800
    rc, out, _ = _cli(capsys, "summary", str(p7))
    assert rc == 0 and "YOLOv7 detector, 78 layers" in out and "model.29-37" in out and "SPPCSP" in out
    rc, out, _ = _cli(capsys, "layers", str(p7), "--stage", "model.2-7", "--json")
    rows = json.loads(out)["layers"]
    assert rc == 0 and rows[0]["path"] == "model.2.conv" and rows[-1]["path"] == "model.7.act"


# --------------------------------------------------------------------------- mutations: ConfigError only
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["yolov5s", "yolov7-tiny"]), st.integers(0, 77), st.integers(0, 3),
       st.one_of(st.integers(-3, 5000), st.text(max_size=6), st.none(), st.booleans(), st.floats(allow_nan=True),
                 st.lists(st.integers(-2, 20), max_size=4)))
def test_mutated_layers_give_config_errors_only(key, i, k, value):
    try:
        det = PLANNERS[key[:6]](mutated_layer(TEXTS[key], i, k, value), input_size=64)
    except ConfigError:
        return
    assert det.plan.params > 0 and all(p.endswith("is read by no later op") for p in graph_problems(det.plan))

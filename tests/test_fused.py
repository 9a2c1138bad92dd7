"""Fused counts (explorer/counts/fuse.py): each BatchNorm that directly follows a conv folded into it, as
Ultralytics' model.fuse().  Exact against Ultralytics' fused figures (yolov8n 3,151,904 parameters and 8.7 GFLOPs,
yolo11n 2,616,248 and 6.5), against the hand-written models folded with torch (parameters and outputs), the fused
plan a valid graph, every convention counting it, and the CLI's ``--fused``."""
from __future__ import annotations

import csv
import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout

import pytest
import torch
from torch.nn.utils.fusion import fuse_conv_bn_weights

from cfg_samples import TINY_CFG
from cspnet import count_params, get_preset, plan_network
from cspnet.graph_model import GraphModel
from cspnet.plan import NetPlan, PlanBuilder, graph_problems
from detection_reference import DETECTION, DETECTION_FUSED
from explorer.cli import main
from explorer.counts.conventions import REGISTRY
from explorer.counts.fuse import foldable, fuse_detector, fuse_plan
from explorer.io.ultralytics_det import plan_detector, printed_gflops, summarize_detector
from oracle import build_oracle
from plan_check import perturb_batchnorm
from test_ultralytics_detect import SHARED_CSV, YAMLS

# a BatchNorm after a concat (BottleneckCSP), pre-activation BatchNorms (DenseNet, PeleeNet's dense layers),
# projection shortcuts read by an add (ResNet), attention's positional conv (YOLO11), SE gates, C2f
PRESETS = ["cspresnet50", "resnet50", "yolov4_csp_backbone", "cspdensenet121", "csppeleenet", "yolo11n_cls",
           "yolov8n_cls", "cs3sedarknet_l", "cspdarknet53"]


# --------------------------------------------------------------------------- exact against Ultralytics
@pytest.mark.parametrize("model", list(DETECTION_FUSED))
def test_fused_detectors_equal_ultralytics_fused_figures(model):
    which, scale, params, gflops = DETECTION_FUSED[model]
    det = plan_detector(YAMLS[which], scale)
    fused = fuse_detector(det)
    assert fused.plan.params == params
    assert f"{printed_gflops(fused):.1f}" == gflops
    # the switch off: Ultralytics' unfused figures, unchanged
    assert det.plan.params == DETECTION[model][2] and f"{printed_gflops(det):.1f}" == DETECTION[model][3]
    # Ultralytics' fused model keeps no BatchNorm and gives every conv a bias but DFL's frozen 16 -> 1 conv
    convs = [op for op in fused.plan.ops if op.kind == "conv"]
    assert not [op for op in fused.plan.ops if op.kind == "bn"]
    no_bias = [op.path for op in convs if op.params == op.out_shape[0] * op.in_shape[0] // op.groups * op.kernel ** 2]
    assert no_bias == ["model.22.dfl.conv" if which == "v8" else "model.23.dfl.conv"]
    # the summary of the fused detector: its parts add up, at the probe size too
    s = summarize_detector(fused)
    assert s["params"] == params and f"{s['ultralytics_printed_gflops']:.1f}" == gflops
    assert sum(p["params"] for p in s["parts"]) == params
    assert fuse_detector(fused) is fused and fused.at(fused.input_size) is fused
    assert fused.at(320).plan.params == params and not [op for op in fused.at(320).plan.ops if op.kind == "bn"]


def test_fused_constants_are_the_shared_csvs():
    with open(SHARED_CSV, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["fused_or_not"] == "fused" and r["input_size"] == "640"]
    for model, (_, _, params, gflops) in DETECTION_FUSED.items():
        mine = {(int(r["params"]), r["gflops"]) for r in rows if r["model"].startswith(model + " (")}
        assert mine == {(params, gflops)}, model


# --------------------------------------------------------------------------- against torch, independently
def _folds_seen_by_hooks(model, x) -> dict:
    """BatchNorm module name -> conv module name, for every BatchNorm whose input *is* a conv's output tensor
    in the hand-written model's forward pass (the outputs are kept alive, so that no id is reused)."""
    conv_out, folds, handles = {}, {}, []
    names = {m: n for n, m in model.named_modules()}

    def seen(mod, i):
        hit = conv_out.get(id(i[0]))
        if hit is not None and hit[1] is i[0]:
            folds[names[mod]] = hit[0]

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            handles.append(m.register_forward_hook(lambda mod, i, o: conv_out.__setitem__(id(o), (names[mod], o))))
        elif isinstance(m, torch.nn.BatchNorm2d):
            handles.append(m.register_forward_pre_hook(seen))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return folds


@pytest.mark.parametrize("name", PRESETS)
def test_fused_plan_is_the_hand_written_model_folded_with_torch(name):
    cfg = get_preset(name, input_size=64)
    torch.manual_seed(0)
    ref = build_oracle(cfg)
    perturb_batchnorm(ref)   # (a wrong wire or fold shows only away from BatchNorm's defaults)
    x = torch.randn(2, 3, 64, 64)
    folds = _folds_seen_by_hooks(ref, x)
    plan = plan_network(cfg)
    assert {bn: conv.path for bn, conv in foldable(plan).items()} == folds
    mods = dict(ref.named_modules())
    # parameters: each folded BatchNorm's 2 x C go, its conv gains a bias of C unless it has one
    want = count_params(ref) - sum(2 * mods[bn].num_features - (mods[bn].num_features if mods[c].bias is None else 0)
                                   for bn, c in folds.items())
    fused = fuse_plan(plan)
    assert fused.params == want < plan.params
    # outputs: the fused graph, with the folded weights torch computes, gives the hand-written model's
    model = GraphModel(fused, act=cfg.activation).eval()
    assert count_params(model) == fused.params
    state = dict(ref.state_dict())
    for bn, c in folds.items():
        conv, norm = mods[c], mods[bn]
        w, b = fuse_conv_bn_weights(conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps,
                                    norm.weight, norm.bias)
        state[f"{c}.weight"], state[f"{c}.bias"] = w.detach(), b.detach()
        for k in [k for k in state if k.startswith(bn + ".")]:
            del state[k]
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- the fused plan
@pytest.mark.parametrize("name", PRESETS + ["yolov7_backbone", "cspnext_tiny", "peleenet", "densenet121"])
def test_fused_plans_are_valid_graphs_counted_by_every_convention(name):
    plan = plan_network(get_preset(name))
    folds = foldable(plan)
    fused = fuse_plan(plan)
    assert graph_problems(fused) == []
    removed = {op.path for op in plan.ops} - {op.path for op in fused.ops}
    assert removed == set(folds) and folds
    assert not any(src in removed for op in fused.ops for src, _, _ in op.reads)
    assert not any(t.src in removed for sp in fused.stages for t in sp.taps.values())
    assert [sp.name for sp in fused.stages] == [sp.name for sp in plan.stages]
    bns = [op for op in plan.ops if op.path in folds]
    for key, conv in REGISTRY.items():   # each convention: the folded BatchNorms' terms go, nothing else
        assert conv.on_totals(fused.by_kind) == conv.on_totals(plan.by_kind) - sum(conv.per_op(op) for op in bns), key
        assert conv.on_totals(fused.by_kind) == sum(conv.per_op(op) for op in fused.ops), key
    assert fused.macs == plan.macs
    assert plan_network(get_preset(name)) is plan and len(list(plan.ops)) == len(list(fused.ops)) + len(folds)


@pytest.mark.parametrize("which", list(YAMLS))
def test_fused_detector_plans_are_valid_graphs(which):
    plan = plan_detector(YAMLS[which], "s").plan
    fused = fuse_plan(plan)
    assert graph_problems(fused) == [] and len(foldable(plan)) == sum(op.kind == "bn" for op in plan.ops)
    assert fused.params == plan.params - sum(op.out_shape[0] for op in plan.ops if op.kind == "bn")


def test_only_a_batchnorm_reading_a_whole_conv_that_nothing_else_reads_folds():
    b = PlanBuilder("stem", "stem")
    x = b.tap("input", (3, 8, 8))
    c1 = b.conv("c1", x, 4, 3, bias=True)
    y1 = b.bn("bn1", c1)             # folds into c1, which has a bias already: -2 x 4
    c2 = b.conv("c2", y1, 4, 1)
    y2 = b.bn("bn2", c2)
    z = b.add("add", y2, c2)         # c2 is also read by the add: bn2 stays
    c3 = b.conv("c3", z, 8, 1)
    y3 = b.bn("bn3", c3.part(0, 4))  # a slice of c3: stays
    y4 = b.bn("bn4", b.cat("cat", [y3, z]))   # after a concat: stays
    c5 = b.conv("c5", y4, 4, 1)
    b.tap("mid", c5)
    y5 = b.bn("bn5", c5)             # folds: -2 x 4 + 4; the tap at bn5 reads c5
    b.tap("output", b.act("act", y5))
    plan = NetPlan(input_shape=(3, 8, 8), stages=[b.stage])
    assert {bn: conv.path for bn, conv in foldable(plan).items()} == {"stem.bn1": "stem.c1", "stem.bn5": "stem.c5"}
    fused = fuse_plan(plan)
    assert fused.params == plan.params - 8 - 4
    assert fused.stages[0].taps["output"].src == "stem.act"
    act = next(op for op in fused.ops if op.path == "stem.act")
    assert act.reads == (("stem.c5", 0, 4),)
    assert next(op for op in fused.ops if op.path == "stem.c2").reads == (("stem.c1", 0, 4),)
    assert list(plan.ops)[1].path == "stem.bn1"   # the plan itself is not changed


# --------------------------------------------------------------------------- the CLI
def _run(argv) -> tuple:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def test_cli_summary_fused_of_a_preset():
    fused = fuse_plan(plan_network(get_preset("cspresnet50")))
    rc, out, err = _run(["summary", "cspresnet50", "--fused", "--json"])
    assert rc == 0, err
    s = json.loads(out)
    assert s["fused"] is True and s["params"] == fused.params == 21_596_008
    for key, c in s["conventions"].items():
        assert c["value"] == REGISTRY[key].on_totals(fused.by_kind), key
    base = fuse_plan(plan_network(get_preset("resnet50", input_size=256)))
    assert s["base"]["deltas"]["params"]["base"] == base.params
    rc, out, err = _run(["summary", "cspresnet50", "--json"])
    assert rc == 0 and json.loads(out)["fused"] is False and json.loads(out)["params"] == 21_616_168
    rc, out, err = _run(["summary", "cspresnet50", "--fused"])
    assert rc == 0 and "Fused (Conv+BN folded)" in out and "params 21,596,008" in out


def test_cli_summary_and_layers_fused_of_a_detection_yaml(tmp_path):
    path = tmp_path / "yolov8n.yaml"
    path.write_text(YAMLS["v8"])
    rc, out, err = _run(["summary", str(path), "--fused", "--json"])
    assert rc == 0, err
    s = json.loads(out)
    assert s["fused"] is True and s["params"] == 3_151_904 and f"{s['ultralytics_printed_gflops']:.1f}" == "8.7"
    rc, out, err = _run(["summary", str(path), "--fused"])
    assert rc == 0 and "params 3,151,904" in out and "for the fused model) 8.7464" in out
    rc, out, err = _run(["layers", str(path), "--fused", "--json"])
    assert rc == 0, err
    layers = json.loads(out)
    assert layers["fused"] is True and not [r for r in layers["layers"] if r["kind"] == "bn"]
    assert sum(r["params"] for r in layers["layers"]) == 3_151_904
    rc, out, err = _run(["layers", str(path), "--json"])
    assert rc == 0 and sum(r["params"] for r in json.loads(out)["layers"]) == 3_157_200


def test_cli_fused_refusals_are_one_line(tmp_path):
    path = tmp_path / "tiny.cfg"
    path.write_bytes(TINY_CFG)
    for argv in (["summary", str(path), "--fused"], ["summary", "cspresnet50", "--fused", "--blocks", "stages.0"]):
        rc, out, err = _run(argv)
        assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and "--fused" in err, argv
    rc, out, err = _run(["layers", str(path), "--fused", "--json"])   # the cfg as a design: its fused layers
    assert rc == 0, err
    assert not [r for r in json.loads(out)["layers"] if r["kind"] == "bn"]


# --------------------------------------------------------------------------- the app
def test_design_page_fused_switch_counts_the_fused_network():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    at = AppTest.from_file(os.path.join(os.path.dirname(__file__), "..", "app.py"), default_timeout=60)
    at.query_params["preset"] = "cspresnet50"
    at.run()
    assert not at.exception and not at.error
    stage_df = next(df.value for df in at.dataframe if "stage" in df.value.columns)
    assert int(stage_df["params"].sum()) == 21_616_168
    assert at.toggle(key="fused_counts").value is False
    assert not [c for c in at.caption if c.value.startswith("Fused (Conv+BN folded)")]
    at.toggle(key="fused_counts").set_value(True).run()
    assert not at.exception and not at.error
    fused = fuse_plan(plan_network(get_preset("cspresnet50")))
    stage_df = next(df.value for df in at.dataframe if "stage" in df.value.columns)
    assert int(stage_df["params"].sum()) == fused.params == 21_596_008
    assert [c for c in at.caption if c.value.startswith("Fused (Conv+BN folded)")]
    at.radio(key="convention").set_value("fvcore").run()
    stage_df = next(df.value for df in at.dataframe if "stage" in df.value.columns)
    assert int(stage_df[REGISTRY["fvcore"].label].sum()) == REGISTRY["fvcore"].on_totals(fused.by_kind)
    caption = next(x.value for x in at.caption if x.value.startswith(f"**{REGISTRY['fvcore'].label}**"))
    assert f"{REGISTRY['fvcore'].on_totals(fused.by_kind):,} MAC" in caption
    assert "preset" in at.query_params and "fused_counts" not in at.query_params   # a view setting, not the design

"""YOLOv10's and YOLO12's detection YAMLs planned whole (explorer/io/ultralytics_det.py): SCDown, C2fCIB (CIB,
RepVGGDW), PSA, v10Detect (one-to-many + one-to-one heads) and A2C2f (area attention).  Parameters and get_flops
exact against Ultralytics 8.4.190's own build (tests/detection_reference.py: V10_V12), the generated model's
output, YOLO12's area attention against a hand-written twin, and the refusals.

The YAML texts are written here from the models' published layer structure (as tests/test_ultralytics_detect.py
writes v8 and 11's), not copied: the same layers, from, repeats and args."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cspnet import ConfigError, build_model, plan_network
from cspnet.families._blocks import plan_area_block
from cspnet.graph_model import GraphModel
from cspnet.plan import INPUT, NetPlan, PlanBuilder, Tensor, graph_problems
from detection_reference import V10_V12, mutated_layer
from explorer.counts.conventions import REGISTRY
from explorer.io.ultralytics_det import is_detection_yaml, plan_detector, printed_gflops
from explorer.io.yolo_family import design_from_yaml
from test_ultralytics_detect import UP, _yaml

V10_SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768), "b": (0.67, 1.00, 512),
              "l": (1.00, 1.00, 512), "x": (1.00, 1.25, 512)}


def v10(scale: str) -> str:
    """yolov10{scale}.yaml: one file per scale; C2fCIB (shortcut; lk at n and s's P5) replaces C2f in more of
    the stages as the scale grows."""
    cib = {"n": (), "s": (8,), "m": (8, 19, 22), "b": (8, 13, 19, 22), "l": (8, 13, 19, 22),
           "x": (6, 8, 13, 19, 22)}[scale]
    lk = scale in "ns"

    def c2f(i, c, shortcut=False):
        if i in cib:
            return [-1, 3 if i != 6 else 6, "C2fCIB", [c, True] + ([True] if lk and i in (8, 22) else [])]
        if i == 22:
            return [-1, 3, "C2fCIB", [c, True, True]]
        return [-1, 3 if i != 6 else 6, "C2f", [c, True] if shortcut else [c]]

    return _yaml({scale: V10_SCALES[scale]}, [
        [-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C2f", [128, True]],
        [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C2f", [256, True]], [-1, 1, "SCDown", [512, 3, 2]],
        c2f(6, 512, True), [-1, 1, "SCDown", [1024, 3, 2]], c2f(8, 1024, True), [-1, 1, "SPPF", [1024, 5]],
        [-1, 1, "PSA", [1024]]], [
        UP, [[-1, 6], 1, "Concat", [1]], c2f(13, 512),
        UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C2f", [256]],
        [-1, 1, "Conv", [256, 3, 2]], [[-1, 13], 1, "Concat", [1]], c2f(19, 512),
        [-1, 1, "SCDown", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], c2f(22, 1024),
        [[16, 19, 22], 1, "v10Detect", ["nc"]]])


Y12 = _yaml({"n": (0.50, 0.25, 1024), "s": (0.50, 0.50, 1024), "m": (0.50, 1.00, 512), "l": (1.00, 1.00, 512),
             "x": (1.00, 1.50, 512)}, [
    [-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 2, "C3k2", [256, False, 0.25]],
    [-1, 1, "Conv", [256, 3, 2]], [-1, 2, "C3k2", [512, False, 0.25]], [-1, 1, "Conv", [512, 3, 2]],
    [-1, 4, "A2C2f", [512, True, 4]], [-1, 1, "Conv", [1024, 3, 2]], [-1, 4, "A2C2f", [1024, True, 1]]], [
    UP, [[-1, 6], 1, "Concat", [1]], [-1, 2, "A2C2f", [512, False, -1]],
    UP, [[-1, 4], 1, "Concat", [1]], [-1, 2, "A2C2f", [256, False, -1]],
    [-1, 1, "Conv", [256, 3, 2]], [[-1, 11], 1, "Concat", [1]], [-1, 2, "A2C2f", [512, False, -1]],
    [-1, 1, "Conv", [512, 3, 2]], [[-1, 8], 1, "Concat", [1]], [-1, 2, "C3k2", [1024, True]],
    [[14, 17, 20], 1, "Detect", ["nc"]]])


def _text(model: str) -> str:
    return v10(V10_V12[model][0]) if model.startswith("yolov10") else Y12


@pytest.mark.parametrize("model", ["yolov10n", "yolov10s", "yolov10x", "yolo12n", "yolo12l"])
def test_parameters_and_get_flops_equal_ultralytics(model):
    """n and larger scales: lk CIB (n, s), C2fCIB without lk in backbone and neck (x), A2C2f with the l/x
    residual gamma, MLP 1.2 and four blocks (l).  get_flops here is the yolov5 table at 640 (thop 2.2.3 counts
    nearest upsampling 0); the ultralytics convention adds 1 FLOP x 2 per upsampled output element."""
    scale, params, get_flops = V10_V12[model]
    det = plan_detector(_text(model), scale)
    assert det.plan.params == params
    by_kind = det.plan.by_kind
    assert REGISTRY["yolov5"].on_totals(by_kind) == round(get_flops * 1e9)
    upsampled = by_kind["upsample"][4]   # (layers, params, macs, in, out, window)
    assert REGISTRY["ultralytics"].on_totals(by_kind) - REGISTRY["yolov5"].on_totals(by_kind) == 2 * upsampled > 0
    assert graph_problems(det.plan) == [] and det.warnings == []
    assert det.modules[-1] == ("v10Detect" if model.startswith("yolov10") else "Detect")


def test_v10detect_has_both_heads_and_outputs_the_one_to_one_branch():
    det = plan_detector(v10("n"), "n")
    head = det.plan.stages[-1]
    paths = [op.path for op in head.ops]
    assert "model.23.one2one_cv3.2.2" in paths and "model.23.cv3.2.2" in paths
    marked = [op.path for op in head.ops if op.attrs.get("output") == "one2many"]
    assert marked == [f"model.23.cat.{j}" for j in range(3)]
    # DFL and the sigmoid read the one-to-one maps: the output is that branch's
    decode = next(op for op in head.ops if op.path == "model.23.cat")
    assert [src for src, _, _ in decode.reads] == [f"model.23.one2one_cat.{j}" for j in range(3)]
    # the two branches have the same layers: half the head's parameters each (but DFL's 16 frozen weights)
    one2one = sum(op.params for op in head.ops if ".one2one_" in op.path)
    assert 2 * one2one + 16 == head.total("params")


@pytest.mark.parametrize("text, name", [(v10("n"), "yolov10n.yaml"), (Y12, "yolo12n.yaml")],
                         ids=["yolov10n", "yolo12n"])
def test_generated_model_runs_with_ultralytics_parameter_names(text, name):
    assert is_detection_yaml(text)
    cfg = design_from_yaml(text, name, input_size=64)
    model = build_model(cfg).eval()
    names = {n for n, _ in model.named_parameters()}
    assert sum(p.numel() for p in model.parameters()) == V10_V12[name[:-5]][1]
    want = ("model.10.attn.qkv.conv.weight", "model.22.m.0.cv1.2.conv1.conv.weight",
            "model.23.one2one_cv2.0.0.conv.weight") if name.startswith("yolov10") else (
        "model.6.m.0.1.attn.pe.conv.weight", "model.8.m.0.0.mlp.1.bn.weight", "model.11.m.0.cv3.conv.weight")
    assert all(any(n.endswith(w) for n in names) for w in want), sorted(names)[:5]
    with torch.no_grad():
        y = model(torch.randn(2, 3, 64, 64))
    assert tuple(y.shape) == (2, 84, 8 * 8 + 4 * 4 + 2 * 2) and torch.isfinite(y).all()
    assert ((y[:, 4:] >= 0) & (y[:, 4:] <= 1)).all()   # class sigmoids


def test_area_attention_equals_a_hand_written_twin():
    """One ABlock (64 channels: 2 heads of 32; 2 areas = the top and bottom halves of a 4 x 6 map) run from its
    plan against attention written out per area and head from the same weights."""
    torch.manual_seed(0)
    b = PlanBuilder("s", "stage", prefix="")
    plan_area_block(b, "blk", Tensor((64, 4, 6), INPUT), heads=2, area=2, mlp_ratio=1.5)
    model = GraphModel(NetPlan(input_shape=(64, 4, 6), stages=[b.stage]), act="silu").eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):   # no BatchNorm the identity
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 64, 4, 6)

    def unit(name, t, act=False):
        t = model.get_submodule(f"{name}.bn")(model.get_submodule(f"{name}.conv")(t))
        return torch.nn.functional.silu(t) if act else t

    with torch.no_grad():
        qkv = unit("blk.attn.qkv", x).flatten(2)[0]          # (3 x 64, 24), per head: q, k, v of 32
        out, v_all = torch.zeros(64, 24), torch.zeros(64, 24)
        for h in range(2):
            q, k, v = (qkv[h * 96 + 32 * j: h * 96 + 32 * (j + 1)] for j in range(3))
            v_all[32 * h: 32 * (h + 1)] = v
            for a in range(2):                                 # positions 0-11: rows 0-1; 12-23: rows 2-3
                at = slice(12 * a, 12 * (a + 1))
                attn = ((q[:, at].T @ k[:, at]) / 32 ** 0.5).softmax(-1)
                out[32 * h: 32 * (h + 1), at] = v[:, at] @ attn.T
        y = out.view(1, 64, 4, 6) + unit("blk.attn.pe", v_all.view(1, 64, 4, 6))
        t = x + unit("blk.attn.proj", y)
        want = t + unit("blk.mlp.1", unit("blk.mlp.0", t, act=True))
        got = model(x)
    assert model.get_submodule("blk.mlp.0.conv").out_channels == 96
    assert torch.allclose(got, want, atol=1e-5)
    # and the areas matter: global attention (area 1) differs
    b1 = PlanBuilder("s", "stage", prefix="")
    plan_area_block(b1, "blk", Tensor((64, 4, 6), INPUT), heads=2, area=1, mlp_ratio=1.5)
    global_model = GraphModel(NetPlan(input_shape=(64, 4, 6), stages=[b1.stage]), act="silu").eval()
    global_model.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(global_model(x), got, atol=1e-3)
    qk = [op for op in b.stage.ops if op.path == "blk.attn.qk"][0]
    assert qk.macs * 2 == [op for op in b1.stage.ops if op.path == "blk.attn.qk"][0].macs   # 1 / area


@pytest.mark.parametrize("old, new, size, expected", [
    ("[-1, 4, A2C2f, [512, True, 4]]", "[-1, 4, A2C2f, [400, True, 4]]", 640,
     r"layer 6 \(backbone\[6\], A2C2f\): hidden channels c2 x e = 200; A2C2f needs a positive multiple of 32"),
    ("[-1, 4, A2C2f, [512, True, 4]]", "[-1, 4, A2C2f, [512, True, 3]]", 640,
     r"layer 6 \(backbone\[6\], A2C2f\): its input is 40x40 at input 640: 1600 positions do not split into 3"),
    ("[-1, 4, A2C2f, [512, True, 4]]", "[-1, 4, A2C2f, [512, True, 4, False, 2.0, 0.5, 1, True]]", 640,
     r"layer 6 \(backbone\[6\], A2C2f\): 8 args \(\+ True, 1.2 at scale l\); A2C2f takes at most 8"),
    ("[-1, 1, Conv, [512, 3, 2]]", "[-1, 1, SCDown, [512, 3]]", 640,
     r"layer 5 \(backbone\[5\], SCDown\): 2 args; expected 3: \[c2, k, s\]"),
], ids=["a2c2f-width", "a2c2f-area", "a2c2f-args", "scdown-args"])
def test_bad_arguments_are_refused_naming_the_layer(old, new, size, expected):
    text = Y12.replace(old, new, 1)
    assert text != Y12
    with pytest.raises(ConfigError, match=expected):
        plan_detector(text, "l", input_size=size)


def test_psa_refusals():
    text = v10("n")
    with pytest.raises(ConfigError, match=r"layer 10 \(backbone\[10\], PSA\): its input has 256 channels and its "
                                          r"output 128; PSA needs them equal"):
        plan_detector(text.replace("PSA, [1024]", "PSA, [512]"), "n")
    with pytest.raises(ConfigError, match=r"layer 10 \(backbone\[10\], PSA\): repeats 2; a PSA is written once"):
        plan_detector(text.replace("[-1, 1, PSA", "[-1, 2, PSA"), "n")


def test_printed_gflops_falls_back_to_the_full_image_where_the_probe_does_not_run():
    """8 areas do not divide the 32 px probe's 2 x 2 positions at P4 (get_flops' probe fails and it profiles
    the full image); at 640 they divide 40 x 40."""
    det = plan_detector(Y12.replace("[-1, 4, A2C2f, [512, True, 4]]", "[-1, 4, A2C2f, [512, True, 8]]"), "n")
    assert printed_gflops(det) == REGISTRY["ultralytics"].on_totals(det.plan.by_kind) / 1e9
    with pytest.raises(ConfigError, match="4 positions do not split into 8 equal areas"):
        det.at(det.probe_stride)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["v10", "12"]), st.integers(0, 23), st.integers(0, 3),
       st.one_of(st.integers(-3, 5000), st.text(max_size=6), st.none(), st.booleans(), st.floats(allow_nan=True)))
def test_mutated_v10_and_12_layers_give_config_errors_only(which, i, k, value):
    try:
        det = plan_detector(mutated_layer(v10("n") if which == "v10" else Y12, i, k, value), "n", input_size=64)
    except ConfigError:
        return
    assert det.plan.params > 0 and all(p.endswith("is read by no later op") for p in graph_problems(det.plan))


@pytest.mark.parametrize("block", ["cib", "cib_lk"])
def test_the_cib_block_type_computes_what_its_hand_written_module_computes(block):
    """C2fCIB's blocks as a block type (a C2fCIB's plain twin repeats them): the plan's generated model and the
    tests' hand-written CIB (oracle/_blocks.py) hold the same parameters, in order, and compute the same."""
    from cspnet.families._blocks import BLOCK_TYPES
    from oracle._blocks import ORACLE_BLOCKS

    b = PlanBuilder("s", "stage")
    x = b.tap("input", Tensor((16, 6, 6), INPUT))
    b.tap("output", BLOCK_TYPES[block].plan(b, "m", x, 16, 32, 1, 1, True))
    model = GraphModel(NetPlan(input_shape=(16, 6, 6), stages=[b.stage]), act="silu").eval()
    torch.manual_seed(0)
    ref = ORACLE_BLOCKS[block](16, 16, 32, act="silu").eval()
    mine, theirs = list(model.state_dict().values()), list(ref.state_dict().values())
    assert [t.shape for t in mine] == [t.shape for t in theirs]
    model.load_state_dict(dict(zip(model.state_dict(), theirs)))
    t = torch.randn(2, 16, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(model(t), ref(t))


def test_a_v10_yamls_twin_plans_its_c2fcib_as_plain_cib_stages():
    """yolov10n.yaml's C2f and C2fCIB layers are CSP stages (fusion first); its plain twin runs their blocks
    (CIB, the large-kernel one included) on the whole input, and its model runs."""
    cfg = design_from_yaml(v10("n"), "yolov10n.yaml", input_size=64)
    assert cfg.fusion == "fusion_first"
    twin = cfg.twin()
    stages = plan_network(twin).stages
    assert all(sp.fusion == "none" for sp in stages)
    cib = [op for sp in stages for op in sp.ops if ".cv1.2.conv1" in op.path]   # RepVGGDW's 3x3 in the twin
    assert cib and all(op.path.startswith("model.22.block.") for op in cib)
    assert plan_network(twin).params > plan_network(cfg).params
    model = build_model(twin).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape[-1] == 64 // 8 * 64 // 8 + 64 // 16 * 64 // 16 + 4

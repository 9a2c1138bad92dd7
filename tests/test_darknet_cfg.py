"""Darknet cfg import (explorer.io.darknet, explorer.io.darknet_torch): parsing, shapes, counts,
Darknet's BFLOPs, stage and CSP recognition, the real model, hostile files and the CLI.

Every cfg here is written by this file (small nets, and a net with the structure of the CSPNet
authors' csdarknet53.cfg generated from that structure); the authors' own files are not part of the
project (benchmarks/darknet_bflops.py reads them when a user has them).
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cspnet import get_preset, plan_network
from darknet_detectors import yolov3, yolov4_tiny
from explorer.counts.conventions import REGISTRY, count, group_counts
from explorer.io.darknet import (
    MAX_CFG_CHARS,
    MAX_LAYERS,
    CfgError,
    darknet_bflops,
    load_cfg,
    parse_cfg,
    stage_rows,
    summarize_net,
)


# --------------------------------------------------------------------------- cfg writers
def net(size=32, channels=3):
    return f"[net]\nbatch=64\nlearning_rate=0.1\nwidth={size}\nheight={size}\nchannels={channels}\n\n"


def conv(filters, size=1, stride=1, bn=1, act="leaky", groups=1, pad=1):
    g = f"groups={groups}\n" if groups != 1 else ""
    b = "batch_normalize=1\n" if bn else ""
    return f"[convolutional]\n{b}filters={filters}\nsize={size}\nstride={stride}\npad={pad}\n{g}activation={act}\n\n"


def route(layers, groups=1, group_id=0):
    g = f"groups={groups}\ngroup_id={group_id}\n" if groups != 1 else ""
    return f"[route]\nlayers = {layers}\n{g}\n"


def shortcut(frm, act="linear"):
    return f"[shortcut]\nfrom={frm}\nactivation={act}\n\n"


HEAD = "[avgpool]\n\n[connected]\noutput=10\nactivation=linear\n\n[softmax]\ngroups=1\n"

# a plain net: stem, a strided residual stage, a head
PLAIN = (net(32) + conv(8, 3) + "[maxpool]\nsize=2\nstride=2\n\n" + conv(16, 3, 2) + conv(8, 1) + conv(16, 3)
         + shortcut(-3) + HEAD)


def csp_stage(partial: bool, transition: bool, size=32) -> str:
    """stem conv; a CSP stage (down conv, part 1 conv, split route, part 2 conv, one residual block,
    [partial transition], concat route (absolute index of part 1), [transition]); head."""
    text = net(size) + conv(8, 3)            # 0
    text += conv(16, 3, 2)                    # 1 down
    text += conv(8, 1)                        # 2 part 1
    text += route(-2)                         # 3 split: reads the down conv
    text += conv(8, 1)                        # 4 part 2
    text += conv(8, 1) + conv(8, 3) + shortcut(-3)   # 5-7 block
    if partial:
        text += conv(8, 1)                    # partial transition
    text += route("-1, 2")                    # concat with part 1 (absolute index)
    if transition:
        text += conv(16, 1)
    return text + HEAD


def csdarknet53_like(size=256) -> str:
    """A cfg with the structure of the CSPNet authors' csdarknet53.cfg, generated from it: a 3x3 stem,
    five CSP stages (3x3 stride-2 down conv, part 1 and part 2 1x1 convs around a split route, residual
    blocks 1x1 -> 3x3 + shortcut, a 1x1 partial transition, the concat route, a 1x1 transition), then
    global pool and a 1x1-conv classifier."""
    text = net(size) + conv(32, 3)
    for width, n in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        part = max(width // 2, 64)
        hidden = part // 2 if width == 64 else part
        text += conv(width, 3, 2) + conv(part, 1) + route(-2) + conv(part, 1)
        for _ in range(n):
            text += conv(hidden, 1) + conv(part, 3) + shortcut(-3)
        text += conv(part, 1) + route(f"-1,-{3 * n + 4}") + conv(width, 1)
    return text + "[avgpool]\n\n" + conv(1000, 1, bn=0, act="linear") + "[softmax]\ngroups=1\n"


# every layer kind and the odd cases of Darknet's semantics, for the real model
KINDS = (net(32) + conv(8, 3, act="mish")                      # 0
         + conv(16, 3, 1, groups=4, act="swish")              # 1 grouped
         + "[maxpool]\nsize=2\nstride=2\n\n"                  # 2 padding 1 (Darknet's default size - 1)
         + "[maxpool]\nsize=3\nstride=1\n\n"                  # 3 padding 2: same size
         + "[maxpool]\nsize=4\nstride=1\npadding=3\n\n"       # 4 odd padding: 1 before, 2 after
         + route(-1, groups=2, group_id=1)                    # 5 second half of the channels
         + conv(12, 3, 2, act="relu")                         # 6 stride 2
         + shortcut(-3, act="leaky")                          # 7 from 4: 16 ch at 2x the size onto 12 ch
         + "[upsample]\nstride=2\nscale=0.5\n\n"              # 8
         + route("-1,-4")                                     # 9 12 + 8 channels
         + conv(6, 1, bn=0, act="logistic")                   # 10 bias conv
         + "[dropout]\nprobability=.3\n\n"                    # 11
         + "[yolo]\nmask=0,1\nanchors=10,13, 16,30\nclasses=1\n\n"   # 12 head
         + route(-3)                                          # 13
         + conv(4, 3, 2, act="hard_mish") + conv(4, 1, act="relu6")  # 14, 15
         + "[connected]\noutput=7\nbatch_normalize=1\nactivation=tanh\n\n"   # 16
         + "[softmax]\ntemperature=2\n\n"                     # 17
         + "[cost]\ntype=sse\n")                              # 18 head


def _f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


# --------------------------------------------------------------------------- parsing and counts
def test_plain_net_shapes_params_and_stages():
    n = parse_cfg(PLAIN)
    assert [layer.out_shape for layer in n.layers] == [
        (8, 32, 32), (8, 16, 16), (16, 8, 8), (8, 8, 8), (16, 8, 8), (16, 8, 8), (16, 1, 1), (10, 1, 1), (10, 1, 1)]
    # conv weights + BN (2 per channel); the connected layer: weights + bias
    assert n.params == (3 * 8 * 9 + 16) + (8 * 16 * 9 + 32) + (16 * 8 + 16) + (8 * 16 * 9 + 32) + (16 * 10 + 10)
    assert n.plan.params == n.params
    assert [(s.name, s.start, s.end) for s in n.stages] == [("stem", 0, 2), ("stages.0", 2, 6), ("head", 6, 9)]
    st0 = n.plan.stage("stages.0")
    assert st0.fusion == "none" and st0.repeats == 1
    assert st0.taps == {"input": (8, 16, 16), "down": (16, 8, 8), "output": (16, 8, 8)}
    assert n.plan.output_shape == (10, 1, 1)


@pytest.mark.parametrize("partial,transition,fusion", [(True, True, "csp"), (False, True, "fusion_first"),
                                                       (True, False, "fusion_last"), (False, False, "none")])
def test_csp_stage_recognised_and_labelled(partial, transition, fusion):
    n = parse_cfg(csp_stage(partial, transition))
    st_ = n.plan.stage("stages.0")
    assert st_.fusion == fusion
    assert st_.repeats == 1
    info = n.stages[1]
    assert info.roles["split"] == [3] and info.roles["part1"] == [2] and info.roles["part2"] == [4]
    assert info.roles["block"] == [5, 6, 7]
    assert info.roles["partial_transition"] == ([8] if partial else [])
    assert bool(info.roles["transition"]) == transition
    taps = st_.taps
    assert taps["down"] == (16, 16, 16) and taps["part1"] == (8, 16, 16) and taps["part2"] == (8, 16, 16)
    assert taps["block"] == (8, 16, 16) and taps["concat"] == (16, 16, 16)
    assert ("partial_transition" in taps) == partial and ("transition" in taps) == transition
    assert list(taps) == [t for t in ("input", "down", "part1", "part2", "block", "partial_transition", "concat",
                                      "transition", "output") if t in taps]


def sliced_stage(part2_routes: str) -> str:
    """stem conv; a down conv to 12 channels (layer 1, x); part 1 = its channels [0, 3) (layer 2: groups=4,
    group_id=0); part 2 from ``part2_routes`` (layers 3-5); a residual block of 9; the concat with part 1
    (absolute index 2); a transition; head."""
    return (net(16) + conv(8, 3) + conv(12, 3, 2) + route(-1, 4, 0) + part2_routes
            + conv(9, 1) + conv(9, 3) + shortcut(-3) + route("-1,2") + conv(12, 1) + HEAD)


# part 2 = channels [3, 12) of layer 1: [3, 6) and [6, 12), then their concat (as the export writes it)
UNEVEN = sliced_stage(route(-2, 4, 1) + route(-3, 2, 1) + route("-2,-1"))


def test_an_uneven_sliced_split_is_recognised():
    n = parse_cfg(UNEVEN)
    info = n.stages[1]
    assert info.fusion == "fusion_first" and info.roles["sliced"]
    assert info.roles["split"] == [3] and info.roles["part1"] == [2] and info.roles["part1_slice"] == [2]
    assert info.roles["part2"] == [5] and info.roles["block"] == [6, 7, 8] and info.roles["concat"] == [9]
    assert info.roles["transition"] == [10] and info.roles["post"] == []
    taps = n.plan.stage("stages.0").taps
    assert taps["part1"] == (3, 8, 8) and taps["part2"] == (9, 8, 8) and taps["concat"] == (12, 8, 8)
    assert n.params == n.plan.params
    # the routes are free: only the concat of part 2's slices adds a (zero-cost) cat op
    assert [op.kind for op in n.plan.stage("stages.0").ops].count("cat") == 2


@pytest.mark.parametrize("part2", [
    route(-2, 2, 1) + route(-3, 4, 1) + route("-2,-1"),     # slices out of order: [6, 12) then [3, 6)
    route(-2, 4, 1) + route(-3, 2, 1) + route("-3,-1"),     # the concat skips a slice
    route(-2, 4, 1) + route(-3, 4, 2) + route("-2,-1"),     # [3, 9): part 2 stops short of the channels
])
def test_slices_that_do_not_make_the_parts_are_no_sliced_split(part2):
    n = parse_cfg(sliced_stage(part2))
    assert n.stages[1].fusion == "none" and not n.stages[1].roles


def test_the_model_slices_an_uneven_split_as_the_channels():
    torch = pytest.importorskip("torch")
    from explorer.io.darknet_torch import build_model

    n = parse_cfg(UNEVEN)
    model = build_model(n)
    outs = {}
    for i, layer in enumerate(model.layers):
        layer.register_forward_hook(lambda m, a, y, i=i: outs.__setitem__(i, y))
    with torch.no_grad():
        model(torch.randn(2, 3, 16, 16))
    assert torch.equal(outs[2], outs[1][:, :3]) and torch.equal(outs[5], outs[1][:, 3:])


def test_csdarknet53_structure_matches_the_timm_preset_stage_by_stage():
    """The authors' CSPDarknet-53 structure, imported: exactly timm's cspdarknet53 (the project's preset)
    in parameters and MACs, per stage, and its Darknet BFLOPs print as the README's 13.07."""
    n = parse_cfg(csdarknet53_like())
    preset = plan_network(get_preset("cspdarknet53"))
    assert n.params == 27_642_184 == preset.params
    assert count(n.plan, "macs") == 6_533_652_480 == count(preset, "macs")
    ours = group_counts(n.plan, by="stage", metrics=("params", "macs"))
    assert ours == group_counts(preset, by="stage", metrics=("params", "macs"))
    assert [s.fusion for s in n.plan.stages] == ["none"] + ["csp"] * 5 + ["none"]
    assert [s.repeats for s in n.plan.stages[1:-1]] == [1, 2, 8, 8, 4]
    assert f"{darknet_bflops(n, shortcut_terms=False):.2f}" == "13.07"
    # the project's "darknet" convention is Darknet's count without the shortcut term (no [connected] here)
    assert count(n.plan, "darknet") == sum(layer.flops for layer in n.layers)
    assert f"{darknet_bflops(n):.3f}" == "13.071"
    # the fvcore convention reads the same plan (conv + linear MACs, BN 2/element, global pool)
    assert count(n.plan, "fvcore") == count(preset, "fvcore")


def test_every_convention_counts_an_imported_plan():
    n = parse_cfg(KINDS)
    for key in REGISTRY:
        assert count(n.plan, key) >= 0
    assert count(n.plan, "flops") == 2 * count(n.plan, "macs")
    s = summarize_net(n)
    rows = stage_rows(s, "bflops")
    assert len(rows) == len(n.plan.stages) and "Darknet BFLOPs (1e9 FLOP)" in rows[0]
    assert s["params"] == n.params and len(s["layers"]) == len(n.layers)
    json.dumps(s)


# --------------------------------------------------------------------------- Darknet's BFLOPs
def test_conv_bflops_is_2_nweights_out_h_out_w():
    n = parse_cfg(net(17, 6) + conv(10, 3, 2, groups=2))
    layer = n.layers[0]
    nweights = (6 // 2) * 10 * 3 * 3
    assert layer.out_shape == (10, 9, 9)
    assert layer.flops == 2 * nweights * 9 * 9 and layer.macs == nweights * 9 * 9
    assert layer.bflops == _f32(2.0 * nweights * 9 * 9 / 1e9)


def test_maxpool_shortcut_and_other_terms():
    n = parse_cfg(net(16, 4) + "[maxpool]\nsize=3\nstride=2\n\n" + conv(4, 3) + shortcut(-2) + "[upsample]\n\n"
                  + route("-1") + "[avgpool]\n\n" + "[connected]\noutput=5\n\n")
    mp, cv, sc, up, rt, gap, fc = n.layers
    assert mp.out_shape == (4, 8, 8) and mp.flops == 3 * 3 * 4 * 8 * 8      # (16 + 2 - 3) // 2 + 1 = 8
    assert sc.flops == 0 and sc.shortcut_flops == 4 * 8 * 8
    assert up.flops == rt.flops == gap.flops == fc.flops == 0              # Darknet sets none for these
    total = 0.0
    for layer in n.layers:
        b = _f32((layer.flops + layer.shortcut_flops) / 1e9)
        if b > 0:
            total = _f32(total + b)
    assert darknet_bflops(n) == total
    assert darknet_bflops(n, shortcut_terms=False) == _f32(_f32(mp.flops / 1e9) + _f32(cv.flops / 1e9))


# --------------------------------------------------------------------------- errors name the line
# (cfg text, the text starting the line the error must name (its last occurrence), what the message says)
ERRORS = [
    (net() + conv(0), "filters=0", "[convolutional] (layer 0): filters=0 is not allowed; allowed integers 1 to 8192"),
    (net() + conv(8, size=16), "size=16", "size=16 is not allowed; allowed integers 1 to 15"),
    (net() + conv(8, stride=9), "stride=9", "stride=9 is not allowed; allowed integers 1 to 8"),
    (net() + "[convolutional]\nfilters=99999999999999999999999\n", "filters=9",
     "filters='99999999999999999999999' is not allowed"),
    (net() + "[convolutional]\nfilters=8x\n", "filters=8x", "filters='8x' is not an integer"),
    (net() + conv(8, groups=2), "groups=2", "groups=2 must divide the input channels (3)"),
    (net() + conv(8, act="sigmoidal"), "activation=", "activation='sigmoidal' is not supported; allowed: linear,"),
    (net() + conv(8) + "[foo]\nbar=1\n", "[foo]", "[foo] (layer 1): unsupported section [foo]; supported: net"),
    (net() + conv(8) + "[convolutional]\nfilters=4\nbogus=1\n", "bogus", "unknown option 'bogus'; [convolutional]"),
    (net() + conv(8) + route(3), "layers = 3", "(layer 1): layers=3 points to layer 3 (a later layer); layer 1 may"),
    (net() + conv(8) + route(1), "layers = 1", "layers=1 points to layer 1 (itself)"),
    (net() + conv(8) + conv(8) + route(-5), "layers = -5", "layers=-5 points to layer -3 (before the first layer)"),
    (net() + route(-1), "layers = -1", "[route] (layer 0): layers=-1: layer 0 has no earlier layer to read"),
    (net() + conv(8) + conv(8, 3, 2) + route("-1,-2"), "layers = -1,-2", "a route concatenates maps of one size"),
    (net() + conv(8) + route(-1, groups=3), "groups=3", "groups=3 must divide the channels of every input"),
    (net() + conv(8) + conv(8, 3, 2) + "[upsample]\nstride=4\n\n" + shortcut(-2), "from=-2",
     "a shortcut needs the same size or the from-layer k times larger"),
    (net() + conv(8) + "[shortcut]\nfrom=-1,-1\n", "from=-1,-1", "a shortcut from several layers is not supported"),
    (net() + conv(8) + "[shortcut]\n", "[shortcut]", "from= is required"),
    (net() + conv(8, 7, pad=0) * 3 + conv(8, 7, 2, pad=0) + conv(8, 7, pad=0), "[convolutional]",
     "(layer 4): the output height would be -2; the input is too small for this layer"),
    ("[convolutional]\nfilters=1\n", "[convolutional]", "the first section must be [net]"),
    ("[net]\nwidth=32\nchannels=3\n" + conv(8), "[net]", "height= is required"),
    ("[net]\nwidth=32\nheight=32\nchannels=3\nfoo=1\n" + conv(8), "foo=1", "unknown option 'foo'; [net] takes width"),
    ("width=32\n[net]\n", "width=32", "an option before the first section"),
    ("[net\nwidth=32\n", "[net", "is not a section header"),
    (net() + "[convolutional]\nfilters\n", "filters\n", "is not an option (key=value)"),
    ("# nothing\n\n", None, "no sections"),
    (net(), None, "no layers after [net]"),
]


@pytest.mark.parametrize("text,marker,expected", ERRORS)
def test_errors_name_the_line_the_section_and_what_was_expected(text, marker, expected):
    with pytest.raises(CfgError) as exc:
        parse_cfg(text)
    msg = str(exc.value)
    assert msg.startswith("cfg: "), msg
    assert expected in msg, msg
    if marker is not None:
        line = text[:text.rindex(marker)].count("\n") + 1
        assert msg.startswith((f"cfg: line {line} ", f"cfg: line {line}:")) and exc.value.line == line, (line, msg)
    assert exc.value.field == "cfg"


def test_size_bounds_are_checked_before_anything_is_built():
    with pytest.raises(CfgError, match="allowed at most 262,144"):
        parse_cfg(net() + "#" * MAX_CFG_CHARS)
    with pytest.raises(CfgError, match="allowed at most 262,144"):
        parse_cfg(b"x" * (MAX_CFG_CHARS + 1))
    with pytest.raises(CfgError, match=f"more than {MAX_LAYERS} layers"):
        parse_cfg(net() + "[dropout]\n" * (MAX_LAYERS + 1))
    ok = parse_cfg(net() + "[dropout]\n" * MAX_LAYERS)
    assert len(ok.layers) == MAX_LAYERS
    with pytest.raises(CfgError, match="parameters up to this layer; the bound is 400M"):
        parse_cfg(net(8) + conv(8192, 3) + conv(8192, 15))
    with pytest.raises(CfgError, match="GiB of fp32 activations up to this layer"):
        parse_cfg(net(4096, 64) + "[upsample]\nstride=8\n\n" * 3)
    with pytest.raises(CfgError, match="a NUL character"):
        parse_cfg(net() + "\x00")
    with pytest.raises(CfgError, match="not UTF-8"):
        parse_cfg(b"[net]\n\xff\xfe")
    with pytest.raises(CfgError, match="a line of"):
        parse_cfg(net() + "x" * 5000)


def test_load_cfg_reads_files_and_reports_missing_ones(tmp_path):
    p = tmp_path / "tiny.cfg"
    p.write_text(PLAIN)
    n = load_cfg(p, input_size=64)
    assert n.name == "tiny" and n.input_shape == (3, 64, 64)
    with pytest.raises(CfgError, match="cannot read"):
        load_cfg(tmp_path / "missing.cfg")
    big = tmp_path / "big.cfg"
    big.write_bytes(b"#" * (MAX_CFG_CHARS + 1))
    with pytest.raises(CfgError, match="allowed at most"):
        load_cfg(big)


def test_parsing_does_not_import_torch():
    code = ("import sys\nfrom explorer.io.darknet import parse_cfg, summarize_net\n"
            f"summarize_net(parse_cfg({PLAIN!r}))\nassert 'torch' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------- the real model
def _check_model(text):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.io.darknet_torch import build_model, count_params

    n = parse_cfg(text)
    model = build_model(n)
    assert count_params(model) == n.params == n.plan.params
    shapes = {}
    for i, mod in enumerate(model.layers):
        mod.register_forward_hook(lambda m, a, out, i=i: shapes.__setitem__(i, tuple(out.shape[1:])))
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        out = model(torch.randn(2, *n.input_shape))
    assert shapes == {layer.index: layer.out_shape for layer in n.layers}
    assert fc.get_total_flops() == 2 * 2 * count(n.plan, "macs")     # batch 2, 2 FLOPs per MAC
    names = dict(model.named_modules())
    assert all(op.path in names for op in n.plan.ops), [op.path for op in n.plan.ops if op.path not in names]
    return n, model, out


@pytest.mark.parametrize("text", [PLAIN, csp_stage(True, True), csp_stage(False, True), csp_stage(True, False),
                                  KINDS], ids=["plain", "csp", "fusion_first", "fusion_last", "kinds"])
def test_model_params_shapes_and_macs_equal_the_analytic_ones(text):
    _check_model(text)


def test_yolo_and_cost_heads_are_the_outputs():
    n, model, out = _check_model(KINDS)
    assert n.head_layers == [12, 18]
    assert isinstance(out, tuple) and [tuple(o.shape[1:]) for o in out] == [(6, 16, 16), (7, 1, 1)]


def test_fvcore_equals_the_fvcore_convention_on_an_imported_net():
    import torch
    from fvcore.nn import FlopCountAnalysis

    from explorer.io.darknet_torch import build_model

    n = parse_cfg(csp_stage(True, True))
    fa = FlopCountAnalysis(build_model(n), torch.zeros(1, *n.input_shape))
    fa.unsupported_ops_warnings(False)
    fa.uncalled_modules_warnings(False)
    assert fa.total() == count(n.plan, "fvcore")


def test_the_model_exports_to_onnx():
    import io
    import warnings

    import onnx
    import torch

    from explorer.io.darknet_torch import build_model

    n = parse_cfg(KINDS)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(build_model(n), (torch.zeros(1, *n.input_shape),), buf, opset_version=18, dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(model)
    assert len(model.graph.output) == 2      # the [yolo] and [cost] heads


def test_maxpool_and_shortcut_follow_darknet():
    import torch

    from explorer.io.darknet_torch import build_model

    # maxpool: window of output i starts at i * stride - padding // 2; outside the map is skipped
    n = parse_cfg(net(7, 1) + "[maxpool]\nsize=4\nstride=2\npadding=3\n")
    x = torch.randn(1, 1, 7, 7)
    y = build_model(n)(x)
    pad, size, stride = 3, 4, 2
    oh = (7 + pad - size) // stride + 1
    ref = torch.empty(1, 1, oh, oh)
    for i in range(oh):
        for j in range(oh):
            r0, c0 = i * stride - pad // 2, j * stride - pad // 2
            ref[0, 0, i, j] = x[0, 0, max(r0, 0):min(r0 + size, 7), max(c0, 0):min(c0 + size, 7)].max()
    assert torch.equal(y, ref)
    # shortcut: the from-layer (2 channels, twice the size) added onto the first 2 of 4 channels, subsampled
    n = parse_cfg(net(8, 2) + "[dropout]\nprobability=0\n\n" + conv(4, 3, 2, bn=0, act="linear") + shortcut(-2))
    model = build_model(n)
    x = torch.randn(1, 2, 8, 8)
    y = model(x)
    c = model.layers[1](x)
    expect = c.clone()
    expect[:, :2] += x[:, :, ::2, ::2]
    assert torch.allclose(y, expect)


# --------------------------------------------------------------------------- hostile files (hypothesis)
VALID = [PLAIN, csp_stage(True, True), csp_stage(False, False), KINDS, UNEVEN, yolov4_tiny(64), yolov3(64)]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_cfg_error(text):
    """A ConfigError or a consistent network (how fast: benchmarks/timing_bounds.py)."""
    try:
        n = parse_cfg(text)
    except CfgError:
        pass
    else:
        assert n.plan.params == n.params
        assert sorted(j for s in n.stages for j in s.layers) == list(range(len(n.layers)))   # each in one stage


@FUZZ
@given(st.sampled_from(VALID), st.integers(0, 10_000))
def test_fuzz_truncated_files(text, cut):
    _only_cfg_error(text[:cut % (len(text) + 1)])


@FUZZ
@given(st.one_of(st.text(max_size=3000), st.binary(max_size=3000),
                 st.text(alphabet="[]=#;,-0123456789 \nabcdefgilmnoprstuvwxy_", max_size=3000)))
def test_fuzz_random_junk(text):
    _only_cfg_error(text)


JUNK = st.one_of(st.integers(-10**30, 10**30).map(str), st.sampled_from(
    ["", "-", "1e9", "nan", "inf", "0x10", "1.5", "-1,-2", "99999999999", "leaky", ",,", "1,,2", "\u202e", "0" * 50]),
    st.text(max_size=20))


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_fuzz_mutated_values(text, data):
    lines = text.split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        candidates = [i for i, ln in enumerate(lines) if "=" in ln]
        i = data.draw(st.sampled_from(candidates))
        key = lines[i].split("=", 1)[0]
        if data.draw(st.booleans()):
            key = data.draw(st.sampled_from(["filters", "size", "stride", "groups", "layers", "from", "padding",
                                             "width", "height", "channels", "output", "group_id", "pad"]))
        lines[i] = f"{key}={data.draw(JUNK)}"
    _only_cfg_error("\n".join(lines))


@FUZZ
@given(st.lists(st.sampled_from(["conv", "pool", "route", "short", "up", "drop"]), min_size=1, max_size=40),
       st.data())
def test_fuzz_route_and_shortcut_indices(kinds, data):
    """Random layer lists with random (out-of-range, forward, self, cyclic-looking) route/shortcut indices."""
    text = net(data.draw(st.sampled_from([1, 7, 32, 64])))
    idx = st.integers(-60, 60)
    for k in kinds:
        if k == "conv":
            text += conv(data.draw(st.integers(1, 64)), data.draw(st.sampled_from([1, 3, 5])),
                         data.draw(st.sampled_from([1, 2])), groups=data.draw(st.sampled_from([1, 2])))
        elif k == "pool":
            text += f"[maxpool]\nsize={data.draw(st.integers(1, 4))}\nstride={data.draw(st.integers(1, 3))}\n\n"
        elif k == "route":   # slices too: groups 1-4 with any group_id (out of range included)
            text += route(",".join(str(data.draw(idx)) for _ in range(data.draw(st.integers(1, 4)))),
                          groups=data.draw(st.sampled_from([1, 2, 3, 4])), group_id=data.draw(st.integers(-1, 4)))
        elif k == "short":
            text += shortcut(data.draw(idx))
        elif k == "up":
            text += "[upsample]\nstride=2\n\n"
        else:
            text += "[dropout]\n\n"
    _only_cfg_error(text)


@FUZZ
@given(st.integers(-10**12, 10**12), st.integers(-10**6, 10**6), st.integers(-100, 100))
def test_fuzz_absurd_sizes(filters, side, size):
    _only_cfg_error(net(8) + f"[convolutional]\nfilters={filters}\nsize={size}\n\n")
    _only_cfg_error(f"[net]\nwidth={side}\nheight={side}\nchannels=3\n" + conv(8, 3) + "[upsample]\nstride=8\n\n" * 4)


# --------------------------------------------------------------------------- the command line
def test_cli_summary_of_a_cfg(tmp_path, capsys):
    from explorer.cli import main

    p = tmp_path / "csd.cfg"
    p.write_text(csdarknet53_like(256))
    assert main(["summary", str(p)]) == 0
    out = capsys.readouterr().out
    assert "Darknet BFLOPs 13.071" in out and "13.067 without its shortcut term" in out
    assert "stages.4" in out and "csp" in out
    assert main(["summary", str(p), "--json", "--input-size", "224"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["input_shape"] == [3, 224, 224] and s["params"] == 27_642_184
    assert [st_["fusion"] for st_ in s["stages"]][1:-1] == ["csp"] * 5
    assert main(["summary", str(p), "--csv"]) == 0
    assert capsys.readouterr().out.startswith("stage,")


def test_cli_bad_cfg_is_one_line_and_exit_code_2(tmp_path, capsys):
    from explorer.cli import main

    p = tmp_path / "bad.cfg"
    text = net() + conv(8) + route(5)
    p.write_text(text)
    assert main(["summary", str(p)]) == 2
    err = capsys.readouterr().err
    line = text[:text.index("layers = 5")].count("\n") + 1
    assert err.count("\n") == 1 and err.startswith(f"error: cfg: line {line} [route] (layer 1): layers=5 points to")
    p.write_text(PLAIN)
    assert main(["summary", str(p), "--set", "split_ratio=0.5"]) == 2
    assert "do not apply to a Darknet cfg" in capsys.readouterr().err

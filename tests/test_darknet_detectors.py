"""Darknet detectors in parts (issue 19, item 3): backbone, neck and head of a cfg that ends in [yolo] layers.

The cfgs are written by ``darknet_detectors`` with the layers of AlexeyAB darknet's yolov3, yolov3-tiny, yolov4,
yolov4-tiny and yolov4-csp cfgs; Darknet's printed BFLOPs for those files (``../shared/reference/
detection_exact.csv``) check that they are those networks.  The importer (``explorer.io.darknet
._detector_groups``) must cut each into a backbone (its stages as a classifier's), a neck (one stage per
resolution and per CSP pattern: ScaledYOLOv4's SPPCSP and BottleneckCSP2 recognised as CSP stages) and a head
(per scale the conv, the 1x1 prediction conv and the [yolo]), whose parts add up to the totals; the design
built from the cfg must compute what the flat Darknet model computes, with the plan's tap shapes and graph.
"""
from __future__ import annotations

import csv
import json
import os

import pytest

from darknet_detectors import DETECTORS, yolov3, yolov4_csp, yolov4_tiny
from explorer.io.darknet import CfgError, darknet_bflops, parse_cfg, stage_rows, summarize_net
from test_parts import check_parts

# Darknet's printed 'Total BFLOPS' for AlexeyAB's cfgs (detection_exact.csv: model, input size -> as printed)
DARKNET_BFLOPS = {("YOLOv4", "yolov4", 608): "128.459", ("YOLOv4", "yolov4", 512): "91.095",
                  ("YOLOv4", "yolov4", 416): "60.137", ("YOLOv4-tiny", "yolov4-tiny", 416): "6.910",
                  ("YOLOv3 (non-CSP reference)", "yolov3", 416): "65.879",
                  ("YOLOv3-tiny (non-CSP reference)", "yolov3-tiny", 416): "5.571"}
SHARED_CSV = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "detection_exact.csv")

# name -> (backbone's last layer, the head's layer runs, the output scales (scale, stride, shape))
EXPECTED = {
    "yolov3": (74, [[80, 82], [92, 94], [104, 106]],
               [("P5", 32, [255, 13, 13]), ("P4", 16, [255, 26, 26]), ("P3", 8, [255, 52, 52])]),
    "yolov3-tiny": (12, [[14, 16], [21, 23]], [("P5", 32, [255, 13, 13]), ("P4", 16, [255, 26, 26])]),
    "yolov4": (104, [[137, 139], [148, 150], [159, 161]],
               [("P3", 8, [255, 76, 76]), ("P4", 16, [255, 38, 38]), ("P5", 32, [255, 19, 19])]),
    "yolov4-tiny": (26, [[28, 30], [35, 37]], [("P5", 32, [255, 13, 13]), ("P4", 16, [255, 26, 26])]),
    "yolov4-csp": (98, [[142, 144], [157, 159], [172, 174]],
                   [("P3", 8, [255, 64, 64]), ("P4", 16, [255, 32, 32]), ("P5", 32, [255, 16, 16])]),
}


@pytest.mark.parametrize("key", list(DARKNET_BFLOPS))
def test_the_generated_cfgs_are_darknet_s_networks(key):
    """Darknet's BFLOPs convention still gives Darknet's printed total on its detectors, at every size."""
    model, name, size = key
    net = parse_cfg(DETECTORS[name](size))
    assert f"{darknet_bflops(net):.3f}" == DARKNET_BFLOPS[key]
    if os.path.exists(SHARED_CSV):   # the constants are the shared reference's rows
        with open(SHARED_CSV, newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r["model"] == model and r["input_size"] == str(size)]
        assert [r["gflops"] for r in rows] == [f"{DARKNET_BFLOPS[key]} (BFLOPs)"]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_detector_is_backbone_neck_and_head(name):
    net = parse_cfg(DETECTORS[name]())
    s = summarize_net(net)
    check_parts(s)
    assert [p["name"] for p in s["parts"]] == ["backbone", "neck", "head"]
    last, head_runs, outputs = EXPECTED[name]
    parts = {p["name"]: p for p in s["parts"]}
    assert parts["backbone"]["layer_runs"] == [[0, last]]
    assert parts["head"]["layer_runs"] == head_runs == s["stages"][-1]["layer_runs"]
    assert s["stages"][-1]["name"] == "head" and parts["head"]["stages"] == ["head"]
    # every layer in exactly one stage; the neck is every other layer after the backbone
    owned = sorted(j for info in net.stages for j in info.layers)
    assert owned == list(range(len(net.layers)))
    heads = {j for a, b in head_runs for j in range(a, b + 1)}
    assert [j for r in parts["neck"]["layer_runs"] for j in range(r[0], r[1] + 1)] == \
        [j for j in range(last + 1, len(net.layers)) if j not in heads]
    # per scale: a conv, the 1x1 prediction conv, the [yolo]
    assert all([net.layers[j].kind for j in range(a, b + 1)] == ["conv", "conv", "yolo"] for a, b in head_runs)
    # real stages: no row holds most of the MACs (before: one 'head' row with 59-79 % of them)
    assert max(st["macs_share"] for st in s["stages"]) < 0.4
    assert [(o["scale"], o["stride"], o["shape"]) for o in s["outputs"]] == outputs
    head = net.plan.stage("head")
    assert [list(head.taps[f"p{k}"]) for k in range(len(outputs))] == [o[2] for o in outputs]
    json.dumps(s)


def test_the_backbone_s_stages_are_the_classifier_s():
    """The backbone is cut as the importer cuts a classifier: CSPDarknet53's stages, full CSP."""
    net = parse_cfg(yolov4_csp())
    back = [(i.name, i.layers[0], i.layers[-1], i.fusion) for i in net.stages if i.part == "backbone"]
    assert back == [("stem", 0, 0, "none"), ("stages.0", 1, 4, "none"), ("stages.1", 5, 17, "csp"),
                    ("stages.2", 18, 48, "csp"), ("stages.3", 49, 79, "csp"), ("stages.4", 80, 98, "csp")]


def test_the_neck_s_csp_stages_are_recognised():
    """yolov4-csp's neck: SPPCSP, then per resolution its upsample or down conv with the concat, and a
    BottleneckCSP2 (1x1 conv, part 1, split, two 1x1 -> 3x3, concat, transition) recognised as a CSP stage."""
    net = parse_cfg(yolov4_csp())
    neck = [i for i in net.stages if i.part == "neck"]
    assert [(i.layers[0], i.layers[-1], i.fusion) for i in neck] == [
        (99, 113, "fusion_first"), (114, 118, "none"), (119, 127, "fusion_first"), (128, 132, "none"),
        (133, 141, "fusion_first"), (145, 147, "none"), (148, 156, "fusion_first"), (160, 162, "none"),
        (163, 171, "fusion_first")]
    sppcsp, csp2 = neck[0].roles, neck[2].roles
    assert (sppcsp["part1"], sppcsp["split"], sppcsp["concat"], sppcsp["transition"]) == ([99], [100], [112], [113])
    assert (csp2["expand"], csp2["part1"], csp2["split"], csp2["part2"], csp2["block"], csp2["concat"],
            csp2["transition"]) == ([119], [120], [121], [122], [123, 124, 125], [126], [127])
    taps = net.plan.stage(neck[2].name).taps
    assert taps["part1"] == taps["part2"] == (256, 32, 32) and taps["concat"] == (512, 32, 32)
    # its stage rows and CSV read them: the head's layers as runs
    rows = stage_rows(summarize_net(net))
    assert rows[-1]["layers"] == "142-144,157-159,172-174" and rows[8]["layers"] == "119-127"


def test_a_neck_stage_is_rewritten_like_a_backbone_stage():
    from explorer.io.rewrite import rewrite_fusion

    net = parse_cfg(rewrite_fusion(yolov4_csp(), "stages.7", "csp"))
    info = next(i for i in net.stages if i.name == "stages.7")
    assert (info.part, info.fusion, info.layers[0], info.layers[-1]) == ("neck", "csp", 119, 128)


@pytest.mark.parametrize("text", [
    # a route reads a [yolo] output: not split (the old grouping: one head from the first branch on)
    yolov4_tiny(64).replace("[route]\nlayers = -4\n", "[route]\nlayers = -1\n", 1),
    # a classifier's head after the [yolo]: not a detector this importer splits
    yolov4_tiny(64) + "[avgpool]\n\n[softmax]\ngroups=1\n"])
def test_what_is_no_detector_keeps_the_plain_grouping(text):
    net = parse_cfg(text)
    assert {info.part for info in net.stages} == {""}
    assert [p["name"] for p in summarize_net(net)["parts"]] == ["backbone", "head"]
    assert all(info.layers == tuple(range(info.start, info.end)) for info in net.stages)


@pytest.mark.parametrize("gen", [yolov3, yolov4_tiny, yolov4_csp], ids=["yolov3", "yolov4-tiny", "yolov4-csp"])
def test_the_design_computes_what_the_cfg_computes(gen):
    """The darknet_cfg design's parts (the neck reading the backbone, the head reading the neck) compute the
    flat Darknet model's outputs with the same weights; the live trace sees the plan's taps and graph."""
    import torch

    from cspnet import build_model, plan_network
    from explorer.io.darknet_torch import build_model as build_flat
    from explorer.io.family import design_from_cfg, net_of
    from explorer.real.trace import live_trace

    cfg = design_from_cfg(gen(), "detector").replace(input_size=128)
    model = build_model(cfg)
    flat = build_flat(net_of(cfg))
    flat.load_state_dict({name[name.index("layers."):]: t for name, t in model.state_dict().items()})
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        got, want = model(x), flat(x)
    assert len(got) == len(want) == len(net_of(cfg).outputs)
    assert all(torch.equal(a, b) for a, b in zip(got, want))
    assert model.head.shared.saved is None                       # nothing kept after the pass
    import copy

    twin = copy.deepcopy(model)                                  # a copy shares its own table among its parts
    assert twin.head.shared is twin.stem.shared is not model.stem.shared
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(twin(x), want))
    plan = plan_network(cfg)
    trace = live_trace(cfg, with_fvcore=False)
    assert trace["params"] == plan.params
    assert trace["dataflow"]["differences"] == []
    assert trace["shapes"] == {sp.name: {t: list(v) for t, v in sp.taps.items()}
                               for sp in plan.stages if sp.kind == "stage"}


def test_cli_summary_of_a_detector_cfg(tmp_path, capsys):
    from explorer.cli import main

    p = tmp_path / "yolov4-csp.cfg"
    p.write_text(yolov4_csp())
    assert main(["summary", str(p)]) == 0
    out = capsys.readouterr().out
    assert "Darknet BFLOPs 77.003" in out
    assert ("outputs (what each [yolo] layer reads): P3 255x64x64 (stride 8, layer 144), P4 255x32x32 (stride 16, "
            "layer 159), P5 255x16x16 (stride 32, layer 174)") in out
    assert "part neck" in out and "stages: stages.5-13" in out
    assert main(["summary", str(p), "--json", "--input-size", "416"]) == 0
    s = json.loads(capsys.readouterr().out)
    check_parts(s)
    assert s["config"]["family"] == "darknet_cfg"
    assert [o["shape"] for o in s["outputs"]] == [[255, 52, 52], [255, 26, 26], [255, 13, 13]]


def test_a_broken_detector_is_one_cfg_error():
    text = yolov3(64).replace("layers = -1,61\n", "layers = -1,200\n", 1)
    with pytest.raises(CfgError, match=r"\[route\] \(layer 86\): layers=200 points to layer 200 \(a later layer\)"):
        parse_cfg(text)


def test_cli_trace_of_a_detector_cfg_shows_each_output_scale(tmp_path, capsys):
    from explorer.cli import main

    p = tmp_path / "yolov4-tiny.cfg"
    p.write_text(yolov4_tiny())
    assert main(["summary", str(p), "--trace", "--json", "--input-size", "128"]) == 0
    s = json.loads(capsys.readouterr().out)
    t = s["trace"]
    assert t["outputs"] == [o["shape"] for o in s["outputs"]] == [[255, 4, 4], [255, 8, 8]]
    assert t["params"] == s["params"] and t["dataflow"]["differences"] == []
    assert t["fvcore"]["total"] == s["fvcore_macs"]
    assert main(["summary", str(p), "--trace", "--input-size", "128"]) == 0
    assert "graph differences 0, outputs 255x4x4, 255x8x8" in capsys.readouterr().out


@pytest.mark.parametrize("page", ["app.py", "pages/Diagram.py", "pages/Tradeoff.py", "pages/Latency.py",
                                  "pages/Sweep.py", "pages/Learn.py", "pages/Paper.py"])
def test_every_page_shows_an_opened_detector_in_parts(page):
    """An opened detector cfg: the Design page's parts table has backbone, neck and head and a fusion select
    per CSP stage of the neck too; every other page shows it without an error."""
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    at.file_uploader(key="open_network").set_value(("yolov4-csp.cfg", yolov4_csp(128).encode(),
                                                     "application/octet-stream"))
    at.run()
    if page == "app.py":
        parts = next(d.value for d in at.dataframe if "part" in d.value.columns and "stage" not in d.value.columns)
        assert parts["part"].tolist() == ["backbone", "neck", "head"]
        stages = next(d.value for d in at.dataframe if "stage" in d.value.columns)
        assert stages["part"].tolist() == ["backbone"] * 6 + ["neck"] * 9 + ["head"]
        assert at.selectbox(key="cfg_fusion_stages.7").value == "fusion_first"     # a BottleneckCSP2
    else:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _se_detector() -> str:
    """A small detector with a squeeze-and-excitation block in its backbone (as enet-coco.cfg: its pooled 1 x 1
    branch is no change of resolution) and a [shortcut] as the neck's lateral read."""
    from darknet_detectors import Cfg

    c = Cfg(64)
    c.conv(16, 3, 2)
    x = c.conv(16, 1)
    c.add("[avgpool]\n")
    c.conv(4, 1)
    c.conv(16, 1, act="logistic")
    c.add(f"[scale_channels]\nfrom={x - c.n}\n")
    c.conv(32, 3, 2)
    lateral = c.conv(32, 3, 2)
    c.conv(64, 3, 2)
    top = c.conv(32, 1)
    c.conv(64, 3)
    c.predict(1)
    c.yolo("3,4,5", 1)
    c.route(top)
    c.conv(16, 1)
    c.upsample()
    c.shortcut(lateral)
    c.conv(32, 3)
    c.predict(1)
    c.yolo("0,1,2", 1)
    return c.text()


def test_a_squeeze_and_excitation_is_no_lateral_read_and_a_shortcut_is():
    net = parse_cfg(_se_detector())
    s = summarize_net(net)
    check_parts(s)
    parts = {p["name"]: p["layer_runs"] for p in s["parts"]}
    assert parts == {"backbone": [[0, 8]], "neck": [[9, 9], [13, 16]], "head": [[10, 12], [17, 19]]}
    assert [o["shape"] for o in s["outputs"]] == [[18, 4, 4], [18, 8, 8]]


def test_the_live_trace_agrees_on_each_output_scale():
    """The Design page's live trace has a row for the output scales (the head's p0, p1 taps against the model's
    outputs); a traced output of another shape disagrees."""
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from explorer.counts.analysis import summarize
    from explorer.io.family import design_from_cfg
    from explorer.real.agreement import trace_agreement
    from explorer.real.trace import live_trace

    cfg = design_from_cfg(yolov4_tiny(128), "tiny")
    summary, trace = summarize(cfg), live_trace(cfg, with_fvcore=False)
    agr = trace_agreement(summary, trace)
    row = next(r for r in agr["rows"] if r["quantity"].startswith("output scales"))
    assert row == {"quantity": "output scales: 255x4x4, 255x8x8 (the model's outputs)", "analytic": 2,
                   "live trace": 2, "agree": True} and agr["agree"]
    wrong = trace_agreement(summary, {**trace, "outputs": [[255, 4, 4], [255, 4, 4]]})
    assert not wrong["agree"] and wrong["shape_mismatches"] == ["outputs: analytic 255x4x4, 255x8x8; traced "
                                                                "255x4x4, 255x4x4"]
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    at.file_uploader(key="open_network").set_value(("yolov4-tiny.cfg", yolov4_tiny(128).encode(),
                                                     "application/octet-stream"))
    at.run()
    at.toggle(key="verify_trace").set_value(True).run(timeout=180)
    assert not at.exception and not at.error
    assert any("agrees" in s.label for s in at.status)
    table = next(d.value for d in at.dataframe if "quantity" in d.value.columns)
    assert table["quantity"].str.startswith("output scales: 255x4x4, 255x8x8").sum() == 1


def test_heads_written_after_the_whole_neck_are_the_same_parts():
    """yolov4-csp-swish.cfg writes its three heads after the PAN, each from a [route] back to its neck output:
    the route is the head's own input, and the parts and neck stages are yolov4-csp's."""
    inline, last = parse_cfg(yolov4_csp()), parse_cfg(yolov4_csp(heads_last=True))
    a, b = summarize_net(inline), summarize_net(last)
    check_parts(b)
    assert [(p["name"], p["params"], p["macs"]) for p in a["parts"]] == \
        [(p["name"], p["params"], p["macs"]) for p in b["parts"]]
    assert b["stages"][-1]["layer_runs"] == [[164, 175]]
    assert [last.layers[j].kind for j in range(164, 176)] == ["route", "conv", "conv", "yolo"] * 3
    assert [i.fusion for i in last.stages if i.part == "neck"] == [i.fusion for i in inline.stages
                                                                   if i.part == "neck"]
    assert [o["shape"] for o in b["outputs"]] == [o["shape"] for o in a["outputs"]]


def test_a_down_sampling_block_of_two_branches_is_no_lateral_read():
    """YOLOv7's MP block (a max-pool branch and a conv branch from one map, concatenated) stays in the backbone:
    the concat reads a sibling branch, not back across the neck."""
    from darknet_detectors import Cfg

    c = Cfg(64)
    c.conv(16, 3)
    x = c.conv(32, 3, 2)
    c.maxpool(2, 2)
    pooled = c.conv(16, 1)
    c.route(x)
    c.conv(16, 1)
    c.conv(16, 3, 2)
    mp = c.route(c.n - 1, pooled)
    c.conv(64, 3, 2)
    top = c.conv(32, 1)
    c.conv(64, 3)
    c.predict(1)
    c.yolo("3,4,5", 1)
    c.route(top)
    c.conv(16, 1)
    c.upsample()
    c.route(c.n - 1, mp)
    c.conv(32, 3)
    c.predict(1)
    c.yolo("0,1,2", 1)
    s = summarize_net(parse_cfg(c.text()))
    check_parts(s)
    assert {p["name"]: p["layer_runs"] for p in s["parts"]} == {
        "backbone": [[0, 8]], "neck": [[9, 9], [13, 16]], "head": [[10, 12], [17, 19]]}

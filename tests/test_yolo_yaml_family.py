"""The yolo_yaml family (explorer/io/yolo_family.py): an opened detection YAML (Ultralytics, YOLOv5's anchor-based,
YOLOv7's) is a design like any other.  Its plan is the repository planner's (exact against the repositories' own
builds: tests/test_yolo_repos_detect.py, tests/test_ultralytics_detect.py), its model is generated from that plan
(cspnet.graph_model) and must run the same graph (explorer.real.dataflow) with the same parameters; its presets
(yolov5{n..x}, yolov7, yolov7_tiny) hold texts generated from layer lists (explorer/io/yolo_texts.py) and equal
their references exactly; every command and the app's pages take it."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import torch

from cspnet import ConfigError, CSPConfig, family_fields, plan_network
from cspnet.model import build_model, count_params
from cspnet.plan import INPUT, NetPlan, PlanBuilder, Tensor
from cspnet.presets import all_presets, get_preset
from detection_reference import REPOS
from explorer.cli import main
from explorer.design.files import design_from_file
from explorer.design.text import from_query, to_query
from explorer.io import yolo_family, yolo_texts
from explorer.real.dataflow import compare
from test_ultralytics_detect import YAMLS
from test_yolo_repos_detect import TEXTS

PRESETS = {"yolov5n": "yolov5n", "yolov5s": "yolov5s", "yolov5m": "yolov5m", "yolov5l": "yolov5l",
           "yolov5x": "yolov5x", "yolov7": "yolov7", "yolov7_tiny": "yolov7-tiny"}   # preset -> REPOS key


def _run(argv) -> tuple:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def _part_params(cfg) -> dict:
    from explorer.counts.analysis import summarize

    return {p["name"]: p["params"] for p in summarize(cfg)["parts"]}


# --------------------------------------------------------------------------- plain twins
@pytest.mark.parametrize("which,scale,design", [("v8", "n", "yolov8n"), ("11", "s", "yolo11s"),
                                                ("v5u", "n", "yolov5nu")])
def test_an_ultralytics_yamls_twin_is_the_designs_twin(which, scale, design):
    """The plain twin of an opened Ultralytics YAML (every C2f / C3k2 / C3 / C2PSA a plain stage) equals the
    twin of the design of the same network, part by part: one definition of 'without CSP'."""
    cfg = yolo_family.design_from_yaml(YAMLS[which], f"x{scale}.yaml", scale)
    assert cfg.fusion == "fusion_first"
    twin = cfg.twin()
    assert twin.fusion == "none" and twin.name.endswith("(plain twin)")
    assert _part_params(twin) == _part_params(get_preset(design).twin())
    assert all(sp.fusion == "none" for sp in plan_network(twin).stages)


def test_yolov5_and_yolov7_twins_are_the_lineage_designs_twins():
    """YOLOv5's anchor-based yolov5s: backbone and neck twins are yolov5su's (the heads differ); yolov7's ELANs
    planned plain are the yolov7_backbone design's plain stages (an MP down and an ELAN: one design stage)."""
    v5, v5u = _part_params(get_preset("yolov5s").twin()), _part_params(get_preset("yolov5su").twin())
    assert (v5["backbone"], v5["neck"]) == (v5u["backbone"], v5u["neck"]) == (7_191_616, 5_167_872)
    assert _part_params(get_preset("yolov5s"))["head"] == v5["head"]
    twin = plan_network(get_preset("yolov7").twin())
    yaml = [sp.params for sp in twin.stages if sp.part == "backbone"][4:]   # after the stem's four convs
    design = [st.params for st in plan_network(get_preset("yolov7_backbone").twin()).stages[1:-1]]
    assert [yaml[0]] + [a + b for a, b in zip(yaml[1::2], yaml[2::2])] == design
    elans = [sp for sp in twin.stages if sp.name.startswith("neck") and sp.repeats == 4]
    assert len(elans) == 4 and all(sp.fusion == "none" and "block" in sp.taps for sp in elans)


def test_a_twin_model_runs_and_compares_per_part():
    from explorer.counts.analysis import compare_with_twin

    cfg = get_preset("yolov5n").replace(input_size=64)
    cmp = compare_with_twin(cfg)
    assert cmp["twin"] is not None and cmp["twin_config"]["fusion"] == "none"
    deltas = {row["name"]: row for row in cmp["part_deltas"]}
    assert deltas["head"]["params"]["delta"] == 0 and deltas["neck"]["params"]["delta"] < 0
    model = build_model(cfg.twin()).eval()
    assert count_params(model) == plan_network(cfg.twin()).params
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 64, 64))
    assert tuple(out[0].shape if isinstance(out, (tuple, list)) else out.shape)[-1] == 85


# --------------------------------------------------------------------------- presets
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_equal_their_references_and_the_built_model_runs_the_plan(name):
    preset = all_presets()[name]
    cfg = get_preset(name)
    plan = plan_network(cfg)
    assert cfg.family == "yolo_yaml" and preset.reference_params == REPOS[PRESETS[name]][1]
    assert plan.params == preset.reference_params
    model = build_model(cfg, device="meta")
    assert count_params(model) == plan.params
    assert compare(plan, model) == []
    assert [n for n, _ in model.named_parts()][0] == "stem" and hasattr(model, "neck")


def test_preset_texts_are_generated_from_the_layer_lists():
    assert get_preset("yolov5s").network == yolo_texts.yolov5("s") == TEXTS["yolov5s"]
    assert get_preset("yolov7").network == TEXTS["yolov7"] and get_preset("yolov7_tiny").network == TEXTS["yolov7-tiny"]
    assert get_preset("yolov7").fusion == "fusion_first" and get_preset("yolov5s").fusion == "fusion_first"
    rc, out, err = _run(["presets", "--json"])
    rows = {r["name"]: r for r in json.loads(out) if r["family"] == "yolo_yaml"}
    assert set(rows) == set(PRESETS) and all(r["params"] == r["reference_params"] for r in rows.values()), err


def test_the_family_reads_the_text_the_input_size_and_the_fusion_only():
    assert family_fields("yolo_yaml") == ("family", "name", "fusion", "input_size", "network")
    rc, out, err = _run(["summary", "yolov5n", "--set", "fusion=none", "--json"])
    assert rc == 0 and json.loads(out)["params"] == plan_network(get_preset("yolov5n").twin()).params
    rc, out, err = _run(["export", "yolov5n", "--set", "fusion=none", "--format", "ultralytics"])
    assert rc == 2 and not out and err.count("\n") == 1 and "plain twin" in err and "format" in err
    default = CSPConfig(family="yolo_yaml", **yolo_family.FAMILY.defaults)
    assert plan_network(default).params == REPOS["yolov5s"][1]


# --------------------------------------------------------------------------- opened files
@pytest.mark.parametrize("filename, text, params", [
    ("yolov8n.yaml", YAMLS["v8"], 3_157_200), ("yolo11m.yaml", YAMLS["11"], None),
    ("yolov8s-p2.yaml", YAMLS["v8-p2"], None), ("yolov5s-v5.0.yaml", TEXTS["yolov5s-v5.0"], REPOS["yolov5s-v5.0"][1]),
    ("yolov7x.yaml", TEXTS["yolov7x"], REPOS["yolov7x"][1]),
    ("yolov5s6.yaml", TEXTS["yolov5s6"], REPOS["yolov5s6"][1])])
def test_an_opened_detection_yaml_builds_its_plan(filename, text, params):
    cfg = design_from_file(filename, text.encode())
    plan = plan_network(cfg)
    det = yolo_family.detector_of(cfg)
    assert cfg.family == "yolo_yaml" and plan.params == det.plan.params
    assert params is None or plan.params == params
    assert [sp.part_name for sp in plan.stages] == [sp.part_name for sp in det.plan.stages]
    assert [op.path for op in plan.ops] == [op.path for op in det.plan.ops]   # the repository's module names
    model = build_model(cfg, device="meta")
    assert count_params(model) == plan.params
    assert compare(plan, model) == []


def test_the_scale_is_part_of_the_text():
    cfg = design_from_file("yolo11m.yaml", YAMLS["11"].encode())
    assert cfg.network.startswith("scale: m\n") and cfg.name == "yolo11m.yaml (scale m)"
    assert yolo_family.with_scale(cfg.network, "s").startswith("scale: s\n")
    assert yolo_family.with_scale(cfg.network, "s").count("scale:") == 1
    small = design_from_file("yolo11s.yaml", YAMLS["11"].encode())
    assert plan_network(small).params < plan_network(cfg).params
    with pytest.raises(ConfigError, match="there is no scale"):
        yolo_family.design_from_yaml(TEXTS["yolov5s"], "yolov5s.yaml", scale="s")


def test_the_model_runs_and_learned_implicit_tensors_are_its_parameters():
    cfg = get_preset("yolov7_tiny").replace(input_size=128)
    model = build_model(cfg)
    names = [n for n, _ in model.named_parameters()]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and {(m.eps, m.momentum) for m in bns} == {yolo_family.BATCHNORM}
    assert "head.model.77.ia.0.implicit" in names and "head.model.77.im.2.implicit" in names
    with torch.no_grad():
        y = model(torch.zeros(1, 3, 128, 128))
    assert tuple(y.shape) == (1, 3 * (16 * 16 + 8 * 8 + 4 * 4), 85)
    focus = design_from_file("v5.yaml", TEXTS["yolov5s-v5.0"].encode()).replace(input_size=64)
    with torch.no_grad():
        assert tuple(build_model(focus)(torch.zeros(1, 3, 64, 64)).shape) == (1, 3 * (64 + 16 + 4), 85)


def test_focus_concatenates_the_pixel_phases_as_yolov5():
    from cspnet.graph_model import GraphModel

    b = PlanBuilder("stem", "stem")
    x = Tensor((2, 4, 4), INPUT)
    b.tap("input", x)
    y = b.cat("cat", [x.view((2, 2, 2)) for _ in range(4)], attrs={"phases": 2})
    b.tap("output", y)
    t = torch.arange(32.0).view(1, 2, 4, 4)
    want = torch.cat([t[..., ::2, ::2], t[..., 1::2, ::2], t[..., ::2, 1::2], t[..., 1::2, 1::2]], 1)
    assert torch.equal(GraphModel(NetPlan((2, 4, 4), [b.stage]))(t), want)


def test_bad_designs_name_the_field():
    cfg = get_preset("yolov5n")
    with pytest.raises(ConfigError) as exc:
        cfg.replace(fusion="csp")
    assert exc.value.field == "fusion"
    with pytest.raises(ConfigError) as exc:
        get_preset("yolov7").replace(fusion="fusion_last")   # its ELANs are its own; 'none' is its twin
    assert exc.value.field == "fusion" and "'none' for its plain twin" in exc.value.detail
    with pytest.raises(ConfigError) as exc:
        cfg.replace(network=cfg.network.replace("C3", "C9", 1))
    assert exc.value.field == "network" and "C9" in exc.value.detail and "layer 2" in exc.value.detail
    with pytest.raises(ConfigError) as exc:
        cfg.replace(network="")
    assert exc.value.field == "network"
    with pytest.raises(ConfigError) as exc:
        cfg.replace(input_size=100)   # the PAN's Concat joins 13x13 and 12x12
    assert exc.value.field == "network" and "different sizes" in exc.value.detail


# --------------------------------------------------------------------------- commands, links, the live trace
def test_every_command_takes_a_detection_yaml(tmp_path):
    path = tmp_path / "yolov7-tiny.yaml"
    path.write_text(TEXTS["yolov7-tiny"])
    rc, out, err = _run(["summary", str(path), "--json"])
    s = json.loads(out)
    assert rc == 0 and s["params"] == REPOS["yolov7-tiny"][1] and s["config"]["family"] == "yolo_yaml", err
    rc, out, err = _run(["summary", str(path), "--set", "input_size=320", "--json"])
    assert rc == 0 and json.loads(out)["input_size"] == 320 and json.loads(out)["params"] == s["params"], err
    back = tmp_path / "back.yaml"
    rc, out, err = _run(["export", str(path), "--format", "ultralytics", "-o", str(back)])
    assert rc == 0 and "exactly" in err and back.read_text().endswith(TEXTS["yolov7-tiny"])
    assert design_from_file("back.yaml", back.read_bytes()).network == back.read_text()
    v8 = tmp_path / "yolov8n.yaml"
    v8.write_text(YAMLS["v8"])
    rc, out, err = _run(["summary", str(v8), "--scale", "s", "--set", "input_size=320", "--json"])
    s8 = json.loads(out)
    assert rc == 0 and s8["name"] == "yolov8n.yaml (scale s)" and s8["config"]["network"].startswith("scale: s\n"), err
    assert s8["params"] == plan_network(design_from_file("yolov8s.yaml", YAMLS["v8"].encode())).params
    with pytest.raises(ConfigError) as exc:
        yolo_family.at_scale(get_preset("yolov5s"), "s")
    assert exc.value.field == "scale" and "no 'scales'" in exc.value.detail
    rc, out, err = _run(["roofline", str(path)])
    assert rc == 0 and "head" in out, err
    rc, out, err = _run(["compare", "yolov7_tiny", str(path)])
    assert rc == 0, err


def test_a_link_names_the_preset_and_an_opened_file_is_not_in_it():
    cfg = get_preset("yolov7").replace(input_size=320)
    q = to_query(cfg, "yolov7")
    assert q == {"preset": "yolov7", "input_size": "320"} and from_query(q)[0] == cfg
    opened = design_from_file("yolov8n.yaml", YAMLS["v8"].encode())
    assert to_query(opened)["network"] == "uploaded"


def test_the_live_trace_agrees_on_a_detector():
    from explorer.counts.analysis import summarize
    from explorer.real.agreement import trace_agreement
    from explorer.real.trace import live_trace

    cfg = get_preset("yolov5n").replace(input_size=128)
    a = trace_agreement(summarize(cfg), live_trace(cfg, with_fvcore=False))
    assert a["agree"], a["shape_mismatches"]
    assert any(r["quantity"].startswith("output scales: 64x16x16, 128x8x8, 256x4x4 (what Detect reads)") and r["agree"]
               for r in a["rows"])


def test_the_app_opens_a_detection_yaml_on_its_pages():
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    at.file_uploader(key="open_network").set_value(("yolov7-tiny.yaml", TEXTS["yolov7-tiny"].encode(),
                                                     "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    cfg = at.session_state["design_cfg"]
    assert cfg.family == "yolo_yaml" and cfg.name == "yolov7-tiny.yaml"
    assert not at.warning   # its plain twin exists: the deltas are against it
    assert any("plain twin" in c.value for c in at.caption) and len(at.metric) >= 2 and all(
        m.delta for m in at.metric if m.label in ("Params", "MACs"))
    for page in ("pages/Diagram.py", "pages/Latency.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.exception])


# --------------------------------------------------------------------------- the darknet_cfg preset yolov4_csp
def test_yolov4_csp_is_darknet_s_cfg_at_its_published_bflops(tmp_path):
    """The darknet_cfg preset holds the generated yolov4-csp.cfg (explorer/io/darknet_texts.py): Darknet's own
    count gives the published 77 BFLOPs at 512 and 120 at 640 (published_detection.csv, AlexeyAB's README); the
    built model runs its plan, and an export is the cfg itself."""
    import csv
    import os

    from explorer.counts.conventions import REGISTRY
    from explorer.io.darknet_texts import yolov4_csp

    cfg = get_preset("yolov4_csp")
    assert cfg.family == "darknet_cfg" and cfg.network == yolov4_csp(512) and cfg.fusion == "csp"
    figures = {size: REGISTRY["darknet"].on_totals(plan_network(cfg, size).by_kind) / 1e9 for size in (512, 640)}
    assert {size: f"{v:.0f}" for size, v in figures.items()} == {512: "77", 640: "120"}
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "published_detection.csv"
    if os.path.exists(shared):
        with open(shared, newline="") as fh:
            rows = {int(r["input_size"]): r["flops_value"] for r in csv.DictReader(fh) if r["model"] == "YOLOv4-CSP"}
        assert rows[512].startswith("77 ") and rows[640].startswith("120 ")
    plan = plan_network(cfg)
    model = build_model(cfg, device="meta")
    assert count_params(model) == plan.params and compare(plan, model) == []
    out = tmp_path / "yolov4-csp.cfg"
    rc, _, err = _run(["export", "yolov4_csp", "--format", "darknet", "-o", str(out)])
    assert rc == 0 and "[yolo]" in out.read_text(), err


def test_cspresnext50_panet_spp_is_the_paper_s_cfg_at_its_71_3_bflops():
    """The CSPNet paper's detector as a darknet_cfg preset, generated (explorer/io/darknet_texts.py): Darknet's
    count gives the 71.3 BFLOPs the CSPNet and darknet READMEs print at 512 (published_detection.csv); its layers
    are where the cfg's own comment puts them (19: 104x104, 38: 52x52, 65: 26x26, 80: 13x13 at 416); the model
    (a first-stage shortcut adds 64 channels onto 128) runs the plan's graph."""
    import csv
    import os

    from explorer.counts.conventions import REGISTRY
    from explorer.io.darknet import parse_cfg
    from explorer.io.darknet_texts import cspresnext50_panet_spp

    cfg = get_preset("cspresnext50_panet_spp")
    assert cfg.family == "darknet_cfg" and cfg.fusion == "csp" and cfg.input_size == 512
    bflops = REGISTRY["darknet"].on_totals(plan_network(cfg).by_kind) / 1e9
    assert f"{bflops:.1f}" == "71.3"
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "published_detection.csv"
    if os.path.exists(shared):
        with open(shared, newline="") as fh:
            rows = [r["flops_value"] for r in csv.DictReader(fh) if r["model"] == "CSPResNeXt50-PANet-SPP"
                    and r["flops_value"]]
        assert rows == ["71.3"]
    net = parse_cfg(cspresnext50_panet_spp(416))
    assert len(net.layers) == 138 and [net.layers[i].out_shape[1:] for i in (19, 38, 65, 80)] == [
        (104, 104), (52, 52), (26, 26), (13, 13)]
    plan = plan_network(cfg)
    model = build_model(cfg, device="meta")
    assert count_params(model) == plan.params and compare(plan, model) == []


def test_summaries_say_what_each_kind_of_head_returns():
    """A detection head is read from the plan (its taps P3..P5), whichever family planned it: the output shape
    is what the model returns, and says what it holds."""
    from explorer.counts.analysis import summarize

    v5, v8, dn = (summarize(get_preset(n, input_size=320)) for n in ("yolov5n", "yolov8n", "yolov4_csp"))
    assert v5["output_shape"] == [1, 3 * (40 * 40 + 20 * 20 + 10 * 10), 85] and "3 anchors" in v5["output_text"]
    assert v8["output_shape"] == [1, 84, 40 * 40 + 20 * 20 + 10 * 10] and "DFL" in v8["output_text"]
    assert dn["output_shape"] == [1, 255, 10, 10] and "255\u00d740\u00d740" in dn["output_text"]
    model = build_model(get_preset("yolov5n", input_size=320)).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 320, 320))
    assert list(out.shape) == v5["output_shape"]
    assert summarize(get_preset("yolov8n_cls"))["output_shape"] == [1, 1000]


def test_the_design_page_offers_an_opened_yamls_own_fusion_and_its_twin():
    """The family narrows the fusion select (cspnet.families.field_choices): the file's own fusion and none;
    picking none shows the plain twin, and the design keeps its file."""
    from apptest_helpers import app, no_problem
    from cspnet.families import field_choices

    assert field_choices(get_preset("yolov5s"), "fusion") == ("fusion_first", "none")
    # a link's fusion naming another of the file's stages' (the same network) stays offered, as it was given
    assert field_choices(get_preset("yolov7_tiny").replace(fusion="csp"), "fusion") == ("fusion_first", "csp", "none")
    assert len(field_choices(get_preset("yolov8n_cls"), "fusion")) == 4
    from cspnet.config import FIELDS  # the Sweep page's range starts from the allowed ones too

    assert FIELDS["fusion"].default_sweep(get_preset("yolov5s")) == "none,fusion_first"
    assert FIELDS["fusion"].default_sweep(get_preset("yolov8n_cls")) == "none,fusion_first,fusion_last,csp"
    at = app({"preset": "yolov5n"})
    sb = at.selectbox(key="knob_fusion")
    assert sb.options == ["fusion first (Fig. 3c)", "none: plain network (Fig. 3a)"] and sb.value == "fusion_first"
    sb.set_value("none").run()
    no_problem(at)
    cfg = at.session_state["design_cfg"]
    assert cfg.fusion == "none" and cfg.network == get_preset("yolov5n").network
    assert next(m.value for m in at.metric if m.label == "Params") == "3.21 M"   # the twin's 3,209,949


def test_a_files_stages_name_their_module_in_tables_and_the_diagram():
    """StagePlan.module: what the file names each stage (a YAML layer's module, YOLOv7's written-out blocks), in
    the stage table's module column and the collapsed diagram's boxes, where a design's fields say nothing."""
    from explorer.counts.analysis import stage_table, summarize
    from explorer.counts.diagram import to_dot

    rows = stage_table(summarize(get_preset("yolov7_tiny")))
    assert [r["module"] for r in rows[:3]] == ["Conv", "Conv", "ELAN"] and rows[-1]["module"] == "IDetect"
    assert "module" not in stage_table(summarize(get_preset("yolov8n")))[0]
    dot = to_dot(get_preset("yolov5n"), collapse=True)
    assert "C3 \u00d71" in dot and "bottleneck \u00d7" not in dot


def test_pages_treat_an_opened_detector_as_a_detector():
    """A detector is recognised from its plan (explorer.counts.analysis.has_detection_head), whichever family:
    Latency starts it at batch 1 with 5 runs, Tradeoff on the COCO view, as a task=detect design."""
    from apptest_helpers import app, no_problem
    from explorer.counts.analysis import has_detection_head

    assert all(has_detection_head(get_preset(n)) for n in ("yolov5s", "yolov4_csp", "yolov8n"))
    assert not has_detection_head(get_preset("yolov8n_cls"))
    at = app({"preset": "yolov4_csp"})
    at.switch_page("pages/Latency.py").run()
    no_problem(at)
    assert at.session_state["lat_batches"] == [1] and at.session_state["lat_runs"] == 5
    at.switch_page("pages/Tradeoff.py").run()
    no_problem(at)
    assert at.radio(key="to_dataset").value == "coco"
